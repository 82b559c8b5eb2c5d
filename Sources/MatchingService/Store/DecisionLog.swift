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
            _ = arguments.append(contentsOf: [limit])
            return try Data.fetchAll(db, sql: "SELECT body FROM decision WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?", arguments: arguments)
                .map { try Crm_Matching_V1_RecordedDecision(serializedBytes: $0) }
        }
    }
}
