@_exported import CRMPrimitives
import CoreMetrics
import CRMProtos
import CRMRules
import CRMRPC
import CRMServiceHost
import CustomerDimensions
import GRDB
import ServiceLifecycle

/// # ProfilesService
///
/// The customer 360° view: every customer the firm knows of, in every account state. This library
/// holds the service's store, its pure domain rules and its RPC handlers; the `crm-profiles`
/// executable only runs it.
public struct ProfilesService: CRMService {
    public static let name = "profiles"
    public static let defaultPort = 7101
    public static var migrator: DatabaseMigrator { ProfilesSchema.migrator }

    let customers: CustomerStore
    let events: EventStore
    let database: DatabasePool
    let settings: [String: String]
    let ownSettings: ProfilesSettings
    let classifier: Classifier
    let schema: RuleSchema
    let index: DimensionIndex
    let updater: DimensionUpdater
    /// When the events the updater has not applied yet arrived (`crm_profiles_updater_lag_seconds`).
    let updaterLag = UpdaterLag()
    let ingested: [EventKind: Counter]
    /// What this process owns of the partition map and how it reaches the other owners.
    let routing: PartitionRouting
    /// Adopts the other owners' newer business day (nil when this process owns every partition).
    let gossip: BusinessDayGossip?

    public init(context: ServiceContext) throws {
        self.database = context.database
        self.customers = CustomerStore(database: context.database)
        self.events = EventStore(database: context.database)
        self.settings = context.configuration.settings
        self.ownSettings = try ProfilesSettings(context.configuration.settings)
        try PartitioningRecord.check(context.database, configured: ownSettings.partitioning)
        let classification: ClassificationConfiguration
        do {
            classification = try ClassificationConfiguration(settings: settings)
            self.classifier = try Classifier(configuration: classification)
        } catch {
            throw ConfigurationError("classification settings: \(error)")
        }
        let digest = try SettingsDigest(partitioning: ownSettings.partitioning, assessmentValidityYears: ownSettings.assessmentValidityYears,
                                        classification: classification)
        self.schema = ProfileRules.schema(classifier: classifier)
        self.index = DimensionIndex(schema: schema)
        self.updater = DimensionUpdater(database: context.database, classifier: classifier, index: index, logger: context.logger)
        self.routing = try PartitionRouting(settings: ownSettings, settingsDigest: digest, updater: updater, configuration: context.configuration,
                                            logger: context.logger)
        self.gossip = routing.ownsEverything ? nil
            : BusinessDayGossip(routing: routing, updater: updater, interval: ownSettings.businessDayInterval, logger: context.logger)
        var ingested: [EventKind: Counter] = [:]
        for kind in EventKind.allCases {
            ingested[kind] = context.metrics.counter("crm_profiles_ingested_events_total", [("kind", "\(kind)")])
        }
        self.ingested = ingested
        Self.sampleUpdater(database: context.database, index: index, lag: updaterLag, into: context.metrics)
    }

    /// At each scrape: events stored but not yet folded into dimensions, how long the oldest of them
    /// has waited, and whether the in-memory dimension index is loaded.
    private static func sampleUpdater(database: DatabasePool, index: DimensionIndex, lag: UpdaterLag, into metrics: ServiceMetrics) {
        let pending = metrics.gauge("crm_profiles_updater_lag_events")
        let seconds = metrics.gauge("crm_profiles_updater_lag_seconds")
        let ready = metrics.gauge("crm_profiles_dimension_index_ready")
        metrics.onScrape {
            if let progress = try? await database.read({ db in try DimensionUpdater.progress(db) }) {
                pending.record(Double(max(0, progress.newest - progress.applied)))
                seconds.record(lag.seconds(applied: progress.applied, newest: progress.newest))
            }
            ready.record(index.isReady ? 1 : 0)
        }
    }

    public func register(into router: inout Router) {
        let updater = self.updater
        CustomerHandlers(store: customers, assessmentValidityYears: ownSettings.assessmentValidityYears, onChanged: { updater.notify() })
            .register(into: &router)
        IngestionHandlers(events: events, onIngested: { updater.notify() }, ingested: ingested, arrivals: updaterLag).register(into: &router)
        FeedHandlers(database: database, classifier: classifier, snapshotPage: ownSettings.snapshotPage).register(into: &router)
        QueryHandlers(
            queries: QueryStore(database: database),
            segments: SegmentStore(database: database),
            classifier: classifier,
            schema: schema,
            index: index
        ).register(into: &router)
        PartitionMapHandler(routing: routing, database: database).register(into: &router)
        // Last: it stands in front of the methods above.
        PartitionForwarding(routing: routing).register(into: &router)
    }

    public func handlerDependencies() -> [any Service] {
        [PartitionPeers(routing: routing)]
    }

    /// What is not folded into dimensions yet, the business day and where it came from, and, when
    /// partitioned, what this process owns and the business day each other owner last gave.
    public func healthDetails() async -> [String: String] {
        var details: [String: String] = [:]
        if let read = try? await database.read({ db in (pending: try updater.pending(db), day: try DimensionUpdater.businessDay(db)) }) {
            let businessDay = read.day
            details["dimensions_pending"] = "\(read.pending)"
            details["business_day"] = businessDay.day > 0 ? BusinessDayText.iso(businessDay.day) : "none yet"
            details["business_day_source"] = businessDay.adoptedFrom.map { "adopted from \($0)" } ?? "own events"
        }
        details["settings_digest"] = routing.settingsDigest.value
        if !routing.ownsEverything {
            details["partitions"] = "\(routing.map.partitions(ownedBy: routing.ownName)) of \(routing.map.partitioning.count) as "
                + "\(routing.ownName), map epoch \(routing.map.epoch)"
        }
        if let gossip {
            details.merge(gossip.details) { own, _ in own }
        }
        return details
    }

    public func backgroundServices() -> [any Service] {
        [updater] + (gossip.map { [$0] } ?? [])
    }

    /// Asks every other partition owner for its business day now and adopts the newest when it is
    /// newer than this store's (tests and tools; the running service does this every
    /// `partitions.business_day_interval_ms`). The rollover to it happens at the next catch-up.
    public func learnBusinessDay() async {
        await gossip?.round()
    }

    /// Appends events straight to this service's event log (``StoreSeeding/appendEvents(_:into:)``):
    /// for tools building large worlds in process. The updater folds them at its next catch-up
    /// (``updateDimensions()``), not at once.
    @discardableResult
    public func appendSeededEvents(_ events: StoreSeeding.Events) async throws -> Int {
        try await StoreSeeding.appendEvents(events, into: database)
    }

    /// Folds every pending event and change into dimensions now (tests and tools; the running
    /// service does this by itself a few milliseconds after each write).
    public func updateDimensions() async throws {
        if !index.isReady {
            try await index.load(from: database)
        }
        try await updater.catchUp()
    }

    /// Whether the in-memory dimension index is loaded (until then segment counts and rule
    /// searches scan the store, and the updater has not started folding).
    public var isDimensionIndexReady: Bool { index.isReady }

    /// Fills the in-memory dimension index from the store, as the updater does first at start-up
    /// (benchmarks time it; the running service does it by itself in the background).
    public func loadDimensionIndex() async throws {
        try await index.load(from: database)
    }
}

/// The roles the profiles service's methods allow.
enum ProfilesRoles {
    /// The trading system, the website and the service desk feeding data in.
    static let ingest = "ingest"
    /// A client manager's workbench: sees only that manager's customers.
    static let manager = "manager"
    /// Head-office analytics and operations: sees everything.
    static let headOffice = "head-office"
    /// Other services reading the change feed and customer data.
    static let service = "service"
}
