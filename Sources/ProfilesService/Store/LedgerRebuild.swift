import CRMProtos
import CustomerDimensions
import Foundation
import GRDB

/// Folds every stored event again, in order, into fresh ledgers and compares them with the ledgers
/// the updater maintained incrementally: the check that incremental and full computation agree.
enum LedgerRebuild {
    struct Report: Sendable {
        var customers = 0
        var mismatches: [String] = []
    }

    /// Reads the event table once (up to the updater's checkpoint, so both sides saw the same events).
    static func verify(_ db: Database) throws -> Report {
        let checkpoint = try Int64.fetchOne(db, sql: "SELECT last_event_id FROM dimension_checkpoint WHERE id = 1") ?? 0
        var rebuilt: [String: CustomerLedger] = [:]
        let cursor = try Row.fetchCursor(db, sql: "SELECT kind, customer_id, body FROM event WHERE id <= ? ORDER BY id", arguments: [checkpoint])
        while let row = try cursor.next() {
            guard let kind = EventKind(rawValue: row["kind"]), let event = try EventDecoding.decode(kind: kind, body: row["body"]) else { continue }
            rebuilt[row["customer_id"], default: CustomerLedger()].apply(event)
        }
        var report = Report()
        let stored = try Row.fetchCursor(db, sql: "SELECT customer_id, ledger FROM customer_ledger")
        var seen: Set<String> = []
        while let row = try stored.next() {
            let id: String = row["customer_id"]
            seen.insert(id)
            report.customers += 1
            let incremental = try CustomerLedger(serialized: [UInt8](row["ledger"] as Data))
            if incremental != (rebuilt[id] ?? CustomerLedger()) { report.mismatches.append(id) }
        }
        for id in rebuilt.keys where !seen.contains(id) {
            report.customers += 1
            report.mismatches.append(id)
        }
        return report
    }
}
