import CRMProfilesClient
import CRMProtos
import CRMRPC
import CRMServiceHost
import Logging
import ServiceLifecycle

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
/// An owner keeping a file per partition (GetPartitionMapResponse.feeds_per_partition) has a feed
/// and a log per partition, each numbered on its own: each is followed on its own, with cursors
/// named by the partition (`profiles.p0007`, `events.p0007`), which stay valid whichever process
/// serves the partition.
///
/// A map with one owner (every single-process install, and a profiles version without
/// `GetPartitionMap`) keeps the cursor names `profiles` and `events`, so an existing replica
/// resumes where it was. The map is read once, at the first step, retried until it is answered and
/// until every owner has an endpoint (an owner's feeds can be read only from that owner). A
/// partition's own feeds are read from the process owning it now: after a move, from the new
/// owner once the map is read again (``PartitionFeedRoutes``). The map is resolved
/// to owners by `CRMProfilesClient`'s ``ProfilesOwners``, the same reading as compensation's, and
/// the retries, the running and the health details are ``DeferredFollowers``', as there.
final class ProfilesCopyFollowers: Service, Sendable {
    let replica: Replica
    let logger: Logger
    /// Nil without a profiles peer: the stored copy is all there is.
    let deferred: DeferredFollowers?

    static let mapTimeout = CallOptions.timeout(.seconds(20))

    init(peer: RPCClient?, replica: Replica, pageSize: UInt32, interval: Duration, wait: Duration? = nil, snapshotPage: UInt32,
         maxBackoff: Duration = .seconds(5),
         logger: Logger, metrics: ServiceMetrics?) {
        self.replica = replica
        self.logger = logger
        deferred = peer.map { peer in
            DeferredFollowers(lookup: "profiles' partition map", detailKey: "feed.profiles.partition_map", maxBackoff: maxBackoff, logger: logger) {
                let owners = try await ProfilesOwners.read(from: peer, options: Self.mapTimeout)
                if let groups = replica.groups { try await Self.checkPartitioning(of: groups, against: peer) }
                // Views and contacts stored under one process's event ids are read again from every owner
                // (their cursors start at 0): each takes its stored row instead of adding a second.
                let adoptingLegacy = owners.count > 1 ? try await replica.database.read { db in try BehaviourStore.hasLegacyEvents(db) } : false
                var followers: [FeedFollower] = []
                // A group's replica reads only its partitions' own feeds; a process's whole feed
                // it reads and keeps its group's customers (``Replica/holds(customerID:)``).
                let followed = owners.filter { owner in owner.partition.map { replica.groups?.holds(partition: $0) ?? true } ?? true }
                for owner in followed {
                    let changes = CopyStore.feed(.profiles, owner: owner.label)
                    let feed = ProfilesFeed(replica: replica, logger: logger, feed: changes, snapshotPage: snapshotPage, partition: owner.selector)
                    followers.append(CopyFollowers.follower(changes, replica: replica, pageSize: pageSize, interval: interval, wait: wait,
                                                            logger: logger, metrics: metrics) { after, limit, wait in
                        try await owner.reading { client in try await feed.step(client: client, after: after, limit: limit, wait: wait) }
                    })
                    let events = CopyStore.feed(.events, owner: owner.label)
                    followers.append(CopyFollowers.follower(events, replica: replica, pageSize: pageSize, interval: interval, wait: wait,
                                                            logger: logger) { after, limit, wait in
                        try await owner.reading { client in
                            try await EventsFeed.step(replica: replica, client: client, feed: events, partition: owner.selector, after: after, limit: limit,
                                                      adoptingLegacy: adoptingLegacy, wait: wait)
                        }
                    })
                }
                replica.follow(owners: followed.map(\.label))
                if followed.count > 1 { logger.info("following profiles owners", metadata: ["feeds": "\(followed.map(\.label))"]) }
                return DeferredFollowers.Made(followers: followers, owners: owners)
            }
        }
    }

    /// Refuses (retried, shown in health) a profiles partition count other than the groups'
    /// topology's: a customer's group would be computed against another count than their partition.
    static func checkPartitioning(of groups: ReplicaGroups, against peer: RPCClient) async throws {
        let map = try await peer.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest(), options: mapTimeout)
        guard Int(map.count) == groups.layout.partitioning.count else {
            throw RPCError(.failedPrecondition, "profiles has \(map.count) partitions and groups.topology's matching_groups are read against "
                           + "\(groups.layout.partitioning.count): fix the topology's partitions count")
        }
    }

    /// Runs every owner's followers (``DeferredFollowers``); without a profiles peer, marks the
    /// stored copy current.
    func run() async throws {
        guard let deferred else {
            replica.follow(owners: [""])
            try await CopyFollowers.Unfollowed(feeds: [CopyStore.Source.profiles.rawValue, CopyStore.Source.events.rawValue],
                                               replica: replica, logger: logger).run()
            return
        }
        try await deferred.run()
    }

    /// Every owner's followers' details, or why the map is not read yet.
    var details: [String: String] {
        deferred?.details ?? [:]
    }
}
