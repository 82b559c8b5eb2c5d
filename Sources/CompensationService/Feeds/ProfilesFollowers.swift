import CRMProfilesClient
import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Follows profiles' event log and change feed in every profiles process that owns partitions
/// (docs/partitioning.md §7, §10).
///
/// Why one follower per owner: each profiles process logs only its own customers' events and
/// changes, numbered in its own sequence, and its streams answer from its own partitions only. So
/// compensation reads the partition map from its configured profiles peer (`GetPartitionMap`) and
/// follows each owner with a cursor of its own (`profiles_events.<owner>`,
/// `profiles_customers.<owner>`), each applied with its cursor in one transaction, so a restart
/// resumes every owner exactly where it stopped. Events are recorded by identity
/// (``ProfilesEventIdentity``), so the same event read from two owners (after a partition moved)
/// still counts once.
///
/// A map with one owner (every single-process install, and a profiles version without
/// `GetPartitionMap`) keeps today's cursor names `profiles_events` and `profiles_customers`, so an
/// existing install resumes where it was. The map is read once, at the first step (retried until
/// it is answered, and until every owner has an endpoint: an owner's log can be read only from
/// that owner); ownership changes only with a partition move, which re-reading belongs with. The
/// map is resolved to owners by `CRMProfilesClient`'s ``ProfilesOwners``, shared with matching.
final class ProfilesFollowers: Service, Sendable {
    /// Makes a follower named `name` running `step`.
    typealias Make = @Sendable (_ name: String, _ step: @escaping @Sendable (Int) async throws -> FeedFollower.Step) -> FeedFollower

    struct Resolved: Sendable {
        var followers: [FeedFollower]
        /// Clients opened for owners other than the peer (closed by ``close()``).
        var made: [RPCClient]
    }

    struct State: Sendable {
        var resolved: Resolved?
        var lastError: String?
    }

    let peer: RPCClient
    let database: DatabasePool
    let costs: TradeCostSchedule
    let make: Make
    let logger: Logger
    let maxBackoff: Duration
    private let state = Mutex(State())

    init(peer: RPCClient, database: DatabasePool, costs: TradeCostSchedule, maxBackoff: Duration, logger: Logger, make: @escaping Make) {
        self.peer = peer
        self.database = database
        self.costs = costs
        self.maxBackoff = maxBackoff
        self.logger = logger
        self.make = make
    }

    /// The feed's cursor name for `owner` when the map has `owners` owners: today's name for one.
    static func feed(_ base: String, owner: String, owners: Int) -> String {
        owners <= 1 || owner.isEmpty ? base : "\(base).\(owner)"
    }

    /// The followers, reading the map first if it has not been read.
    func followers() async throws -> [FeedFollower] {
        if let resolved = state.withLock({ $0.resolved }) { return resolved.followers }
        let owners = try await ProfilesOwners.read(from: peer, options: FeedSources.callTimeout)
        if owners.count > 1, let pending = try await database.read({ db in try LegacyEventKeys.pending(db) }) {
            // Old rows are keyed by one process's ids, which another owner's ids would not match.
            for owner in owners where owner.made { await owner.client.close() }
            throw LegacyEventKeys.refusal(id: pending.first, "the store still holds events keyed by one profiles process's ids and the map now has \(owners.count) owners")
        }
        var followers: [FeedFollower] = []
        for owner in owners {
            let customers = Self.feed(FeedSources.profilesCustomers, owner: owner.name, owners: owners.count)
            let events = Self.feed(FeedSources.profilesEvents, owner: owner.name, owners: owners.count)
            followers.append(make(customers, FeedSources.profilesCustomersStep(client: owner.client, database: database, feed: customers)))
            followers.append(make(events, FeedSources.profilesEventsStep(client: owner.client, database: database, costs: costs, feed: events)))
        }
        let resolved = Resolved(followers: followers, made: owners.filter(\.made).map(\.client))
        let (kept, extra) = state.withLock { (state: inout State) -> (Resolved, Resolved?) in
            if let earlier = state.resolved { return (earlier, resolved) }
            state.resolved = resolved
            state.lastError = nil
            return (resolved, nil)
        }
        if let extra { for client in extra.made { await client.close() } }  // another caller resolved first
        return kept.followers
    }

    /// Reads the map (retrying, doubling the wait up to the maximum backoff), then runs every
    /// owner's followers until graceful shutdown.
    func run() async throws {
        var backoff: Duration = .milliseconds(100)
        var followers: [FeedFollower]?
        while followers == nil {
            do {
                followers = try await self.followers()
            } catch {
                if Task.isCancelled { return }
                state.withLock { $0.lastError = "\(error)" }
                logger.warning("profiles' partition map not read; retrying", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                let wait = backoff
                do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } } catch { return }
                backoff = min(backoff * 2, maxBackoff)
            }
        }
        guard let followers else { return }
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for follower in followers { group.addTask { try await follower.run() } }
            }
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Applies everything every owner holds now (tests and tools).
    func catchUp() async throws {
        for follower in try await followers() { try await follower.catchUp() }
    }

    /// Every owner's feeds' details, or why the map is not read yet.
    var details: [String: String] {
        let current = state.withLock { $0 }
        guard let resolved = current.resolved else {
            return ["feed.profiles.partition_map": current.lastError.map { "not read yet: \($0)" } ?? "not read yet"]
        }
        var details: [String: String] = [:]
        for follower in resolved.followers { details.merge(follower.details) { $1 } }
        return details
    }

    /// Closes the clients opened for owners other than the peer.
    func close() async {
        let made = state.withLock { $0.resolved?.made ?? [] }
        for client in made { await client.close() }
    }
}
