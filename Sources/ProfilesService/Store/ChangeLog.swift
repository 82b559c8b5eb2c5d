import CRMProtos
import CRMServiceHost
import CRMStore
import CustomerDimensions
import Foundation
import GRDB

/// The change feed's table. Every writer appends inside its own transaction, so a change is in the
/// feed exactly when it is in the store, and sequence order is commit order.
enum ChangeLog {
    static func append(_ db: Database, kind: Crm_Profiles_V1_ChangeKind, customerID: String, fill: (inout Crm_Profiles_V1_ChangeEvent) -> Void) throws {
        try append(db, Entry(kind: kind, customerID: customerID, fill: fill))
    }

    /// A change encoded ahead of its write (the dimension updater computes outside the write lock).
    struct Entry: Sendable {
        let kind: Crm_Profiles_V1_ChangeKind
        let customerID: String
        let atMillis: Int64
        let body: Data

        init(kind: Crm_Profiles_V1_ChangeKind, customerID: String, fill: (inout Crm_Profiles_V1_ChangeEvent) -> Void) throws {
            var event = Crm_Profiles_V1_ChangeEvent()
            event.kind = kind
            event.customerID = customerID
            let now = currentUnixMillis()
            event.at = .with { $0.unixMillis = now }
            fill(&event)
            self.kind = kind
            self.customerID = customerID
            self.atMillis = now
            self.body = try event.serializedBytes()
        }
    }

    static func append(_ db: Database, _ entry: Entry) throws {
        try db.cachedStatement(sql: "INSERT INTO change_log (kind, customer_id, at_millis, body) VALUES (?, ?, ?, ?)")
            .execute(arguments: [entry.kind.rawValue, entry.customerID, entry.atMillis, entry.body])
    }

    /// The changes after `sequence`, at most `limit`, in order.
    static func changes(_ db: Database, after sequence: UInt64, limit: Int) throws -> [Crm_Profiles_V1_ChangeEvent] {
        try ChangeFeed.changes(db, after: sequence, limit: limit, as: Crm_Profiles_V1_ChangeEvent.self) { $0.sequence = $1 }
    }

    static func lastSequence(_ db: Database) throws -> UInt64 {
        try ChangeFeed.lastSequence(db)
    }
}
