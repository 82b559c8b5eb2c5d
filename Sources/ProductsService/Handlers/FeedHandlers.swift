import CRMProtos
import CRMRPC
import GRDB

/// The change feed: `StreamChanges` sends every change (products, templates, contracts, orders,
/// package subscriptions) after a sequence number, in order, then ends. A consumer keeps the last
/// sequence it applied and asks again from there (after a restart of either side too): no gap, no
/// repeat.
struct FeedHandlers: Sendable {
    let database: DatabasePool
    static let page = 1_000

    func register(into router: inout Router) {
        router.serverStreaming(
            ProductHandlers.prefix + "StreamChanges",
            Crm_Products_V1_StreamChangesRequest.self,
            Crm_Products_V1_ChangeEvent.self,
            policy: ProductsRoles.feedReaders
        ) { request, writer, _ in
            var after = request.afterSequence
            var remaining = request.limit == 0 ? Int.max : Int(request.limit)
            while remaining > 0 {
                let size = min(remaining, Self.page)
                let from = after
                let changes = try await database.read { db in try ChangeLog.changes(db, after: from, limit: size) }
                for change in changes {
                    try await writer.write(change)
                }
                guard let last = changes.last, changes.count == size else { return }
                after = last.sequence
                remaining -= changes.count
            }
        }
    }
}
