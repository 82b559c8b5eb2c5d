import CRMProtos
import CustomerDimensions
import Foundation
import GRDB

/// Every customer's dimensions as they stood at the end of a past day, recomputed from the stored
/// events: what a model trained on history must see, so no information from after the fact leaks
/// into its training rows.
///
/// The incremental ledgers cannot answer this (they keep only the latest position and margin
/// snapshot), so the events on or before the day are folded again into fresh ledgers — one pass
/// over the event table per call, like the rebuild check. The assessment in force is the newest
/// one assessed on or before the day; status is the customer's current one (the status history is
/// not replayed).
enum PointInTimeDimensions {
    static func compute(
        _ db: Database, asOf: DayNumber, afterCustomer: String, limit: Int, classifier: Classifier
    ) throws -> [Crm_Profiles_V1_CustomerDimensions] {
        let customers = try Row.fetchAll(
            db, sql: "SELECT * FROM customer WHERE customer_id > ? ORDER BY customer_id LIMIT ?",
            arguments: [afterCustomer, limit]
        ).map(CustomerStore.customer(from:))
        guard let first = customers.first?.customerID, let last = customers.last?.customerID else { return [] }
        var ledgers: [String: CustomerLedger] = [:]
        let events = try Row.fetchCursor(
            db, sql: "SELECT kind, customer_id, body FROM event WHERE day <= ? AND customer_id BETWEEN ? AND ? ORDER BY id",
            arguments: [asOf, first, last]
        )
        while let row = try events.next() {
            guard let kind = EventKind(rawValue: row[0]), let event = try EventDecoding.decode(kind: kind, body: row[2]) else { continue }
            ledgers[row[1], default: CustomerLedger()].apply(event)
        }
        return try customers.map { customer in
            let facts = try DimensionUpdater.facts(db, customer: customer, assessedOnOrBefore: asOf)
            let values = DimensionEngine.compute(ledger: ledgers[customer.customerID] ?? CustomerLedger(), customer: facts, asOf: asOf)
            let stored = StoredDimensions.aligned(values, classes: classifier.classes(values, customer: facts))
            return stored.message(customerID: customer.customerID, schemes: DimensionsView.schemeNames)
        }
    }
}
