import CRMProtos
import CRMRPC
import CustomerDimensions
import Foundation
import GRDB

/// Appends ingested events. A batch is one transaction: every event is checked against the
/// customers first, so a refused batch writes nothing; an event whose (kind, idempotency key) is
/// already stored is ignored and counted as a duplicate.
struct EventStore: Sendable {
    let database: DatabasePool

    struct Outcome: Sendable {
        var accepted = 0
        var duplicates = 0
        /// Largest event id written (0 when nothing new).
        var lastEventID: Int64 = 0
    }

    /// Stores `events` (all of one kind). `requireTradingStatus` refuses events of customers whose
    /// account may not trade (trades only).
    /// `within` runs last inside the batch's transaction (the call's audit record, written with
    /// the batch: one commit for both).
    func append(_ events: [StoredEvent], requireTradingStatus: Bool, within: (@Sendable (Database) throws -> Void)? = nil) async throws -> Outcome {
        try await database.write { db in
            try Self.checkCustomers(db, events.map(\.customerID), requireTradingStatus: requireTradingStatus)
            var outcome = Outcome()
            let statement = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO event (kind, idempotency_key, customer_id, day, at_millis, body) VALUES (?, ?, ?, ?, ?, ?)"
            )
            for event in events {
                try statement.execute(arguments: [event.kind.rawValue, event.key, event.customerID, event.day, event.atMillis, Data(event.body)])
                if db.changesCount > 0 {
                    outcome.accepted += 1
                    outcome.lastEventID = db.lastInsertedRowID
                } else {
                    outcome.duplicates += 1
                }
            }
            try within?(db)
            return outcome
        }
    }

    /// Every event's customer must exist; for trades, its account must be NORMAL. `customerIDs`
    /// are the events' customers in the batch's order (a refusal names `events[i]`). A process
    /// keeping a file per partition checks every file's part of a batch this way before any part
    /// is written (``PartitionForwarding``).
    static func checkCustomers(_ db: Database, _ customerIDs: [String], requireTradingStatus: Bool) throws {
        let statement = try db.cachedStatement(sql: "SELECT status FROM customer WHERE customer_id = ?")
        var known: [String: Int] = [:]
        var violations: [FieldViolation] = []
        var precondition: [FieldViolation] = []
        for (index, customerID) in customerIDs.enumerated() {
            let status: Int?
            if let cached = known[customerID] {
                status = cached
            } else {
                status = try Int.fetchOne(statement, arguments: [customerID])
                if let status { known[customerID] = status }
            }
            guard let status else {
                violations.append(FieldViolation(field: "events[\(index)].customer_id", description: "no customer \(customerID)"))
                if violations.count >= 50 { break }
                continue
            }
            if requireTradingStatus {
                let state = Crm_Profiles_V1_AccountStatus(rawValue: status) ?? .unspecified
                if !StatusRules.mayTrade(state) {
                    precondition.append(FieldViolation(field: "events[\(index)].customer_id", description: "customer \(customerID) is \(state.name) and cannot trade"))
                }
            }
        }
        if !violations.isEmpty {
            throw RPCError(.notFound, violations.map { "\($0.field): \($0.description)" }.joined(separator: "; "), fieldViolations: violations)
        }
        if !precondition.isEmpty {
            throw RPCError(.failedPrecondition, precondition.prefix(20).map { "\($0.field): \($0.description)" }.joined(separator: "; "), fieldViolations: Array(precondition.prefix(50)))
        }
    }

    /// Events after `afterID` in id order, at most `limit`: what the dimension updater folds next.
    static func events(_ db: Database, after afterID: Int64, limit: Int) throws -> [(id: Int64, kind: EventKind, customerID: String, body: Data)] {
        try Row.fetchAll(db, sql: "SELECT id, kind, customer_id, body FROM event WHERE id > ? ORDER BY id LIMIT ?", arguments: [afterID, limit]).compactMap { row in
            guard let kind = EventKind(rawValue: row["kind"]) else { return nil }
            return (row["id"], kind, row["customer_id"], row["body"])
        }
    }

    /// One customer's events in application order, for a rebuild.
    static func events(_ db: Database, customerID: String) throws -> [(kind: EventKind, body: Data)] {
        try Row.fetchAll(db, sql: "SELECT kind, body FROM event WHERE customer_id = ? ORDER BY id", arguments: [customerID]).compactMap { row in
            guard let kind = EventKind(rawValue: row["kind"]) else { return nil }
            return (kind, row["body"])
        }
    }
}
