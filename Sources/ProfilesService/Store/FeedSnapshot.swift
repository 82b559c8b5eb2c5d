import CRMProtos
import CustomerDimensions
import Foundation
import GRDB

/// Every customer's current state, for a consumer starting from nothing (`StreamSnapshot`): the
/// record, the latest assessment and every dimension value, read a page per transaction together
/// with the change feed's last sequence in that transaction. A consumer that applies the pages and
/// then follows the feed after the smallest of those sequences ends where a consumer that replayed
/// the whole feed would, without reading years of daily dimension deltas.
enum FeedSnapshot {
    static let page = 2_000

    /// Up to `limit` entries after `afterCustomerID`, in customer id order.
    static func page(_ db: Database, after afterCustomerID: String, limit: Int) throws -> [Crm_Profiles_V1_SnapshotEntry] {
        let sequence = try ChangeLog.lastSequence(db)
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: """
                SELECT c.*, d.dimensions AS dims,
                       (SELECT a.body FROM assessment a WHERE a.customer_id = c.customer_id ORDER BY a.sequence DESC LIMIT 1) AS latest_assessment
                FROM customer c LEFT JOIN customer_dimensions d ON d.customer_id = c.customer_id
                WHERE c.customer_id > ? ORDER BY c.customer_id LIMIT ?
                """),
            arguments: [afterCustomerID, limit]
        )
        var entries: [Crm_Profiles_V1_SnapshotEntry] = []
        entries.reserveCapacity(limit)
        while let row = try rows.next() {
            var entry = Crm_Profiles_V1_SnapshotEntry()
            entry.sequence = sequence
            entry.customer = CustomerStore.customer(from: row)
            if let assessment = row["latest_assessment"] as Data? {
                entry.assessment = try Crm_Profiles_V1_SuitabilityAssessment(serializedBytes: assessment)
            }
            if let dimensions = row["dims"] as Data? {
                entry.dimensions = try StoredDimensions(serialized: dimensions)
                    .message(customerID: entry.customer.customerID, schemes: DimensionsView.schemeNames, positional: true)
            }
            entries.append(entry)
        }
        return entries
    }
}
