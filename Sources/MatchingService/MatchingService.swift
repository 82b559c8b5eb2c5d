import CRMPartitions
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CRMSuitability
import GRDB
import Logging
import ServiceLifecycle

/// # MatchingService
///
/// Who may be offered what, and who is most likely to buy: suitability decisions, target
/// customers, recommendations, the propensity model and marketing campaigns.
///
/// It keeps its own copy of what it needs — customers, assessments, dimensions and classes from
/// the profiles feed; product views and service contacts from profiles' event log; products and
/// orders from the products feed — in its store and an in-memory index, and answers only from
/// that copy, so it keeps answering while profiles or products is down (GetReplicaStatus and the
/// health details say how stale the copy is). Several replicas run at once, each with its own
/// store; they give the same answers once caught up, copy each other's newest model and read each
/// other's campaign logs (``CampaignSync``: campaigns and contacts made on any replica). With
/// customers partitioned across profiles processes it follows every owner's feeds, each with its
/// own cursors and staleness (``ProfilesCopyFollowers``, docs/partitioning.md §7).
///
/// Settings: ``MatchingSettings``.
public struct MatchingService: CRMService {
    public static let name = "matching"
    public static let defaultPort = 7103
    public static var migrator: DatabaseMigrator { MatchingSchema.migrator }

    let replica: Replica
    let campaigns: CampaignStore
    let decisions: DecisionLog
    let context: ServiceContext
    let settings: MatchingSettings
    /// Every profiles owner's change feed and event log (made here so health can describe them).
    let profilesFollowers: ProfilesCopyFollowers
    /// The other replicas, one client each (their campaign logs, their decisions).
    let siblings: SiblingReplicas
    /// The sibling replicas' campaign logs.
    let campaignSync: CampaignSync
    /// This replica's matching group and the other groups (nil: it holds every customer).
    let groups: ReplicaGroups?

    public init(context: ServiceContext) throws {
        self.context = context
        self.settings = try MatchingSettings(context.configuration.settings)
        self.groups = try ReplicaGroups.load(topologyPath: settings.groupsTopology,
                                             replica: settings.groupsReplica ?? "\(context.configuration.host):\(context.configuration.port)",
                                             matchingPeers: context.peers["matching"])
        self.replica = Replica(database: context.database, rules: SuitabilityRules(assessmentValidityYears: settings.assessmentValidityYears),
                               groups: groups, cores: context.configuration.cores)
        self.campaigns = CampaignStore(database: context.database)
        self.decisions = DecisionLog(database: context.database)
        self.profilesFollowers = ProfilesCopyFollowers(
            peer: context.peers["profiles"], replica: replica, pageSize: UInt32(settings.feedPage), interval: settings.feedInterval,
            wait: settings.feedWait, snapshotPage: UInt32(settings.snapshotPage), logger: context.logger, metrics: context.metrics)
        self.siblings = SiblingReplicas(peers: context.peers["matching"])
        self.campaignSync = CampaignSync(siblings: siblings, store: campaigns, pageSize: settings.feedPage, interval: settings.feedInterval,
                                         logger: context.logger, metrics: context.metrics)
        Self.sampleReplica(replica, into: context.metrics)
    }

    /// At each scrape: how stale each copied feed is, how much the copy holds, and the model's
    /// age (its version carries its training time in Unix milliseconds: `kind-<millis>-<hash>`).
    private static func sampleReplica(_ replica: Replica, into metrics: ServiceMetrics) {
        let profilesStale = metrics.gauge("crm_matching_copy_staleness_seconds", [("feed", "profiles")])
        let productsStale = metrics.gauge("crm_matching_copy_staleness_seconds", [("feed", "products")])
        let profilesSequence = metrics.gauge("crm_matching_copy_sequence", [("feed", "profiles")])
        let productsSequence = metrics.gauge("crm_matching_copy_sequence", [("feed", "products")])
        let customers = metrics.gauge("crm_matching_copy_customers")
        let products = metrics.gauge("crm_matching_copy_products")
        let warm = metrics.gauge("crm_matching_scores_warm")
        let trained = metrics.gauge("crm_matching_model_trained_timestamp_seconds")
        let age = metrics.gauge("crm_matching_model_age_seconds")
        metrics.onScrape {
            let now = currentUnixMillis()
            let status = replica.status(nowMillis: now)
            profilesStale.record(status.profilesStalenessSeconds)
            productsStale.record(status.productsStalenessSeconds)
            profilesSequence.record(Double(status.profilesSequence))
            productsSequence.record(Double(status.productsSequence))
            customers.record(Double(status.customers))
            products.record(Double(status.products))
            warm.record(status.scoresWarm ? 1 : 0)
            let parts = status.modelVersion.split(separator: "-")
            if parts.count >= 2, let millis = Int64(parts[parts.count - 2]) {
                trained.record(Double(millis) / 1000)
                age.record(Double(now - millis) / 1000)
            } else {
                trained.record(0)
                age.record(-1)
            }
        }
    }

    public func register(into router: inout Router) {
        SuitabilityHandlers(replica: replica, log: decisions, siblings: siblings).register(into: &router)
        TargetingHandlers(replica: replica).register(into: &router)
        ModelHandlers(replica: replica, trainer: ModelTrainer(replica: replica, profiles: context.peers["profiles"], logger: context.logger,
                                                                     rowBudget: settings.maxTrainingRows, snapshotPage: settings.monthEndPage,
                                                                     monthEndsPerCall: settings.monthEndsPerCall,
                                                                     monthEndCalls: settings.monthEndCalls)).register(into: &router)
        CampaignHandlers(store: campaigns, replica: replica).register(into: &router)
        let replica = self.replica
        router.unary(Crm_Matching_V1_Matching.getReplicaStatus,
                     policy: .roles(MatchingRoles.headOffice, MatchingRoles.service, MatchingRoles.marketing), servesWhileStarting: true) { _, _ in
            Crm_Matching_V1_GetReplicaStatusResponse.with { $0.status = replica.status() }
        }
        // Another group's replica asking for this group's part under another layout is refused.
        if let groups { router.precede { context in try groups.checkExpectation(of: context) } }
    }

    public func backgroundServices() -> [any Service] {
        let page = UInt32(settings.feedPage)
        let interval = settings.feedInterval
        let replica = self.replica
        let logger = context.logger
        let products = CopyFollowers.products(replica: replica, client: context.peers["products"], pageSize: page, interval: interval,
                                              wait: settings.feedWait, logger: logger, metrics: context.metrics) { client, after, limit, wait in
            let changes = try await client.serverStreaming(
                Crm_Products_V1_Products.streamChanges,
                Crm_Products_V1_StreamChangesRequest.with {
                    $0.afterSequence = after
                    $0.limit = limit
                    if let wait { $0.waitMs = FeedWaits.milliseconds(wait) }
                }, options: FeedWaits.options(wait)).collect()
            try await replica.applyProducts(changes)
            return changes.count
        }
        let sync = ModelSync(replica: replica, siblings: siblings, interval: settings.modelSync, logger: logger)
        let closer: [any Service] = groups.map { [GroupClientsCloser(groups: $0)] } ?? []
        return [ReplicaLoader(replica: replica, logger: logger, then: [profilesFollowers, products, sync, campaignSync] + closer)]
    }

    /// The decision log: the suitability handlers queue every decision into it, so it stops only
    /// after the server has drained and writes what is queued then.
    public func handlerDependencies() -> [any Service] {
        [decisions]
    }

    public var readiness: ServiceReadiness { replica.readiness }

    /// The copy's figures; following several profiles owners, each one's positions and staleness
    /// too (`profiles_staleness_seconds.<owner>`, docs/partitioning.md §7).
    public func healthDetails() async -> [String: String] {
        let status = replica.status()
        let owners = replica.ownerDetails().merging(profilesFollowers.details) { $1 }.merging(campaignSync.details) { $1 }
            .merging(groups?.details ?? [:]) { $1 }
        return owners.merging([
            "customers": "\(status.customers)",
            "products": "\(status.products)",
            "profiles_sequence": "\(status.profilesSequence)",
            "products_sequence": "\(status.productsSequence)",
            "events_sequence": "\(status.eventsSequence)",
            "profiles_staleness_seconds": String(format: "%.1f", status.profilesStalenessSeconds),
            "products_staleness_seconds": String(format: "%.1f", status.productsStalenessSeconds),
            "model_version": status.modelVersion,
            "profiles_snapshot_customers": "\(replica.feeds.withLock { $0.snapshotCustomers })",
            "group.dropped_customers": "\(replica.feeds.withLock { $0.droppedCustomers })",
            "group.gained_partitions": replica.feeds.withLock { $0.gainedPartitions.isEmpty ? "none" : PartitionSet($0.gainedPartitions).description },
            "behaviour_applied": "\(replica.feeds.withLock { $0.behaviourApplied })",
            "ready": "\(status.ready)",
        ]) { $1 }
    }

    /// Loads the store into memory, then runs the followers: the copy is complete in memory before
    /// the first change is applied on top of it. The stored model's scores are computed beside the
    /// followers, not before them, so a restarted replica starts catching up at once.
    struct ReplicaLoader: Service {
        let replica: Replica
        let logger: Logger
        let then: [any Service]

        func run() async throws {
            try await replica.load()
            logger.info("replica loaded", metadata: ["customers": "\(replica.status().customers)"])
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await replica.warmScores() }
                group.addTask { await cancelWhenGracefulShutdown { await replica.keepScoresWarm() } }
                for service in then { group.addTask { try await service.run() } }
            }
        }
    }

    // MARK: Testing and tools

    /// The features a model for this service reads, given the dimension names profiles provides
    /// (tools that train or import models elsewhere).
    public static func featureNames(knownDimensions: Set<String>) -> [String] {
        FeatureSpace(knownDimensions: knownDimensions).names
    }

    /// The replica's status now (tests and tools).
    public func replicaStatus() -> Crm_Matching_V1_ReplicaStatus { replica.status() }
}

/// The roles the matching service's methods allow.
enum MatchingRoles {
    /// The marketing team creating and running campaigns.
    static let marketing = "marketing"
    /// Head-office analytics and operations: sees and changes everything.
    static let headOffice = "head-office"
    /// A client manager's workbench.
    static let workbench = "workbench"
    /// The website product mall: recommendations and suitability before a sale.
    static let website = "website"
    /// Other services (products asks for suitability decisions; replicas copy models).
    static let service = "service"
}

import Foundation
