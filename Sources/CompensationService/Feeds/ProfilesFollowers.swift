import CRMProfilesClient
import CRMRPC
import CRMServiceHost
import GRDB
import Logging

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
/// that owner). A partition's own feeds are read from the process owning it now: after a move its
/// follower reads from the new owner once the map is read again (``PartitionFeedRoutes``). The
/// map is resolved to owners by `CRMProfilesClient`'s ``ProfilesOwners``, shared with matching, and
/// the retries, the running and the health details are ``DeferredFollowers``'.
enum ProfilesFollowers {
    /// Makes a follower named `name` running `step` (profiles may hold its reads: ``FeedFollower``).
    typealias Make = @Sendable (_ name: String, _ step: @escaping FeedFollower.Read) -> FeedFollower

    static func make(peer: RPCClient, database: DatabasePool, costs: TradeCostSchedule, maxBackoff: Duration, logger: Logger,
                     make: @escaping Make) -> DeferredFollowers {
        DeferredFollowers(lookup: "profiles' partition map", detailKey: "feed.profiles.partition_map", maxBackoff: maxBackoff, logger: logger) {
            let owners = try await ProfilesOwners.read(from: peer, options: FeedSources.callTimeout)
            if owners.count > 1, let pending = try await database.read({ db in try LegacyEventKeys.pending(db) }) {
                // Old rows are keyed by one process's ids, which another owner's ids would not match.
                for owner in owners where owner.made { await owner.client.close() }
                throw LegacyEventKeys.refusal(id: pending.first, "the store still holds events keyed by one profiles process's ids and profiles now has \(owners.count) event logs")
            }
            var followers: [FeedFollower] = []
            for owner in owners {
                let customers = owner.cursor(FeedSources.profilesCustomers)
                let events = owner.cursor(FeedSources.profilesEvents)
                followers.append(make(customers, FeedSources.profilesCustomersStep(owner: owner, database: database, feed: customers)))
                followers.append(make(events, FeedSources.profilesEventsStep(owner: owner, database: database, costs: costs, feed: events)))
            }
            return DeferredFollowers.Made(followers: followers, owners: owners)
        }
    }
}
