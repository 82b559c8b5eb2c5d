import CRMProtos
import CRMServiceHost
import CRMStore
import Foundation
import GRDB

/// The change feed's table. Every writer appends inside its own transaction, so a change is in the
/// feed exactly when it is in the store, and sequence order is commit order.
enum ChangeLog {
    static func append(
        _ db: Database,
        kind: Crm_Products_V1_ChangeKind,
        productCode: String,
        customerID: String = "",
        at millis: Int64 = currentUnixMillis(),
        fill: (inout Crm_Products_V1_ChangeEvent) -> Void
    ) throws {
        var event = Crm_Products_V1_ChangeEvent()
        event.kind = kind
        event.productCode = productCode
        event.customerID = customerID
        event.at = .with { $0.unixMillis = millis }
        fill(&event)
        let body: [UInt8] = try event.serializedBytes()
        try db.execute(
            sql: "INSERT INTO change_log (kind, product_code, customer_id, at_millis, body) VALUES (?, ?, ?, ?, ?)",
            arguments: [kind.rawValue, productCode, customerID, millis, Data(body)]
        )
    }

    /// The changes after `sequence`, at most `limit`, in order.
    static func changes(_ db: Database, after sequence: UInt64, limit: Int) throws -> [Crm_Products_V1_ChangeEvent] {
        try ChangeFeed.changes(db, after: sequence, limit: limit, as: Crm_Products_V1_ChangeEvent.self) { $0.sequence = $1 }
    }

    static func lastSequence(_ db: Database) throws -> UInt64 {
        try ChangeFeed.lastSequence(db)
    }
}
