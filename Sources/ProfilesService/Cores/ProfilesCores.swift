import CRMPartitions
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
    /// One file, the process's store, holds every owned partition (the default; today's stores).
    case oneFile = "one-file"
    /// A file per owned partition beside the process's store (`<store>.partitions/p0007.sqlite`),
    /// each with its own event log, change feed, updater and index: what moving a partition
    /// moves (docs/partitioning.md §2, §8).
    case filePerPartition = "file-per-partition"
}

/// The cores of one profiles process (``ProfilesCore``): one holding every owned partition, or
/// one per owned partition. Keeps their business day one (the firm's day does not depend on which
/// file a customer is in: a day any file's events reach, every other file adopts).
final class ProfilesCores: BusinessDayKeeper {
    let storage: PartitionStorage
    /// Every core, in partition order (one for one-file storage).
    let all: [ProfilesCore]
    /// Partition → index in `all` (file per partition; empty for one file).
    private let indexOfPartition: [Int: Int]

    /// The single core of one-file storage, on the process's store.
    init(oneFile database: DatabasePool, classifier: Classifier, schema: RuleSchema, logger: Logger) {
        self.storage = .oneFile
        self.all = [ProfilesCore(partition: nil, database: database, classifier: classifier, schema: schema, logger: logger)]
        self.indexOfPartition = [:]
    }

    /// A core per partition of `files` (partition → its migrated store).
    init(files: [Int: DatabasePool], classifier: Classifier, schema: RuleSchema, logger: Logger) {
        self.storage = .filePerPartition
        let days = DayAnnouncer(logger: logger)
        let partitions = files.keys.sorted()
        var cores: [ProfilesCore] = []
        for partition in partitions {
            guard let database = files[partition] else { continue }
            var coreLogger = logger
            coreLogger[metadataKey: "partition"] = "\(partition)"
            cores.append(ProfilesCore(partition: partition, database: database, classifier: classifier, schema: schema, logger: coreLogger,
                                      onNewDay: { day in days.announce(day, from: partition) }))
        }
        days.cores.withLock { $0 = cores }
        self.all = cores
        self.indexOfPartition = Dictionary(uniqueKeysWithValues: partitions.enumerated().map { ($0.element, $0.offset) })
    }

    /// Hands a day one partition file's events reached to every other file of the process, once
    /// per day: they adopt it as they would a peer process's (the rollover recomputes their
    /// customers' windows for it), so every file's windows end on the same day, the newest any
    /// of them has seen.
    private final class DayAnnouncer: Sendable {
        /// Set once, right after the cores are made (their callbacks need the list they are in).
        let cores = Mutex<[ProfilesCore]>([])
        private let announced = Atomic<DayNumber>(0)
        private let logger: Logger

        init(logger: Logger) {
            self.logger = logger
        }

        func announce(_ day: DayNumber, from partition: Int) {
            guard announced.max(day, ordering: .relaxed).oldValue < day else { return }
            let others = cores.withLock { $0 }.filter { $0.partition != partition }
            let logger = self.logger
            Task {
                for core in others {
                    do {
                        _ = try await core.updater.adopt(day, from: "partition \(partition)")
                    } catch {
                        // The firm-wide gossip's next round, or this file's own next event, raises it.
                        logger.error("a partition file could not adopt the business day of another",
                                     metadata: ["day": "\(day)", "from": "\(partition)", "to": "\(core.partition ?? -1)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Whether the process keeps more than one file (calls must be dispatched among them).
    var isSplit: Bool { all.count > 1 || storage == .filePerPartition }

    /// The position in `all` of the core holding `partition` (file per partition only).
    func index(of partition: Int) -> Int? {
        indexOfPartition[partition]
    }

    /// The core holding `partition` (which this process owns).
    func core(for partition: Int) -> ProfilesCore? {
        guard storage == .filePerPartition else { return all.first }
        return indexOfPartition[partition].map { all[$0] }
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

    /// Opens the cores for `storage`: the process's store itself, or a file per owned partition
    /// (created and migrated when missing, several at once: creating is the migrations' fsyncs).
    ///
    /// The layout is the firm's and is checked, never guessed: file-per-partition storage refuses
    /// a process store that holds customers (they would be invisible: split the store first), and
    /// one-file storage refuses a store beside which partition files exist.
    static func open(
        storage: PartitionStorage, store: DatabasePool, storePath: String, owned: [Int], classifier: Classifier, schema: RuleSchema,
        logger: Logger
    ) throws -> ProfilesCores {
        let directory = directory(ofStore: storePath)
        switch storage {
        case .oneFile:
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".sqlite") } ?? []
            guard existing.isEmpty else {
                throw ConfigurationError("partitions.storage is one-file, but \(directory.path) holds \(existing.count) partition files "
                    + "(this store keeps a file per partition): set partitions.storage to file-per-partition")
            }
            return ProfilesCores(oneFile: store, classifier: classifier, schema: schema, logger: logger)
        case .filePerPartition:
            let held = try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM customer LIMIT 1)") ?? 0 }
            guard held == 0 else {
                throw ConfigurationError("partitions.storage is file-per-partition, but \(storePath) holds customers (it keeps every "
                    + "partition in one file): keep partitions.storage one-file, or split the store into partition files first")
            }
            let pools = Mutex<[Int: DatabasePool]>([:])
            let failure = Mutex<(any Error)?>(nil)
            let paths = owned.map { directory.appendingPathComponent(fileName(of: $0)).path }
            // Readers per file are few: reads spread over the files anyway (docs/partitioning.md §2).
            DispatchQueue.concurrentPerform(iterations: owned.count) { index in
                do {
                    let pool = try SQLiteStore.open(path: paths[index], migrator: ProfilesSchema.migrator, logger: logger,
                                                    maximumReaderCount: 2, cacheKiB: cacheKiB(files: owned.count))
                    pools.withLock { $0[owned[index]] = pool }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            }
            if let error = failure.withLock({ $0 }) {
                throw ConfigurationError("opening the partition files in \(directory.path): \(error)")
            }
            return ProfilesCores(files: pools.withLock { $0 }, classifier: classifier, schema: schema, logger: logger)
        }
    }

    /// Each file's share of the page cache one store gets (64 MiB per connection), at least 2 MiB:
    /// 64 files with a whole cache each would be gigabytes at full use.
    static func cacheKiB(files: Int) -> Int {
        max(2_048, 65_536 / max(1, files))
    }
}
