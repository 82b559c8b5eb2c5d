import CoreMetrics
import CRMRPC
import CRMServiceHost
import CRMRules
import CustomerDimensions
import GRDB
import ServiceLifecycle
import Logging
import Synchronization

/// One store of customers and everything built on it: the customers and their events, the
/// dimension updater folding them, the in-memory dimension index, and the handlers answering
/// from them. A profiles process has one core holding every partition it owns (one file, the
/// default) or one core per owned partition (a file each, setting `partitions.storage`;
/// docs/partitioning.md §2, §3); either way a core is exactly the single-store service of one
/// process, so every handler and the updater are the same code whatever the layout.
final class ProfilesCore: Sendable {
    /// The partition this core's file holds, or nil for the one file holding every owned partition.
    let partition: Int?
    let database: DatabasePool
    let customers: CustomerStore
    let events: EventStore
    let index: DimensionIndex
    let updater: DimensionUpdater
    /// When the events the updater has not applied yet arrived (`crm_profiles_updater_lag_seconds`).
    let updaterLag = UpdaterLag()
    /// Commits that add to this file's change feed or event log, for feed reads that wait
    /// (`wait_ms`); closed when the core is drained.
    let feedCommits = FeedCommits(tables: ["change_log", "event"])
    /// Set once the updater's run has returned (``PartitionUpdaters``): a drain waits for it.
    let updaterStopped = OneTimeSignal()
    private let retired = Atomic<Bool>(false)

    /// Whether the core has left the process (its partition drained for a move).
    var isRetired: Bool { retired.load(ordering: .acquiring) }

    /// Stops the core's updater after the step it is on; nothing new is folded here afterwards.
    func retire() {
        retired.store(true, ordering: .releasing)
        updater.finish()
    }

    /// `pacing` is shared by the updaters of a process's partition files (``DimensionUpdater``):
    /// they then take turns, and split a step's computing over the cores only when it is large,
    /// since the other files' updaters already use them.
    init(partition: Int?, database: DatabasePool, classifier: Classifier, schema: RuleSchema, logger: Logger,
         cores: Int = HostConfiguration.coresAvailable, pacing: AsyncGate? = nil, onNewDay: (@Sendable (DayNumber) -> Void)? = nil) {
        self.partition = partition
        self.database = database
        self.customers = CustomerStore(database: database)
        self.events = EventStore(database: database)
        self.index = DimensionIndex(schema: schema)
        self.updater = DimensionUpdater(database: database, classifier: classifier, index: index, logger: logger,
                                        parallelFrom: pacing == nil ? 64 : Self.pacedParallelFrom, cores: cores, pacing: pacing, onNewDay: onNewDay)
        feedCommits.observe(database)
    }

    /// Customers in a paced file's step from which its computing is split over the cores (a
    /// catch-up after a restart, a rollover page), not the few a live batch brings each file.
    static let pacedParallelFrom = 2_000

    /// What the core's handlers need beside the core itself.
    struct Shared: Sendable {
        let settings: ProfilesSettings
        let classifier: Classifier
        let schema: RuleSchema
        /// Saved segments: firm-wide, kept in the process's firm file whatever the layout.
        let segments: SegmentStore
        let ingested: [EventKind: Counter]
    }

    /// Registers the single-store methods answered from this core.
    func register(into router: inout Router, _ shared: Shared) {
        let updater = self.updater
        CustomerHandlers(store: customers, assessmentValidityYears: shared.settings.assessmentValidityYears, onChanged: { updater.notify() })
            .register(into: &router)
        IngestionHandlers(events: events, onIngested: { updater.notify() }, ingested: shared.ingested, arrivals: updaterLag).register(into: &router)
        FeedHandlers(database: database, classifier: shared.classifier, snapshotPage: shared.settings.snapshotPage,
                     partitioning: shared.settings.partitioning, commits: feedCommits).register(into: &router)
        QueryHandlers(
            queries: QueryStore(database: database),
            segments: shared.segments,
            classifier: shared.classifier,
            schema: shared.schema,
            index: index
        ).register(into: &router)
    }

    /// Folds every pending event and change into dimensions now (tests and tools).
    func updateDimensions() async throws {
        if !index.isReady {
            try await index.load(from: database)
        }
        try await updater.catchUp()
    }

    /// Events stored but not folded yet and how long the oldest has waited.
    func lag() async -> (events: Int64, seconds: Double)? {
        guard let progress = try? await database.read({ db in try DimensionUpdater.progress(db) }) else { return nil }
        return (max(0, progress.newest - progress.applied), updaterLag.seconds(applied: progress.applied, newest: progress.newest))
    }
}

/// Something that happens once, awaited by any number of tasks (before or after it happened).
final class OneTimeSignal: Sendable {
    private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}

/// Runs the dimension updater of every core of a process keeping a file per partition, including
/// the cores of partitions adopted while it runs (``ProfilesCores/starts``); an updater whose core
/// is retired (its partition drained) ends alone, the others go on.
struct PartitionUpdaters: Service {
    let cores: ProfilesCores

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for await core in cores.starts.cancelOnGracefulShutdown() {
                group.addTask {
                    defer { core.updaterStopped.signal() }
                    try await core.updater.run()
                }
            }
            // Shutting down (background work stops before the server drains): feed reads held
            // open for an entry end now, so the drain does not wait out their `wait_ms`.
            for core in cores.all { core.feedCommits.close() }
        }
    }
}
