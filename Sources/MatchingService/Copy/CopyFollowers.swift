import CRMRPC
import CRMServiceHost
import Logging
import ServiceLifecycle

/// The replica's feed followers (profiles, profiles' event log, products) over the host's
/// ``FeedFollower``: each page is applied to the store and the memory (the step), a short page
/// marks the copy current, a failure marks it stale and answers go on from the copy. A source with no peer configured is not followed: the copy is
/// what the store holds, and it counts as current so the replica serves it.
enum CopyFollowers {
    /// A follower of the feed whose cursor is named `feed` (``CopyStore/feed(_:owner:)``), whose
    /// steps get the cursor, the page size and how long the peer may hold the read (`wait`, once
    /// caught up: ``FeedFollower``).
    static func follower(_ feed: String, replica: Replica, pageSize: UInt32, interval: Duration, wait: Duration? = nil,
                         logger: Logger, metrics: ServiceMetrics? = nil,
                         step: @escaping @Sendable (UInt64, UInt32, Duration?) async throws -> Int) -> FeedFollower {
        FeedFollower(
            name: feed, batch: Int(pageSize), pollInterval: interval, wait: wait, maxBackoff: .seconds(5), logger: logger,
            step: { limit, wait in
                let applied = try await step(replica.cursor(feed), UInt32(limit), wait)
                return FeedFollower.Step(received: applied, position: replica.cursor(feed))
            },
            onCurrent: { try await replica.markCurrent(feed) },
            onFailure: { replica.markFailed(feed, $0) },
            metrics: metrics
        )
    }

    /// Products' follower, or ``Unfollowed`` without a products peer; its steps get the client,
    /// the cursor, the page size and the wait.
    static func products(replica: Replica, client: RPCClient?, pageSize: UInt32, interval: Duration, wait: Duration?, logger: Logger,
                         metrics: ServiceMetrics?,
                         step: @escaping @Sendable (RPCClient, UInt64, UInt32, Duration?) async throws -> Int) -> any Service {
        let feed = CopyStore.Source.products.rawValue
        guard let client else { return Unfollowed(feeds: [feed], replica: replica, logger: logger) }
        return follower(feed, replica: replica, pageSize: pageSize, interval: interval, wait: wait, logger: logger, metrics: metrics) { after, limit, wait in
            try await step(client, after, limit, wait)
        }
    }

    /// Sources without a peer: nothing to follow, so the stored copy is all there is.
    struct Unfollowed: Service {
        let feeds: [String]
        let replica: Replica
        let logger: Logger

        func run() async throws {
            for feed in feeds {
                logger.warning("no peer configured for the \(feed) feed; the copy will not change")
                try await replica.markCurrent(feed)
            }
        }
    }
}
