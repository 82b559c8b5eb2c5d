@_exported import CRMPrimitives
import CoreMetrics
import CRMProtos
import CRMRules
import CRMRPC
import CRMServiceHost
import CustomerDimensions
import Foundation
import GRDB
import Logging
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

    /// The process's store: the firm's records (P, saved segments, the audit trail) and, with
    /// one-file storage, every owned partition's customers too.
    let database: DatabasePool
    /// Where `database` lives (the partition files, if any, are beside it).
    let storePath: String
    let settings: [String: String]
    let ownSettings: ProfilesSettings
    let classifier: Classifier
    let schema: RuleSchema
    /// The stores of customers: one, or one per owned partition (``ProfilesCores``).
    let cores: ProfilesCores
    let segments: SegmentStore
    let ingested: [EventKind: Counter]
    /// What this process owns of the partition map and how it reaches the other owners.
    let routing: PartitionRouting
    /// Adopts the other owners' newer business day (nil without a partition map in a topology).
    let gossip: BusinessDayGossip?
    /// Moving partitions in and out (DrainPartition, AdoptPartition, ReloadPartitionMap, …).
    let moves: PartitionMoves
    let logger: Logger

    public init(context: ServiceContext) throws {
        self.database = context.database
        self.storePath = context.configuration.databasePath
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
        let pushed = try context.database.read { db in try PushedMapRecord.read(db) }
        let placement = try PartitionRouting.Placement(settings: ownSettings, pushed: pushed)
        if let behind = placement.fileBehind {
            context.logger.notice("routing by the partition map pushed with ReloadPartitionMap: the topology file's is older", metadata: [
                "epoch": "\(placement.map.epoch)", "file_epoch": "\(behind)",
            ])
        }
        let storage = try PartitionStorage.resolve(ownSettings.storage, store: context.database, storePath: storePath)
        context.logger.info("partition storage", metadata: ["storage": "\(storage.storage.rawValue)", "by": "\(storage.reason)"])
        self.cores = try ProfilesCores.open(storage: storage.storage, store: context.database, storePath: storePath,
                                            owned: placement.owned, classifier: classifier, schema: schema, logger: context.logger,
                                            cores: context.configuration.cores)
        self.segments = SegmentStore(database: context.database)
        self.routing = try PartitionRouting(settings: ownSettings, placement: placement, settingsDigest: digest, businessDay: cores,
                                            configuration: context.configuration, logger: context.logger)
        self.gossip = !routing.mapped ? nil
            : BusinessDayGossip(routing: routing, updater: cores, interval: ownSettings.businessDayInterval, logger: context.logger)
        var ingested: [EventKind: Counter] = [:]
        for kind in EventKind.allCases {
            ingested[kind] = context.metrics.counter("crm_profiles_ingested_events_total", [("kind", "\(kind)")])
        }
        self.ingested = ingested
        self.logger = context.logger
        self.moves = PartitionMoves(routing: routing, cores: cores, store: context.database, logger: context.logger)
        Self.sampleUpdaters(cores, into: context.metrics)
        Self.samplePartitions(cores, routing, into: context.metrics)
    }

    /// At each scrape: the partitions the map gives this process, those drained here for a move,
    /// and those pinned for one (PreparePartitionMove). A partition drained for long is a move left
    /// half done (its customers are refused until it is completed or resumed): alert
    /// `CRMPartitionDrained`; one pinned for long is a move prepared and never drained (its log
    /// grows until the drain or a resume): alert `CRMPartitionPinned`.
    private static func samplePartitions(_ cores: ProfilesCores, _ routing: PartitionRouting, into metrics: ServiceMetrics) {
        let owned = metrics.gauge("crm_profiles_partitions_owned")
        let drained = metrics.gauge("crm_profiles_partitions_drained")
        let prepared = metrics.gauge("crm_profiles_partitions_prepared")
        metrics.onScrape {
            owned.record(Double(routing.map.partitions(ownedBy: routing.ownName).partitions.count))
            drained.record(Double(cores.drained.count))
            prepared.record(Double(cores.pins.pinned.count))
        }
    }

    /// At each scrape: events stored but not yet folded into dimensions (summed over the files),
    /// how long the oldest of them has waited (the longest over the files), and whether every
    /// in-memory dimension index is loaded.
    private static func sampleUpdaters(_ cores: ProfilesCores, into metrics: ServiceMetrics) {
        let pending = metrics.gauge("crm_profiles_updater_lag_events")
        let seconds = metrics.gauge("crm_profiles_updater_lag_seconds")
        let ready = metrics.gauge("crm_profiles_dimension_index_ready")
        metrics.onScrape {
            var events: Int64 = 0
            var longest = 0.0
            for core in cores.all {
                guard let lag = await core.lag() else { continue }
                events += lag.events
                longest = max(longest, lag.seconds)
            }
            pending.record(Double(events))
            seconds.record(longest)
            ready.record(cores.all.allSatisfy(\.index.isReady) ? 1 : 0)
        }
    }

    public func register(into router: inout Router) {
        let shared = ProfilesCore.Shared(settings: ownSettings, classifier: classifier, schema: schema, segments: segments, ingested: ingested)
        if cores.isSplit {
            // A router per file, each with the single-store methods (made again for each partition
            // adopted later); the process's router takes every method from them through the
            // dispatch below. The firm-wide methods (the data dictionary, the schemes, saved
            // segments) are answered by a router on the firm file, whichever partitions are kept.
            let base = router.sibling()
            let make: @Sendable (ProfilesCore) -> Router = { core in
                var sibling = base
                core.register(into: &sibling, shared)
                return sibling
            }
            cores.installRouters(make)
            let firm = ProfilesCore(partition: nil, database: database, classifier: classifier, schema: schema, logger: logger)
            LocalPartitions(cores: cores, template: make(firm), routing: routing).register(into: &router)
        } else if let core = cores.all.first {
            core.register(into: &router, shared)
        }
        PartitionMapHandler(routing: routing, cores: cores).register(into: &router)
        moves.register(into: &router)
        // Last: it stands in front of the methods above.
        PartitionForwarding(routing: routing, local: LocalPartitions.Dispatch(cores: cores)).register(into: &router)
    }

    public func handlerDependencies() -> [any Service] {
        [PartitionPeers(routing: routing)] + (cores.storage == .filePerPartition ? [PartitionFiles(cores: cores)] : [])
    }

    /// Re-reads the partition map on SIGHUP (as ReloadPartitionMap does), when it comes from a topology.
    public func reloadOnHangup() async -> String? {
        guard routing.mapped else { return nil }
        do {
            let answer = try await moves.reload()
            return "partition map epoch \(answer.epoch), owning \(answer.partitions.isEmpty ? "none" : answer.partitions)"
        } catch {
            logger.error("the partition map was not re-read on SIGHUP; the previous one stays in force: \(error)")
            return nil
        }
    }

    /// What is not folded into dimensions yet, the business day and where it came from, and, when
    /// partitioned, what this process owns and the business day each other owner last gave.
    public func healthDetails() async -> [String: String] {
        var details: [String: String] = [:]
        var pending: Int64 = 0
        var newest: (day: DayNumber, source: String?)?
        var read = true
        for core in cores.all {
            guard let state = try? await core.database.read({ db in (pending: try core.updater.pending(db), day: try DimensionUpdater.businessDay(db)) }) else {
                read = false
                continue
            }
            pending += state.pending
            // The newest day, from the process's own events when any file has it from them.
            if newest == nil || state.day.day > newest?.day ?? 0
                || (state.day.day == newest?.day && state.day.adoptedFrom == nil) {
                newest = (state.day.day, state.day.adoptedFrom)
            }
        }
        if read, let newest {
            details["dimensions_pending"] = "\(pending)"
            details["business_day"] = newest.day > 0 ? BusinessDayText.iso(newest.day) : "none yet"
            details["business_day_source"] = newest.source.map { "adopted from \($0)" } ?? "own events"
        }
        details["settings_digest"] = routing.settingsDigest.value
        details["partitions_storage"] = cores.storage.rawValue
        if cores.storage == .filePerPartition {
            details["partition_files"] = "\(cores.all.count) in \(ProfilesCores.directory(ofStore: storePath).path)"
        }
        let map = routing.map
        if routing.mapped {
            let owned = map.partitions(ownedBy: routing.ownName)
            details["partitions"] = "\(owned.partitions.isEmpty ? "none" : owned.description) of \(map.partitioning.count) as "
                + "\(routing.ownName), map epoch \(map.epoch)"
        }
        // Pinned for a move (its log grows until the drain); drained for a move; moved away, the
        // files kept until the new owners serve them (the next reload checks).
        for (key, moves) in [("partitions_prepared", cores.pins.pinned), ("partitions_drained", cores.drained),
                             ("partitions_moved_kept", cores.releasing)] where !moves.isEmpty {
            details[key] = moves.sorted { $0.key < $1.key }.map { "\($0.key) to \($0.value)" }.joined(separator: ", ")
        }
        if let gossip {
            details.merge(gossip.details) { own, _ in own }
        }
        return details
    }

    public func backgroundServices() -> [any Service] {
        [PartitionUpdaters(cores: cores)] + (gossip.map { [$0] } ?? [])
    }

    /// Asks every other partition owner for its business day now and adopts the newest when it is
    /// newer than this store's (tests and tools; the running service does this every
    /// `partitions.business_day_interval_ms`). The rollover to it happens at the next catch-up.
    public func learnBusinessDay() async {
        await gossip?.round()
    }

    /// Appends events straight to this service's event log (``StoreSeeding/appendEvents(_:into:)``),
    /// each to its partition's file when there is a file per partition: for tools building large
    /// worlds in process. The updater folds them at its next catch-up (``updateDimensions()``), not at once.
    @discardableResult
    public func appendSeededEvents(_ events: StoreSeeding.Events) async throws -> Int {
        guard cores.storage == .filePerPartition else {
            return try await StoreSeeding.appendEvents(events, into: database)
        }
        var added = 0
        for (partition, part) in events.split(by: { routing.partition(of: $0) }) {
            guard let core = cores.core(for: partition) else {
                throw RPCError(.failedPrecondition, "seeded events of partition \(partition), which \(routing.ownName) does not own")
            }
            added += try await StoreSeeding.appendEvents(part, into: core.database)
        }
        return added
    }

    /// Where a store at `storePath` keeps its partition files with `partitions.storage =
    /// file-per-partition` (`profiles.partitions/` beside `profiles.sqlite`): for tools reading them.
    public static func partitionFilesDirectory(ofStore storePath: String) -> URL {
        ProfilesCores.directory(ofStore: storePath)
    }

    /// Folds every pending event and change into dimensions now (tests and tools; the running
    /// service does this by itself a few milliseconds after each write).
    public func updateDimensions() async throws {
        try await cores.catchUp()
    }

    /// Whether every in-memory dimension index is loaded (until then segment counts and rule
    /// searches scan the store, and the updater has not started folding).
    public var isDimensionIndexReady: Bool { cores.all.allSatisfy(\.index.isReady) }

    /// Fills the in-memory dimension indexes from the stores, as the updaters do first at start-up
    /// (benchmarks time it; the running service does it by itself in the background).
    public func loadDimensionIndex() async throws {
        for core in cores.all { try await core.index.load(from: core.database) }
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
