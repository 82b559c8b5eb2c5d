import CoreMetrics
import CRMRPC
import CRMRules
import CustomerDimensions
import GRDB
import Logging

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

    init(partition: Int?, database: DatabasePool, classifier: Classifier, schema: RuleSchema, logger: Logger,
         onNewDay: (@Sendable (DayNumber) -> Void)? = nil) {
        self.partition = partition
        self.database = database
        self.customers = CustomerStore(database: database)
        self.events = EventStore(database: database)
        self.index = DimensionIndex(schema: schema)
        self.updater = DimensionUpdater(database: database, classifier: classifier, index: index, logger: logger, onNewDay: onNewDay)
    }

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
        FeedHandlers(database: database, classifier: shared.classifier, snapshotPage: shared.settings.snapshotPage).register(into: &router)
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
