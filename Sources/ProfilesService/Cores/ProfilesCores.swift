import CRMPartitions
import CRMRPC
import CRMRules
import CRMServiceHost
import CRMStore
import CustomerDimensions
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Whose business day a process sends to the other partition owners, and what adopts a newer one
/// (``BusinessDayGossip``, ``ForwardedBusinessDay``): the one updater of a process keeping its
/// partitions in one file, or every partition file's updater together.
protocol BusinessDayKeeper: Sendable {
    /// The newest business day known (0 before any).
    var businessDay: DayNumber { get }
    /// Raises the day to `day` when it is newer; returns whether anything was raised.
    @discardableResult
    func adopt(_ day: DayNumber, from source: String) async throws -> Bool
}

extension DimensionUpdater: BusinessDayKeeper {}

/// How a profiles process keeps the partitions it owns (setting `partitions.storage`).
enum PartitionStorage: String, Sendable, CaseIterable {
    /// One file, the process's store, holds every owned partition (stores made before a file per
    /// partition was the default, and firms that choose it).
    case oneFile = "one-file"
    /// A file per owned partition beside the process's store (`profiles.partitions/p0007.sqlite` beside `profiles.sqlite`),
    /// each with its own event log, change feed, updater and index: what moving a partition
    /// moves (docs/partitioning.md §2, §8). A new store's layout unless told otherwise.
    case filePerPartition = "file-per-partition"

    /// The layout a process uses, read once from the disk (the partition files beside the store, and
    /// whether the store itself holds customers): `configured` when the setting is given, checked
    /// against the store — the layout is the firm's and is never guessed, so one-file beside
    /// partition files and file-per-partition over a store holding customers (which would hide
    /// them) are refused; else the store's own layout — files when they are there, one file when
    /// the store holds the customers (made before this default) — and for a new store, whose
    /// customers are in neither, a file per partition (docs/partitioning.md §3, "the default").
    ///
    /// Why a new store gets files: a partition moves only as a file, so a firm that starts with one
    /// file must stop profiles and split it before its first move; starting with files costs a
    /// second at the first start and the counts and pages of §3, inside their aims.
    static func resolve(_ configured: PartitionStorage?, store: DatabasePool, storePath: String) throws -> (storage: PartitionStorage, reason: String) {
        let directory = ProfilesCores.directory(ofStore: storePath)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".sqlite") } ?? []
        let holdsCustomers = try store.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM customer)") ?? false }
        let chosen: (storage: PartitionStorage, reason: String)
        switch configured {
        case let configured?: chosen = (configured, "partitions.storage")
        case nil where !files.isEmpty: chosen = (.filePerPartition, "the store's layout: \(files.count) partition files in \(directory.path)")
        case nil where holdsCustomers: chosen = (.oneFile, "the store's layout: \(storePath) holds the customers")
        case nil: chosen = (.filePerPartition, "a new store's default")
        }
        switch chosen.storage {
        case .oneFile:
            guard files.isEmpty else {
                throw ConfigurationError("partitions.storage is one-file, but \(directory.path) holds \(files.count) partition files "
                    + "(this store keeps a file per partition): set partitions.storage to file-per-partition")
            }
        case .filePerPartition:
            guard !holdsCustomers else {
                throw ConfigurationError("partitions.storage is file-per-partition, but \(storePath) holds customers (it keeps every "
                    + "partition in one file): keep partitions.storage one-file, or split the store into partition files first")
            }
        }
        return chosen
    }
}

/// The cores of one profiles process (``ProfilesCore``): one holding every owned partition, or
/// one per owned partition. Keeps their business day one (the firm's day does not depend on which
/// file a customer is in: a day any file's events reach, every other file adopts).
///
/// With a file per partition the set changes when a partition moves (docs/partitioning.md §8): a
/// drained partition leaves it (``drain(_:to:)``), an adopted one joins it (``add(_:database:)``).
/// Calls reach a partition's core through ``using(_:_:)`` and ``usingEvery(_:)``, which count them
/// in flight so a drain waits for the calls it must not cut short, and refuse a drained partition
/// UNAVAILABLE (retryable), so no call writes into a file being copied.
final class ProfilesCores: BusinessDayKeeper {
    let storage: PartitionStorage
    /// Where the partition files live (file per partition).
    let directory: URL?
    private let state: Mutex<State>
    /// What a core made after start needs (file per partition).
    private let classifier: Classifier
    private let schema: RuleSchema
    private let logger: Logger
    private let days: DayAnnouncer
    /// The cores the process counts on (``HostConfiguration/cores``).
    private let coreCount: Int
    /// How many of the files' updaters may catch up at once.
    var updaterTurns: Int { updaterPacing.slots }

    /// Catch-ups at once for a process counting on `cores`: one core fewer, at least one. The calls
    /// that bring the events (decoding, checking and writing each batch into its files) need a core
    /// too; with an updater per core on two cores, the folds took both and ingestion waited. With
    /// one turn instead of two, one process ingested 19 % more (median of five cycles) for 20 %
    /// less CPU per event, and two processes on the same two cores 47 % more through one endpoint
    /// (BENCHMARKS.md "Two owners sharing two cores").
    static func updaterTurns(cores: Int) -> Int { max(1, cores - 1) }
    /// The turns the partition files' updaters take (file per partition; ``DimensionUpdater``):
    /// ``updaterTurns(cores:)`` catch-ups at a time.
    private let updaterPacing: AsyncGate
    /// Partitions pinned for a move copied while they serve (PreparePartitionMove).
    let pins: PartitionPins
    /// Cores whose updater should start: the initial ones, then every adopted one (``PartitionUpdaters``).
    let starts: AsyncStream<ProfilesCore>
    private let startsContinuation: AsyncStream<ProfilesCore>.Continuation

    private struct State {
        /// In partition order (one core for one-file storage).
        var cores: [ProfilesCore] = []
        /// Each core's router, by partition (file per partition, once the service registered).
        var routers: [Int: Router] = [:]
        /// How to make a core's router (set by the service's registration).
        var makeRouter: (@Sendable (ProfilesCore) -> Router)?
        /// Calls in flight per partition.
        var inFlight: [Int: Int] = [:]
        /// Drains waiting for a partition's calls in flight to end.
        var idleWaiters: [Int: [CheckedContinuation<Void, Never>]] = [:]
        /// Partitions drained here (being moved away), with the owner they go to.
        var drained: [Int: String] = [:]
        /// Drained partitions the map now gives to that owner, whose files are kept until it serves
        /// them (``PartitionMoves``): never a partition's only copy deleted.
        var releasing: [Int: String] = [:]
    }

    /// The single core of one-file storage, on the process's store.
    init(oneFile database: DatabasePool, classifier: Classifier, schema: RuleSchema, logger: Logger, cores: Int) {
        self.coreCount = max(1, cores)
        self.updaterPacing = AsyncGate(slots: Self.updaterTurns(cores: coreCount))
        self.storage = .oneFile
        self.directory = nil
        self.classifier = classifier
        self.schema = schema
        self.logger = logger
        self.days = DayAnnouncer(logger: logger)
        self.pins = PartitionPins(logger: logger)
        (starts, startsContinuation) = AsyncStream.makeStream(of: ProfilesCore.self)
        let core = ProfilesCore(partition: nil, database: database, classifier: classifier, schema: schema, logger: logger, cores: coreCount)
        self.state = Mutex(State(cores: [core]))
        startsContinuation.yield(core)
    }

    /// A core per partition of `files` (partition → its migrated store); `drained` are partitions
    /// this process drained for a move not committed yet (their files stay closed; calls are refused).
    init(files: [Int: DatabasePool], drained: [Int: String], releasing: [Int: String], directory: URL, classifier: Classifier, schema: RuleSchema,
         logger: Logger, cores: Int) {
        self.coreCount = max(1, cores)
        self.updaterPacing = AsyncGate(slots: Self.updaterTurns(cores: coreCount))
        self.storage = .filePerPartition
        self.directory = directory
        self.classifier = classifier
        self.schema = schema
        self.logger = logger
        self.days = DayAnnouncer(logger: logger)
        self.pins = PartitionPins(logger: logger)
        (starts, startsContinuation) = AsyncStream.makeStream(of: ProfilesCore.self)
        self.state = Mutex(State(drained: drained, releasing: releasing))
        var cores: [ProfilesCore] = []
        for partition in files.keys.sorted() {
            guard let database = files[partition] else { continue }
            cores.append(makeCore(partition, database))
        }
        state.withLock { $0.cores = cores }
        for core in cores { startsContinuation.yield(core) }
    }

    private func makeCore(_ partition: Int, _ database: DatabasePool) -> ProfilesCore {
        var coreLogger = logger
        coreLogger[metadataKey: "partition"] = "\(partition)"
        return ProfilesCore(partition: partition, database: database, classifier: classifier, schema: schema, logger: coreLogger,
                            cores: coreCount, pacing: updaterPacing, onNewDay: { [weak self] day in
                                guard let self else { return }
                                self.days.announce(day, from: partition, to: self.all.filter { $0.partition != partition })
                            })
    }

    /// The cores serving now, in partition order (one for one-file storage).
    var all: [ProfilesCore] { state.withLock { $0.cores } }

    /// Partitions drained here for a move (their calls are refused until the move commits or is resumed).
    var drained: [Int: String] { state.withLock { $0.drained } }

    /// Drained partitions whose move committed, kept until their new owner serves them.
    var releasing: [Int: String] { state.withLock { $0.releasing } }

    /// Whether `partition`'s file is held here for a move (drained, or committed and not released):
    /// closed, readable by ``PartitionMoves`` for the new owner.
    func holdsForMove(_ partition: Int) -> String? {
        state.withLock { $0.drained[partition] ?? $0.releasing[partition] }
    }

    /// Hands a day one partition file's events reached to every other file of the process, once
    /// per day: they adopt it as they would a peer process's (the rollover recomputes their
    /// customers' windows for it), so every file's windows end on the same day, the newest any
    /// of them has seen.
    private final class DayAnnouncer: Sendable {
        private let announced = Atomic<DayNumber>(0)
        private let logger: Logger

        init(logger: Logger) {
            self.logger = logger
        }

        /// Hands `day` to `others` (the cores serving now but the announcing one's).
        func announce(_ day: DayNumber, from partition: Int, to others: [ProfilesCore]) {
            guard announced.max(day, ordering: .relaxed).oldValue < day else { return }
            let logger = self.logger
            Task {
                for core in others where !core.isRetired {
                    do {
                        _ = try await core.updater.adopt(day, from: "partition \(partition)")
                    } catch where !core.isRetired {
                        // The firm-wide gossip's next round, or this file's own next event, raises it.
                        logger.error("a partition file could not adopt the business day of another",
                                     metadata: ["day": "\(day)", "from": "\(partition)", "to": "\(core.partition ?? -1)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Whether the process keeps a file per partition (calls must be dispatched among its cores).
    var isSplit: Bool { storage == .filePerPartition }

    /// The core holding `partition` (which this process owns), outside any call's count (tools).
    func core(for partition: Int) -> ProfilesCore? {
        guard storage == .filePerPartition else { return all.first }
        return state.withLock { $0.cores.first { $0.partition == partition } }
    }

    // MARK: Calls in flight

    /// Gives every core a router made by `make` (the single-store methods on that core), now and
    /// for every core adopted later.
    func installRouters(_ make: @escaping @Sendable (ProfilesCore) -> Router) {
        state.withLock { state in
            state.makeRouter = make
            for core in state.cores {
                if let partition = core.partition { state.routers[partition] = make(core) }
            }
        }
    }

    /// Runs `body` with the core of `partition` and its router, counted in flight: a drain of the
    /// partition waits for it. A drained partition is UNAVAILABLE (it is being moved; retry).
    func using<T>(_ partition: Int, _ body: (ProfilesCore, Router) async throws -> T) async throws -> T {
        let (core, router) = try state.withLock { state -> (ProfilesCore, Router) in
            if let owner = state.drained[partition] {
                throw Self.moving(partition, to: owner)
            }
            guard let core = state.cores.first(where: { $0.partition == partition }), let router = state.routers[partition] else {
                throw RPCError(.unavailable, "partition \(partition) is not kept by this process (its map changed); retry shortly")
            }
            state.inFlight[partition, default: 0] += 1
            return (core, router)
        }
        defer { leave([partition]) }
        return try await body(core, router)
    }

    /// Runs `body` with every core and its router (of the partitions in `only`, when given), all
    /// counted in flight. While a partition of the process is drained, calls across customers that
    /// would read it are UNAVAILABLE: their answer would lack that partition's customers.
    func usingEvery<T>(only: Set<Int>? = nil, _ body: ([(core: ProfilesCore, router: Router)]) async throws -> T) async throws -> T {
        let taken = try state.withLock { state -> [(core: ProfilesCore, router: Router)] in
            if let (partition, owner) = state.drained.filter({ only?.contains($0.key) ?? true }).min(by: { $0.key < $1.key }) {
                throw Self.moving(partition, to: owner)
            }
            var taken: [(core: ProfilesCore, router: Router)] = []
            for core in state.cores {
                guard let partition = core.partition, only?.contains(partition) ?? true, let router = state.routers[partition] else { continue }
                state.inFlight[partition, default: 0] += 1
                taken.append((core, router))
            }
            return taken
        }
        defer { leave(taken.compactMap(\.core.partition)) }
        return try await body(taken)
    }

    private func leave(_ partitions: [Int]) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var ready: [CheckedContinuation<Void, Never>] = []
            for partition in partitions {
                let left = (state.inFlight[partition] ?? 1) - 1
                state.inFlight[partition] = left
                if left == 0 { ready += state.idleWaiters.removeValue(forKey: partition) ?? [] }
            }
            return ready
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether a drain of `partition` is waiting for its calls in flight to end (tests).
    func isWaitingForCalls(on partition: Int) -> Bool {
        state.withLock { !($0.idleWaiters[partition] ?? []).isEmpty }
    }

    /// Why a process keeping its partitions in one file refuses a move's steps.
    static let movesNeedFiles = RPCError(.failedPrecondition, "moving a partition needs partitions.storage file-per-partition; split this "
        + "store first (crm-profiles split-partitions)")

    static func moving(_ partition: Int, to owner: String) -> RPCError {
        RPCError(.unavailable, "partition \(partition) is being moved to \(owner) (drained here); retry shortly")
    }

    // MARK: Moving partitions

    /// Stops serving `partition` for a move to `owner`: new calls are refused from now on, the
    /// calls in flight are waited for, its updater folds what is pending and stops, and the file is
    /// checkpointed (the WAL emptied into it) and closed — what is then on disk is everything
    /// acknowledged. A pin (``PartitionPins``) ends here: with `keepingTail`, the log written since
    /// it is kept first as the partition's tail file, answered when kept. Returns the file's path
    /// and how many customers it holds. Already drained: the path again and 0 (a repeated step).
    func drain(_ partition: Int, to owner: String, keepingTail: Bool = false) async throws
        -> (path: URL, customers: Int, tail: PartitionPins.Tail?)
    {
        guard storage == .filePerPartition, let directory else { throw Self.movesNeedFiles }
        let path = Self.file(of: partition, in: directory)
        let core: ProfilesCore? = try state.withLock { state in
            if state.releasing[partition] != nil { return nil }
            if state.drained[partition] != nil {
                state.drained[partition] = owner
                return nil
            }
            guard let index = state.cores.firstIndex(where: { $0.partition == partition }) else {
                throw RPCError(.failedPrecondition, "partition \(partition) is not kept by this process",
                               fieldViolations: [FieldViolation(field: "partition", description: "one of \(PartitionSet(state.cores.compactMap(\.partition)))")])
            }
            state.drained[partition] = owner
            return state.cores.remove(at: index)
        }
        guard let core else { return (path, 0, nil) }
        // Feed reads held open for an entry (`wait_ms`) end now: they must not hold the drain up.
        core.feedCommits.close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                if (state.inFlight[partition] ?? 0) == 0 { return true }
                state.idleWaiters[partition, default: []].append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
        core.retire()
        await core.updaterStopped.wait()
        // Through the updater's gate: an adoption of the business day still running finishes first.
        try await core.updater.catchUp()
        let pins = self.pins
        let tailFile = Self.tailFile(of: partition, in: directory)
        let (customers, tail) = try await core.database.writeWithoutTransaction { db in
            let tail = try pins.drained(partition, db: db, path: path, keepingTailAt: keepingTail ? tailFile : nil)
            _ = try db.checkpoint(.truncate)
            return (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer") ?? 0, tail)
        }
        try core.database.close()
        state.withLock { $0.routers[partition] = nil }
        logger.notice("partition drained for a move", metadata: [
            "partition": "\(partition)", "to": "\(owner)", "customers": "\(customers)", "tail bytes": "\(tail.map { "\($0.size)" } ?? "none")",
        ])
        return (path, customers, tail)
    }

    /// Serves a drained partition again (a move cancelled before its map changed): the file is
    /// opened as at start and its updater started, its tail (if the drain kept one) deleted. A
    /// partition pinned and not drained: the pin ends.
    func resume(_ partition: Int) async throws {
        guard let directory else { throw RPCError(.failedPrecondition, "this process keeps one file: nothing is drained") }
        guard state.withLock({ $0.drained[partition] }) != nil else {
            if pins.pin(of: partition) != nil, let core = core(for: partition) {
                try await pins.end(partition, database: core.database)
                return
            }
            throw RPCError(.failedPrecondition, "partition \(partition) is neither drained nor prepared here",
                           fieldViolations: [FieldViolation(field: "partition", description: "drained here: \(PartitionSet(drained.keys.sorted()))")])
        }
        let database = try open(Self.file(of: partition, in: directory).path, files: max(1, all.count + 1))
        try? FileManager.default.removeItem(at: Self.tailFile(of: partition, in: directory))
        add(partition, database: database, replacingDrain: true)
    }

    /// Serves `partition` from `database` (an adopted file, or a drained one resumed).
    func add(_ partition: Int, database: DatabasePool, replacingDrain: Bool = false) {
        let core = makeCore(partition, database)
        state.withLock { state in
            if replacingDrain { state.drained[partition] = nil }
            if let make = state.makeRouter { state.routers[partition] = make(core) }
            state.cores.append(core)
            state.cores.sort { ($0.partition ?? 0) < ($1.partition ?? 0) }
        }
        startsContinuation.yield(core)
    }

    /// A drained partition whose move committed: no longer this process's, its file kept until
    /// its new owner serves it (``released(_:)``).
    func committed(_ partition: Int) {
        state.withLock { state in
            if let owner = state.drained.removeValue(forKey: partition) { state.releasing[partition] = owner }
            state.inFlight[partition] = nil
        }
    }

    /// Forgets a partition whose new owner serves it (its file is deleted by the caller).
    func released(_ partition: Int) {
        state.withLock { $0.releasing[partition] = nil }
    }

    /// Opens a partition file with the pool settings of the others.
    func open(_ path: String, files: Int) throws -> DatabasePool {
        try SQLiteStore.open(path: path, migrator: ProfilesSchema.migrator, logger: logger, maximumReaderCount: 2, cacheKiB: Self.cacheKiB(files: files))
    }

    var businessDay: DayNumber {
        all.reduce(0) { max($0, $1.updater.businessDay) }
    }

    /// The newest business day the stores' checkpoints hold (what the updaters know once loaded).
    func storedBusinessDay() async throws -> DayNumber {
        try await newestStoredDay().day
    }

    /// The newest business day the stores' checkpoints hold and the first file holding it.
    private func newestStoredDay() async throws -> (day: DayNumber, partition: Int) {
        var newest: (day: DayNumber, partition: Int) = (0, 0)
        for core in all {
            let day = try await core.database.read { db in try DimensionUpdater.businessDay(db).day }
            if day > newest.day { newest = (day, core.partition ?? 0) }
        }
        return newest
    }

    /// Folds everything pending in every file, on the newest day any of them reaches: each file
    /// catches up, the newest day is handed to the files behind it (as the announcement does in
    /// the background), and those roll over, until no file is behind (tests and tools; the running
    /// updaters do this by themselves).
    func catchUp() async throws {
        while true {
            for core in all { try await core.updateDimensions() }
            guard storage == .filePerPartition else { return }
            let newest = try await newestStoredDay()
            // The background announcement may have raised a file's day already; what matters is
            // whether any file is still behind or has work left.
            var behind = false
            for core in all {
                try await core.updater.adopt(newest.day, from: "partition \(newest.partition)")
                let pending = try await core.database.read { db in try core.updater.pending(db) }
                if pending > 0 { behind = true }
            }
            if !behind { return }
        }
    }

    func adopt(_ day: DayNumber, from source: String) async throws -> Bool {
        var raised = false
        for core in all where try await core.updater.adopt(day, from: source) { raised = true }
        return raised
    }
}

// MARK: Opening the files

extension ProfilesCores {
    /// Where the partition files of the store at `storePath` live: `<store without .sqlite>.partitions/`.
    static func directory(ofStore storePath: String) -> URL {
        let store = URL(fileURLWithPath: storePath)
        let name = store.deletingPathExtension().lastPathComponent + ".partitions"
        return store.deletingLastPathComponent().appendingPathComponent(name, isDirectory: true)
    }

    /// A partition's file name: `p0007.sqlite` (four digits: P is at most 4,096).
    static func fileName(of partition: Int) -> String {
        Partitioning.name(of: partition) + ".sqlite"
    }

    /// A partition's file in the partition folder `directory`.
    static func file(of partition: Int, in directory: URL) -> URL {
        directory.appendingPathComponent(fileName(of: partition))
    }

    /// Where a drain keeps the log a pinned partition's file got since its pin (``PartitionPins``).
    static func tailFile(of partition: Int, in directory: URL) -> URL {
        directory.appendingPathComponent(fileName(of: partition) + ".tail")
    }

    /// Where the new owner keeps a pinned main part copied while the partition served, until its tail comes.
    static func preparedFile(of partition: Int, in directory: URL) -> URL {
        directory.appendingPathComponent(fileName(of: partition) + ".prepared")
    }

    /// Where a copy received for a move waits until the map gives the partition here.
    static func stagedFile(of partition: Int, in directory: URL) -> URL {
        directory.appendingPathComponent(stagedName(of: partition))
    }

    /// Opens the cores for `storage`: the process's store itself, or a file per owned partition
    /// (created and migrated when missing, several at once: creating is the migrations' fsyncs).
    /// `storage` is ``PartitionStorage/resolve(_:store:storePath:)``'s, already checked against the store;
    /// `cores` the process counts on (``HostConfiguration/cores``).
    static func open(
        storage: PartitionStorage, store: DatabasePool, storePath: String, owned: [Int], classifier: Classifier, schema: RuleSchema,
        logger: Logger, cores: Int
    ) throws -> ProfilesCores {
        let directory = directory(ofStore: storePath)
        switch storage {
        case .oneFile:
            return ProfilesCores(oneFile: store, classifier: classifier, schema: schema, logger: logger, cores: cores)
        case .filePerPartition:
            // A move's state on disk (docs/partitioning.md §8): a partition drained here stays
            // drained while the map still gives it here (the move has not committed: ResumePartition
            // or a repeated move ends it); once the map gives it elsewhere its file is kept until the
            // new owner serves it (released at the next ReloadPartitionMap or SIGHUP); a staged copy
            // becomes the partition's file once the map gives it here, and is dropped otherwise.
            let ownedSet = Set(owned)
            var drained: [Int: String] = [:]
            var releasing: [Int: String] = [:]
            for (partition, owner) in try store.read({ db in try PartitionMoveRecord.all(db) }) {
                if ownedSet.contains(partition) { drained[partition] = owner } else { releasing[partition] = owner }
            }
            try promoteStaged(in: directory, owned: ownedSet, logger: logger)
            try dropMoveLeftovers(in: directory, drained: Set(drained.keys))
            let opening = owned.filter { drained[$0] == nil }
            let pools = Mutex<[Int: DatabasePool]>([:])
            let failure = Mutex<(any Error)?>(nil)
            let paths = opening.map { file(of: $0, in: directory).path }
            // Readers per file are few: reads spread over the files anyway (docs/partitioning.md §2).
            DispatchQueue.concurrentPerform(iterations: opening.count) { index in
                do {
                    let pool = try SQLiteStore.open(path: paths[index], migrator: ProfilesSchema.migrator, logger: logger,
                                                    maximumReaderCount: 2, cacheKiB: cacheKiB(files: owned.count))
                    pools.withLock { $0[opening[index]] = pool }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            }
            if let error = failure.withLock({ $0 }) {
                throw ConfigurationError("opening the partition files in \(directory.path): \(error)")
            }
            return ProfilesCores(files: pools.withLock { $0 }, drained: drained, releasing: releasing, directory: directory, classifier: classifier,
                                 schema: schema, logger: logger, cores: cores)
        }
    }

    /// A copy received for a move (``PartitionMoves``) is `p0007.sqlite.incoming` until the map gives
    /// the partition here.
    static func stagedName(of partition: Int) -> String {
        fileName(of: partition) + ".incoming"
    }

    /// Turns each staged copy of a partition `owned` (the map gives it here: its move committed)
    /// into the partition's file, and deletes staged copies of partitions the map gives elsewhere
    /// (a move that never committed). A staged copy beside an existing file is dropped: the file is
    /// the one that was served.
    static func promoteStaged(in directory: URL, owned: Set<Int>, logger: Logger) throws {
        let manager = FileManager.default
        let names = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasSuffix(".sqlite.incoming") {
            let staged = directory.appendingPathComponent(name)
            let main = directory.appendingPathComponent(String(name.dropLast(".incoming".count)))
            let partition = Int(name.dropFirst(1).prefix(while: \.isNumber)) ?? -1
            if owned.contains(partition) && !manager.fileExists(atPath: main.path) {
                try manager.moveItem(at: staged, to: main)
                logger.notice("serving a partition file received by a move", metadata: ["partition": "\(partition)"])
            } else {
                try manager.removeItem(at: staged)
            }
        }
    }

    /// Deletes what a move left that no restarted process continues: prepared copies (the
    /// prepared move's steps are repeated), files being received or assembled, and tails of
    /// partitions not drained here. A drained partition's tail is kept (the new owner may still read it).
    static func dropMoveLeftovers(in directory: URL, drained: Set<Int>) throws {
        let manager = FileManager.default
        let names = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names {
            let partition = Int(name.dropFirst(1).prefix(while: \.isNumber)) ?? -1
            let leftover = name.contains(".sqlite.prepared") || name.contains(".assembling") || name.hasSuffix(".part")
                || (name.hasSuffix(".sqlite.tail") && !drained.contains(partition))
            if leftover { try manager.removeItem(at: directory.appendingPathComponent(name)) }
        }
    }

    /// Deletes a partition's file with its WAL, shared-memory and tail files (those missing are fine).
    static func deleteFile(of partition: Int, in directory: URL) throws {
        let main = file(of: partition, in: directory).path
        for path in [main, main + "-wal", main + "-shm", main + ".tail"] where FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
        }
    }

    /// Each file's share of the page cache one store gets (64 MiB per connection), at least 2 MiB:
    /// 64 files with a whole cache each would be gigabytes at full use.
    static func cacheKiB(files: Int) -> Int {
        max(2_048, 65_536 / max(1, files))
    }
}
