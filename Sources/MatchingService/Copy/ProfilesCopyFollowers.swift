import CRMProfilesClient
import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Follows the change feed and the event log of every profiles process that owns partitions
/// (docs/partitioning.md §7, §9), so the copy holds every owner's customers.
///
/// Why one follower per owner: each profiles process logs only its own customers' changes and
/// events, numbered in its own sequence, and its feeds (and its snapshot, with which a copy that
/// starts from nothing begins) answer from its own partitions only. So the replica reads the
/// partition map from its configured profiles peer (`GetPartitionMap`) and follows each owner with
/// its own cursors (`profiles.<owner>`, `events.<owner>`), each page applied with its cursor in
/// one transaction, so a restart resumes every owner exactly where it stopped. Views and contacts
/// are stored by identity (``ProfilesEventIdentity``), so the same event read from two owners (after a
/// partition moved) counts once.
///
/// A map with one owner (every single-process install, and a profiles version without
/// `GetPartitionMap`) keeps the cursor names `profiles` and `events`, so an existing replica
/// resumes where it was. The map is read once, at the first step, retried until it is answered and
/// until every owner has an endpoint (an owner's feeds can be read only from that owner);
/// ownership changes only with a partition move, which re-reading belongs with. The map is resolved
/// to owners by `CRMProfilesClient`'s ``ProfilesOwners``, the same reading as compensation's.
final class ProfilesCopyFollowers: Service, Sendable {
    struct Resolved: Sendable {
        var followers: [FeedFollower]
        /// Clients opened for owners other than the peer (closed by ``close()``).
        var made: [RPCClient]
    }

    struct State: Sendable {
        var resolved: Resolved?
        var lastError: String?
    }

    let peer: RPCClient?
    let replica: Replica
    let pageSize: UInt32
    let interval: Duration
    let snapshotPage: UInt32
    let maxBackoff: Duration
    let logger: Logger
    let metrics: ServiceMetrics?
    private let state = Mutex(State())

    init(peer: RPCClient?, replica: Replica, pageSize: UInt32, interval: Duration, snapshotPage: UInt32, maxBackoff: Duration = .seconds(5),
         logger: Logger, metrics: ServiceMetrics?) {
        self.peer = peer
        self.replica = replica
        self.pageSize = pageSize
        self.interval = interval
        self.snapshotPage = snapshotPage
        self.maxBackoff = maxBackoff
        self.logger = logger
        self.metrics = metrics
    }

    static let mapTimeout = CallOptions.timeout(.seconds(20))

    /// The followers (each owner's change feed, then its event log), reading the map first if it
    /// has not been read.
    func followers(of peer: RPCClient) async throws -> [FeedFollower] {
        if let resolved = state.withLock({ $0.resolved }) { return resolved.followers }
        let owners = try await ProfilesOwners.read(from: peer, options: Self.mapTimeout)
        // Views and contacts stored under one process's event ids are read again from every owner
        // (their cursors start at 0): each takes its stored row instead of adding a second.
        let adoptingLegacy = owners.count > 1 ? try await replica.database.read { db in try BehaviourStore.hasLegacyEvents(db) } : false
        var followers: [FeedFollower] = []
        for owner in owners {
            let changes = CopyStore.feed(.profiles, owner: owner.name)
            let feed = ProfilesFeed(replica: replica, logger: logger, feed: changes, snapshotPage: snapshotPage)
            followers.append(CopyFollowers.follower(changes, replica: replica, client: owner.client, pageSize: pageSize, interval: interval,
                                                    logger: logger, metrics: metrics) { client, after, limit in
                try await feed.step(client: client, after: after, limit: limit)
            })
            let events = CopyStore.feed(.events, owner: owner.name)
            let replica = self.replica
            followers.append(CopyFollowers.follower(events, replica: replica, client: owner.client, pageSize: pageSize, interval: interval,
                                                    logger: logger) { client, after, limit in
                try await EventsFeed.step(replica: replica, client: client, feed: events, after: after, limit: limit, adoptingLegacy: adoptingLegacy)
            })
        }
        let resolved = Resolved(followers: followers, made: owners.filter(\.made).map(\.client))
        let (kept, extra) = state.withLock { (state: inout State) -> (Resolved, Resolved?) in
            if let earlier = state.resolved { return (earlier, resolved) }
            state.resolved = resolved
            state.lastError = nil
            return (resolved, nil)
        }
        if let extra { for client in extra.made { await client.close() } }  // another caller resolved first
        else {
            replica.follow(owners: owners.map(\.name))
            if owners.count > 1 { logger.info("following every profiles owner", metadata: ["owners": "\(owners.map(\.name))"]) }
        }
        return kept.followers
    }

    /// Reads the map (retrying, doubling the wait up to the maximum backoff), then runs every
    /// owner's followers until graceful shutdown. Without a profiles peer the stored copy is all
    /// there is.
    func run() async throws {
        guard let peer else {
            replica.follow(owners: [""])
            try await CopyFollowers.Unfollowed(feeds: [CopyStore.Source.profiles.rawValue, CopyStore.Source.events.rawValue],
                                               replica: replica, logger: logger).run()
            return
        }
        var backoff: Duration = .milliseconds(100)
        var followers: [FeedFollower]?
        while followers == nil {
            do {
                followers = try await self.followers(of: peer)
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

    /// Every owner's followers' details, or why the map is not read yet.
    var details: [String: String] {
        guard peer != nil else { return [:] }
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
