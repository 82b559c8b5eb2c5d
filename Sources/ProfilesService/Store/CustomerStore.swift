import CRMProtos
import CRMRPC
import CRMStore
import CustomerDimensions
import Foundation
import GRDB

/// Customers, their status history and their suitability assessments. Every write is one
/// transaction that also appends to the change feed.
struct CustomerStore: Sendable {
    let database: DatabasePool

    typealias Customer = Crm_Profiles_V1_Customer

    /// Inserts or updates a customer. A changed status must be an allowed change; it is recorded
    /// in the status history. Returns the stored row and whether it is new.
    func upsert(_ customer: Customer, reason: String, by principal: String) async throws -> (Customer, created: Bool) {
        try await database.write { db in
            var stored = customer
            let now = currentUnixMillis()
            stored.updatedAt = .with { $0.unixMillis = now }
            let existing = try Self.fetch(db, id: customer.customerID)
            if let existing {
                try StatusRules.check(from: existing.status, to: customer.status, customerID: customer.customerID)
            }
            try Self.write(db, stored)
            if existing == nil {
                try Self.recordStatus(db, id: stored.customerID, from: .unspecified, to: stored.status, reason: reason.isEmpty ? "created" : reason, by: principal, at: now)
                try ChangeLog.append(db, kind: .customerCreated, customerID: stored.customerID) { $0.customer = stored }
            } else if let existing, existing.status != stored.status {
                try Self.recordStatus(db, id: stored.customerID, from: existing.status, to: stored.status, reason: reason, by: principal, at: now)
                try ChangeLog.append(db, kind: .statusChanged, customerID: stored.customerID) { $0.customer = stored }
            } else {
                try ChangeLog.append(db, kind: .customerUpdated, customerID: stored.customerID) { $0.customer = stored }
            }
            return (stored, existing == nil)
        }
    }

    /// Applies a status change under the rules; opening a prospect sets its open date.
    func changeStatus(
        id: String,
        to newStatus: Crm_Profiles_V1_AccountStatus,
        reason: String,
        effectiveDate: Crm_Common_V1_Date?,
        by principal: String
    ) async throws -> (Customer, Crm_Profiles_V1_StatusChange) {
        try await database.write { db in
            guard var customer = try Self.fetch(db, id: id) else { throw RPCError(.notFound, "no customer \(id)") }
            guard customer.status != newStatus else {
                throw RPCError(.failedPrecondition, "customer \(id) is already \(newStatus.name)", fieldViolations: [FieldViolation(field: "new_status", description: "equals the current status")])
            }
            try StatusRules.check(from: customer.status, to: newStatus, customerID: id)
            let previous = customer.status
            if previous == .prospect, newStatus == .normal {
                guard let effectiveDate else {
                    throw RPCError.invalidArgument(field: "effective_date", "is required to open an account (it becomes the open date)")
                }
                customer.openDate = effectiveDate
            }
            customer.status = newStatus
            let now = currentUnixMillis()
            customer.updatedAt = .with { $0.unixMillis = now }
            try Self.write(db, customer)
            let change = try Self.recordStatus(db, id: id, from: previous, to: newStatus, reason: reason, by: principal, at: now)
            try ChangeLog.append(db, kind: .statusChanged, customerID: id) { $0.customer = customer }
            return (customer, change)
        }
    }

    /// Stores a new assessment as the customer's current one; earlier ones are kept.
    func recordAssessment(id: String, _ assessment: Crm_Profiles_V1_SuitabilityAssessment) async throws -> Crm_Profiles_V1_SuitabilityAssessment {
        try await database.write { db in
            guard try Self.fetch(db, id: id) != nil else { throw RPCError(.notFound, "no customer \(id)") }
            let last = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM assessment WHERE customer_id = ?", arguments: [id]) ?? 0
            var stored = assessment
            stored.sequence = UInt32(last + 1)
            let body: [UInt8] = try stored.serializedBytes()
            try db.execute(sql: "INSERT INTO assessment (customer_id, sequence, body) VALUES (?, ?, ?)", arguments: [id, stored.sequence, Data(body)])
            try ChangeLog.append(db, kind: .reassessed, customerID: id) { $0.assessment = stored }
            return stored
        }
    }

    func customer(id: String) async throws -> Customer? {
        try await database.read { db in try Self.fetch(db, id: id) }
    }

    /// Customers after `afterID` in id order, at most `limit`.
    func customers(after afterID: String, limit: Int) async throws -> [Customer] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM customer WHERE customer_id > ? ORDER BY customer_id LIMIT ?", arguments: [afterID, limit])
                .map(Self.customer(from:))
        }
    }

    // MARK: Row mapping (used by other stores in the same transaction)

    static func fetch(_ db: Database, id: String) throws -> Customer? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns()) FROM customer WHERE customer_id = ?"), arguments: [id])
            .map { customer(fromColumns: $0) }
    }

    static func statusHistory(_ db: Database, id: String) throws -> [Crm_Profiles_V1_StatusChange] {
        let select = try db.cachedStatement(sql: "SELECT from_status, to_status, reason, changed_at, changed_by FROM status_change WHERE customer_id = ? ORDER BY id")
        return try Row.fetchAll(select, arguments: [id]).map { row in
            .with {
                $0.fromStatus = .init(rawValue: row[0]) ?? .unspecified
                $0.toStatus = .init(rawValue: row[1]) ?? .unspecified
                $0.reason = row[2]
                $0.changedAt = .with { $0.unixMillis = row[3] }
                $0.changedBy = row[4]
            }
        }
    }

    static func assessments(_ db: Database, id: String) throws -> [Crm_Profiles_V1_SuitabilityAssessment] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT body FROM assessment WHERE customer_id = ? ORDER BY sequence"), arguments: [id]).map {
            try Crm_Profiles_V1_SuitabilityAssessment(serializedBytes: $0)
        }
    }

    static func write(_ db: Database, _ row: Customer) throws {
        try db.cachedStatement(
            sql: """
            INSERT INTO customer (customer_id, kind, name, branch_id, manager_id, channel, open_date, status, phone, email, updated_at,
                                  birth_date, province, id_document_type, id_document_number)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(customer_id) DO UPDATE SET
              kind = excluded.kind, name = excluded.name, branch_id = excluded.branch_id,
              manager_id = excluded.manager_id, channel = excluded.channel, open_date = excluded.open_date,
              status = excluded.status, phone = excluded.phone, email = excluded.email, updated_at = excluded.updated_at,
              birth_date = excluded.birth_date, province = excluded.province,
              id_document_type = excluded.id_document_type, id_document_number = excluded.id_document_number
            """
        ).execute(
            arguments: [
                row.customerID, row.kind.rawValue, row.name, row.branchID, row.managerID, row.channel,
                row.hasOpenDate ? row.openDate.isoString : nil, row.status.rawValue, row.phone, row.email,
                row.updatedAt.unixMillis, row.hasBirthDate ? row.birthDate.isoString : nil, row.province,
                row.idDocumentType, row.idDocumentNumber,
            ]
        )
    }

    @discardableResult
    static func recordStatus(
        _ db: Database, id: String, from: Crm_Profiles_V1_AccountStatus, to: Crm_Profiles_V1_AccountStatus,
        reason: String, by principal: String, at millis: Int64
    ) throws -> Crm_Profiles_V1_StatusChange {
        try db.cachedStatement(sql: "INSERT INTO status_change (customer_id, from_status, to_status, reason, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [id, from.rawValue, to.rawValue, reason, millis, principal])
        return .with {
            $0.fromStatus = from
            $0.toStatus = to
            $0.reason = reason
            $0.changedAt = .with { $0.unixMillis = millis }
            $0.changedBy = principal
        }
    }

    /// The customer table's columns in the order ``customer(fromColumns:at:)`` reads them. Readers
    /// of many rows select these and read by position: a lookup by name compares column names
    /// case-insensitively, once per column per row.
    static let columnNames = [
        "customer_id", "kind", "name", "branch_id", "manager_id", "channel", "open_date", "status", "phone", "email", "updated_at",
        "birth_date", "province", "id_document_type", "id_document_number",
    ]
    static var columnCount: Int { columnNames.count }

    /// ``columnNames`` for a SELECT list, qualified by `alias` when given.
    static func columns(_ alias: String? = nil) -> String {
        let prefix = alias.map { $0 + "." } ?? ""
        return columnNames.map { prefix + $0 }.joined(separator: ", ")
    }

    /// The customer in the ``columnNames`` columns of `row`, starting at `offset`.
    static func customer(fromColumns row: Row, at offset: Int = 0) -> Customer {
        var customer = Customer()
        customer.customerID = row[offset]
        customer.kind = Crm_Profiles_V1_CustomerKind(rawValue: row[offset + 1]) ?? .unspecified
        customer.name = row[offset + 2]
        customer.branchID = row[offset + 3]
        customer.managerID = row[offset + 4]
        customer.channel = row[offset + 5]
        if let date: String = row[offset + 6], let parsed = Crm_Common_V1_Date(isoString: date) {
            customer.openDate = parsed
        }
        customer.status = Crm_Profiles_V1_AccountStatus(rawValue: row[offset + 7]) ?? .unspecified
        customer.phone = row[offset + 8]
        customer.email = row[offset + 9]
        customer.updatedAt = .with { $0.unixMillis = row[offset + 10] }
        if let date: String = row[offset + 11], let parsed = Crm_Common_V1_Date(isoString: date) {
            customer.birthDate = parsed
        }
        customer.province = row[offset + 12]
        customer.idDocumentType = row[offset + 13]
        customer.idDocumentNumber = row[offset + 14]
        return customer
    }

    static func customer(from row: Row) -> Customer {
        var customer = Customer()
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
        if let date: String = row["birth_date"], let parsed = Crm_Common_V1_Date(isoString: date) {
            customer.birthDate = parsed
        }
        customer.province = row["province"]
        customer.idDocumentType = row["id_document_type"]
        customer.idDocumentNumber = row["id_document_number"]
        return customer
    }
}
