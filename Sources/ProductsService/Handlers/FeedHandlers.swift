import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB

/// The change feed: `StreamChanges` sends every change (products, templates, contracts, orders,
/// package subscriptions) after a sequence number, in order, then ends. A consumer keeps the last
/// sequence it applied and asks again from there (after a restart of either side too): no gap, no
/// repeat.
struct FeedHandlers: Sendable {
    let database: DatabasePool
    /// Commits to the feed, for reads that wait (`wait_ms`); nil answers at once.
    var commits: FeedCommits?

    func register(into router: inout Router) {
        router.serverStreaming(
            Crm_Products_V1_Products.streamChanges,
            policy: ProductsRoles.feedReaders
        ) { request, writer, _ in
            try await ChangeFeed.stream(
                from: database, after: request.afterSequence, limit: request.limit, to: writer,
                sequence: { $0.sequence }, setSequence: { $0.sequence = $1 },
                waiting: ChangeFeed.Waiting(commits: commits, milliseconds: request.waitMs)
            )
        }
    }
}
