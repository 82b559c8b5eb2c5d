@_exported import CompensationSettlement
@_exported import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import GRDB
import ServiceLifecycle

/// # CompensationService
///
/// What client managers are paid: the organisation (branches, teams, managers), who serves which
/// customer over time, the compensation schemes per grade, the monthly settlement into statements,
/// and the figures managers are assessed on. Pay is private, so reads are scoped: a manager sees
/// only their own records, a branch head only their branch's.
///
/// Income arrives from three feeds followed in the background (``FeedFollower``): profiles' event
/// log (trades, margin interest, transfers, positions), profiles' change feed (customers) — both
/// in every profiles process owning partitions, a cursor per owner (``ProfilesFollowers``) — and
/// products' change feed (rebate rates, orders, package subscriptions). Each is applied with its
/// cursor in one transaction, and profiles events are keyed by identity
/// (``ProfilesEventIdentity``), so every event counts exactly once across restarts and owners. The arithmetic is
/// the pure `Domain/Settlement` module; `Store/` holds the schema and queries, `Settling/` the
/// month's settlement, `Handlers/` the RPC methods; the `crm-compensation` executable only runs it.
/// Settings: see ``CompensationSettings``.
public struct CompensationService: CRMService {
    public static let name = "compensation"
    public static let defaultPort = 7104
    public static var migrator: DatabaseMigrator { CompensationSchema.migrator }

    let database: DatabasePool
    let managers: ManagerStore
    let settings: CompensationSettings
    let gate = SerialGate()
    let customers: CustomerDirectory
    /// Products' change feed (profiles' feeds are followed by ``profilesFollowers``, one set per owner).
    let followers: [FeedFollower]
    /// Profiles' event log and change feed in every profiles process owning partitions; nil
    /// without a profiles peer.
    let profilesFollowers: DeferredFollowers?
    let metrics: ServiceMetrics

    public init(context: ServiceContext) throws {
        self.database = context.database
        self.managers = ManagerStore(database: context.database)
        self.settings = try CompensationSettings(context.configuration.settings)
        let profiles = context.peers["profiles"]
        self.customers = CustomerDirectory(database: context.database, profiles: profiles)
        var followers: [FeedFollower] = []
        let settings = self.settings
        let logger = context.logger, metrics = context.metrics
        /// Every feed followed may hold a caught-up read (`feeds.wait_ms`).
        @Sendable func follower(_ name: String, _ step: @escaping FeedFollower.Read) -> FeedFollower {
            FeedFollower(name: name, batch: settings.batch, pollInterval: settings.pollInterval, wait: settings.feedWait, maxBackoff: settings.maxBackoff,
                         logger: logger, step: step, metrics: metrics)
        }
        if let profiles {
            profilesFollowers = ProfilesFollowers.make(peer: profiles, database: database, costs: settings.tradeCosts, maxBackoff: settings.maxBackoff,
                                                  logger: logger) { name, step in
                follower(name, step)
            }
        } else {
            profilesFollowers = nil
            context.logger.warning("no profiles peer configured: trades, interest, transfers, positions and customers are not followed")
        }
        if let products = context.peers["products"] {
            followers.append(follower(FeedSources.productsChanges, FeedSources.productsStep(client: products, database: database)))
        } else {
            context.logger.warning("no products peer configured: product sales and advisory fees are not followed")
        }
        self.followers = followers
        self.metrics = context.metrics
    }

    public func register(into router: inout Router) {
        ManagerHandlers(store: managers, gate: gate).register(into: &router)
        AssignmentHandlers(database: database, customers: customers, gate: gate).register(into: &router)
        RuleHandlers(database: database, gate: gate).register(into: &router)
        let metrics = self.metrics
        StatementHandlers(database: database, gate: gate, clock: { currentUnixMillis() }, settled: { outcome, duration in
            metrics.timer("crm_compensation_settlement_duration_seconds", [("outcome", outcome)]).recordNanoseconds(
                duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }).register(into: &router)
        AssessmentHandlers(database: database, settings: settings).register(into: &router)
    }

    public func backgroundServices() -> [any Service] {
        (profilesFollowers.map { [$0] } ?? []) + followers
    }

    public func healthDetails() async -> [String: String] {
        var details: [String: String] = ["effective_account": settings.effectiveAccountText]
        if let profilesFollowers { details.merge(profilesFollowers.details) { $1 } }
        for follower in followers { details.merge(follower.details) { $1 } }
        return details
    }

    /// Applies everything the peers' feeds hold now, feed by feed (tests and tools; the running
    /// service follows them by itself).
    public func catchUpFeeds() async throws {
        try await profilesFollowers?.catchUp()
        for follower in followers { try await follower.catchUp() }
    }
}

/// The roles the compensation service's methods allow.
enum CompensationRoles {
    /// Human resources maintaining the roster, assignments, schemes and coefficients.
    static let hr = "hr"
    /// Head-office analytics and operations: sees everything.
    static let headOffice = "head-office"
    /// A branch head: sees the managers of their branch (`branch_id` attribute).
    static let branchHead = "branch-head"
    /// A client manager: sees only their own records (`manager_id` attribute).
    static let manager = "manager"
    /// Other services reading managers.
    static let service = "service"
}
