import CRMProtos
import Foundation
import GRDB
import ServiceLifecycle
import Synchronization

/// The audit log of suitability decisions, written in batches off the request path.
///
/// A decision is answered at once and queued; the log's background service writes the queue a
/// batch per transaction every few milliseconds (and everything left at shutdown). A crash can lose
/// the last moments of the log, never a decision an order relied on: the products service stores
/// the decision's outcome, reasons and rule version with every order it accepts.
final class DecisionLog: Service, Sendable {
    let database: DatabasePool
    private let pending = Mutex<[Crm_Matching_V1_RecordedDecision]>([])
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    init(database: DatabasePool) {
        self.database = database
        (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func record(_ decision: Crm_Matching_V1_RecordedDecision) {
        pending.withLock { $0.append(decision) }
        wakeContinuation.yield()
    }

    /// Writes everything queued so far. A batch that could not be written goes back to the front of
    /// the queue (and the error to the caller), so a failed write loses no decision.
    func flush() async throws {
        let batch = pending.withLock { queue -> [Crm_Matching_V1_RecordedDecision] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        guard !batch.isEmpty else { return }
        do {
            try await database.write { db in
                let insert = try db.cachedStatement(sql: "INSERT INTO decision (customer_id, order_id, decided_at, body) VALUES (?, ?, ?, ?)")
                for decision in batch {
                    try insert.execute(arguments: [decision.customerID, decision.orderID, decision.decidedAt.unixMillis, try decision.serializedBytes() as Data])
                }
            }
        } catch {
            pending.withLock { $0.insert(contentsOf: batch, at: 0) }
            throw error
        }
    }

    /// Writes batches as decisions arrive until graceful shutdown, then what is left: by then the
    /// server has drained (the log is a handler dependency), so nothing more arrives.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in self.wake {
                do {
                    try await self.flush()
                } catch {
                    if Task.isCancelled { break }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        try await flush()
    }

    func decisions(customerID: String, orderID: String, limit: Int) async throws -> [Crm_Matching_V1_RecordedDecision] {
        try await flush()
        return try await database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if !customerID.isEmpty {
                conditions.append("customer_id = ?")
                _ = arguments.append(contentsOf: [customerID])
            }
            if !orderID.isEmpty {
                conditions.append("order_id = ?")
                _ = arguments.append(contentsOf: [orderID])
            }
            // The newest `limit` by time, with every decision tied with the last of them (the
            // order within a millisecond is by content, so the cut is the same on every replica).
            let matching = conditions.joined(separator: " AND ")
            let boundary = arguments + [limit - 1]
            let sql = """
                SELECT body FROM decision WHERE \(matching) AND decided_at >= COALESCE(
                    (SELECT decided_at FROM decision WHERE \(matching) ORDER BY decided_at DESC LIMIT 1 OFFSET ?), -9223372036854775808)
                """
            let decisions = try Data.fetchAll(db, sql: sql, arguments: arguments + boundary)
                .map { try Crm_Matching_V1_RecordedDecision(serializedBytes: $0) }
            return Array(decisions.sorted(by: Self.newestFirst).prefix(limit))
        }
    }

    /// The order ListDecisions answers in, the same on every replica: newest first, then by
    /// product, order and customer, then by the decision's bytes.
    static func newestFirst(_ a: Crm_Matching_V1_RecordedDecision, _ b: Crm_Matching_V1_RecordedDecision) -> Bool {
        if a.decidedAt.unixMillis != b.decidedAt.unixMillis { return a.decidedAt.unixMillis > b.decidedAt.unixMillis }
        let keys = ((a.productCode, a.orderID, a.customerID), (b.productCode, b.orderID, b.customerID))
        if keys.0 != keys.1 { return keys.0 < keys.1 }
        let bytes = ((try? a.serializedBytes() as [UInt8]) ?? [], (try? b.serializedBytes() as [UInt8]) ?? [])
        return bytes.0.lexicographicallyPrecedes(bytes.1)
    }
}
