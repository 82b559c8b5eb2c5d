import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore
import Foundation
import GRDB

/// Contract templates (versioned per product) and signed contracts (immutable). Every write is one
/// transaction that also appends to the change feed.
struct ContractStore: Sendable {
    let database: DatabasePool

    typealias Template = Crm_Products_V1_ContractTemplate
    typealias Contract = Crm_Products_V1_SignedContract

    /// Stores `template` as its product's next version, unless it equals the latest one. The product
    /// must exist (NOT_FOUND, `template.product_code`).
    func putTemplate(_ template: Template) async throws -> (Template, created: Bool) {
        let content = ContractValidation.content(of: template)
        let now = currentUnixMillis()
        return try await database.write { db -> (Template, created: Bool) in
            guard try ProductStore.current(db, code: content.productCode) != nil else {
                throw Refusal.refused(.notFound, field: "template.product_code", "no product \(content.productCode)")
            }
            let latest = try Self.template(db, productCode: content.productCode, version: 0)
            if let latest, ContractValidation.content(of: latest) == content {
                return (latest, false)
            }
            var stored = content
            stored.version = (latest?.version ?? 0) + 1
            stored.createdAt = .with { $0.unixMillis = now }
            let body: Data = try stored.serializedBytes()
            try db.execute(
                sql: "INSERT INTO contract_template (product_code, version, created_at, body) VALUES (?, ?, ?, ?)",
                arguments: [stored.productCode, stored.version, now, body]
            )
            try ChangeLog.append(db, kind: .templatePut, productCode: stored.productCode, at: now) { $0.template = stored }
            return (stored, true)
        }
    }

    /// A template version, or the latest when `version` is 0; nil when there is none.
    func template(productCode: String, version: UInt32) async throws -> Template? {
        try await database.read { db in try Self.template(db, productCode: productCode, version: version) }
    }

    /// Stores a signed contract (text and hash already made) and returns it with its id.
    func sign(_ contract: Contract) async throws -> Contract {
        try await database.write { db in
            let confirmed = String(decoding: try JSONEncoder().encode(contract.confirmedDisclosureIds), as: UTF8.self)
            try db.execute(
                sql: """
                INSERT INTO signed_contract (customer_id, product_code, template_version, channel, confirmed_disclosures,
                                             mismatch_confirmed, signed_at, signed_text, sha256)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                arguments: [
                    contract.customerID, contract.productCode, contract.templateVersion, contract.channel.rawValue, confirmed,
                    contract.mismatchConfirmed, contract.signedAt.unixMillis, contract.signedText, contract.sha256,
                ]
            )
            var stored = contract
            stored.contractID = UInt64(db.lastInsertedRowID)
            var summary = stored
            summary.signedText = ""
            try ChangeLog.append(db, kind: .contractSigned, productCode: stored.productCode, customerID: stored.customerID,
                                 at: stored.signedAt.unixMillis) { $0.contract = summary }
            return stored
        }
    }

    func contract(id: UInt64) async throws -> Contract? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM signed_contract WHERE contract_id = ?", arguments: [Int64(clamping: id)])
                .map(Self.contract(from:))
        }
    }

    /// The customer's most recent contract for the product, or nil when they signed none.
    func latestContract(customerID: String, productCode: String) async throws -> Contract? {
        try await database.read { db in try Self.latestContract(db, customerID: customerID, productCode: productCode) }
    }

    // MARK: Row mapping (used by other stores in the same transaction)

    static func latestContract(_ db: Database, customerID: String, productCode: String) throws -> Contract? {
        try Row.fetchOne(
            db,
            sql: "SELECT * FROM signed_contract WHERE customer_id = ? AND product_code = ? ORDER BY contract_id DESC LIMIT 1",
            arguments: [customerID, productCode]
        ).map(contract(from:))
    }

    static func template(_ db: Database, productCode: String, version: UInt32) throws -> Template? {
        let body: Data?
        if version == 0 {
            body = try Data.fetchOne(db, sql: "SELECT body FROM contract_template WHERE product_code = ? ORDER BY version DESC LIMIT 1", arguments: [productCode])
        } else {
            body = try Data.fetchOne(db, sql: "SELECT body FROM contract_template WHERE product_code = ? AND version = ?", arguments: [productCode, version])
        }
        return try body.map { try Template(serializedBytes: $0) }
    }

    private static func contract(from row: Row) throws -> Contract {
        var contract = Contract()
        contract.contractID = UInt64(row["contract_id"] as Int64)
        contract.customerID = row["customer_id"]
        contract.productCode = row["product_code"]
        contract.templateVersion = row["template_version"]
        contract.channel = Crm_Products_V1_SalesChannel(rawValue: row["channel"]) ?? .unspecified
        let confirmed: String = row["confirmed_disclosures"]
        contract.confirmedDisclosureIds = try JSONDecoder().decode([String].self, from: Data(confirmed.utf8))
        contract.mismatchConfirmed = row["mismatch_confirmed"]
        contract.signedAt = .with { $0.unixMillis = row["signed_at"] }
        contract.signedText = row["signed_text"]
        contract.sha256 = row["sha256"]
        return contract
    }
}
