import CRMRPC
import CRMServiceHost
import Logging
import ServiceLifecycle

/// The replica's feed followers (profiles, profiles' event log, products) over the host's
/// ``FeedFollower``: each page is applied to the store and the memory (the step), a short page
/// marks the copy current, a failure marks it stale and answers go on from the copy. A source with no peer configured is not followed: the copy is
/// what the store holds, and it counts as current so the replica serves it.
enum CopyFollowers {
    static func follower(_ source: CopyStore.Source, replica: Replica, client: RPCClient?, pageSize: UInt32, interval: Duration,
                         logger: Logger, metrics: ServiceMetrics? = nil, step: @escaping @Sendable (RPCClient, UInt64, UInt32) async throws -> Int) -> any Service {
        guard let client else { return Unfollowed(source: source, replica: replica, logger: logger) }
        return FeedFollower(
            name: source.rawValue, batch: Int(pageSize), pollInterval: interval, maxBackoff: .seconds(5), logger: logger,
            step: { limit in
                let applied = try await step(client, replica.cursor(source), UInt32(limit))
                return FeedFollower.Step(received: applied, position: replica.cursor(source))
            },
            onCurrent: { try await replica.markCurrent(source) },
            onFailure: { replica.markFailed(source, $0) },
            metrics: metrics
        )
    }

    /// A source without a peer: nothing to follow, so the stored copy is all there is.
    struct Unfollowed: Service {
        let source: CopyStore.Source
        let replica: Replica
        let logger: Logger

        func run() async throws {
            logger.warning("no peer configured for the \(source.rawValue) feed; the copy will not change")
            try await replica.markCurrent(source)
        }
    }
}
