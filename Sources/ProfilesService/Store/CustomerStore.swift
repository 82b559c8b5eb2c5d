import CRMProtos
import CRMStore
import Foundation
import GRDB

/// Reads and writes customers. Every method is one transaction.
struct CustomerStore: Sendable {
    let database: DatabasePool

    /// Inserts or replaces a customer; returns the stored row and whether it is new.
    func upsert(_ customer: Crm_Profiles_V1_Customer) async throws -> (Crm_Profiles_V1_Customer, created: Bool) {
        var stored = customer
        stored.updatedAt = .with { $0.unixMillis = currentUnixMillis() }
        let row = stored
        let created = try await database.write { db -> Bool in
            let existed = try Bool.fetchOne(db, sql: "SELECT 1 FROM customer WHERE customer_id = ?", arguments: [row.customerID]) ?? false
            try db.execute(
                sql: """
                INSERT INTO customer (customer_id, kind, name, branch_id, manager_id, channel, open_date, status, phone, email, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(customer_id) DO UPDATE SET
                  kind = excluded.kind, name = excluded.name, branch_id = excluded.branch_id,
                  manager_id = excluded.manager_id, channel = excluded.channel, open_date = excluded.open_date,
                  status = excluded.status, phone = excluded.phone, email = excluded.email, updated_at = excluded.updated_at
                """,
                arguments: [
                    row.customerID, row.kind.rawValue, row.name, row.branchID, row.managerID, row.channel,
                    row.hasOpenDate ? row.openDate.isoString : nil, row.status.rawValue, row.phone, row.email,
                    row.updatedAt.unixMillis,
                ]
            )
            return !existed
        }
        return (stored, created)
    }

    func customer(id: String) async throws -> Crm_Profiles_V1_Customer? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM customer WHERE customer_id = ?", arguments: [id]).map(Self.customer(from:))
        }
    }

    /// Customers after `afterID` in id order, at most `limit`.
    func customers(after afterID: String, limit: Int) async throws -> [Crm_Profiles_V1_Customer] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM customer WHERE customer_id > ? ORDER BY customer_id LIMIT ?",
                arguments: [afterID, limit]
            ).map(Self.customer(from:))
        }
    }

    private static func customer(from row: Row) -> Crm_Profiles_V1_Customer {
        var customer = Crm_Profiles_V1_Customer()
        customer.customerID = row["customer_id"]
        customer.kind = Crm_Profiles_V1_CustomerKind(rawValue: row["kind"]) ?? .unspecified
        customer.name = row["name"]
        customer.branchID = row["branch_id"]
        customer.managerID = row["manager_id"]
        customer.channel = row["channel"]
        if let date: String = row["open_date"], let parsed = Crm_Common_V1_Date(isoString: date) {
            customer.openDate = parsed
        }
        customer.status = Crm_Profiles_V1_AccountStatus(rawValue: row["status"]) ?? .unspecified
        customer.phone = row["phone"]
        customer.email = row["email"]
        customer.updatedAt = .with { $0.unixMillis = row["updated_at"] }
        return customer
    }
}
