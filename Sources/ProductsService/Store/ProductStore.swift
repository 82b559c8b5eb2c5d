import CRMProtos
import CRMStore
import Foundation
import GRDB

/// Reads and writes products and their version history. Every method is one transaction.
struct ProductStore: Sendable {
    let database: DatabasePool

    /// Stores `product` as the next version of its code, unless it equals the current version.
    ///
    /// Returns the current version afterwards and whether the code is new. The version and
    /// `updated_at` are set here; the caller's values are ignored. A changed status must be an
    /// allowed change (``ProductStatusRules``). The read, the checks and every write (current row,
    /// history, feed) share one write transaction, so concurrent upserts of one code get consecutive
    /// versions and a refused change writes nothing.
    func upsert(_ product: Crm_Products_V1_Product) async throws -> (Crm_Products_V1_Product, created: Bool) {
        let incoming = ProductVersioning.content(of: product)
        let now = currentUnixMillis()
        return try await database.write { db -> (Crm_Products_V1_Product, created: Bool) in
            let current = try Self.current(db, code: incoming.productCode)
            if let current, !ProductVersioning.hasChanges(from: current, to: incoming) {
                return (current, false)
            }
            if let current {
                try ProductStatusRules.check(from: current.status, to: incoming.status, productCode: incoming.productCode)
            }
            var stored = incoming
            stored.version = ProductVersioning.nextVersion(after: current?.version)
            stored.updatedAt = .with {
                $0.unixMillis = ProductVersioning.changeTime(now: now, previous: current?.updatedAt.unixMillis)
            }
            let tags = String(decoding: try JSONEncoder().encode(stored.tags), as: UTF8.self)
            let blob: Data = try stored.serializedBytes()
            try db.execute(
                sql: """
                INSERT INTO product (product_code, name, issuer, type, risk_level, status,
                  minimum_purchase_minor, minimum_purchase_currency, tags, version, updated_at, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(product_code) DO UPDATE SET
                  name = excluded.name, issuer = excluded.issuer, type = excluded.type,
                  risk_level = excluded.risk_level, status = excluded.status,
                  minimum_purchase_minor = excluded.minimum_purchase_minor,
                  minimum_purchase_currency = excluded.minimum_purchase_currency, tags = excluded.tags,
                  version = excluded.version, updated_at = excluded.updated_at, body = excluded.body
                """,
                arguments: [
                    stored.productCode, stored.name, stored.issuer, stored.type.rawValue, stored.riskLevel.rawValue,
                    stored.status.rawValue, stored.minimumPurchase.minorUnits, stored.minimumPurchase.currency, tags,
                    stored.version, stored.updatedAt.unixMillis, blob,
                ]
            )
            try db.execute(
                sql: """
                INSERT INTO product_version (product_code, version, risk_level, status, changed_at, product)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                arguments: [
                    stored.productCode, stored.version, stored.riskLevel.rawValue, stored.status.rawValue,
                    stored.updatedAt.unixMillis, blob,
                ]
            )
            let kind: Crm_Products_V1_ChangeKind
            if current == nil {
                kind = .productCreated
            } else if current?.status != stored.status {
                kind = .productStatusChanged
            } else {
                kind = .productUpdated
            }
            try ChangeLog.append(db, kind: kind, productCode: stored.productCode, at: stored.updatedAt.unixMillis) { $0.product = stored }
            return (stored, current == nil)
        }
    }

    /// The current version of a product, or nil for an unknown code.
    func product(code: String) async throws -> Crm_Products_V1_Product? {
        try await database.read { db in
            try Self.current(db, code: code)
        }
    }

    /// The version of a product in effect at `unixMillis` (the last one changed at or before it),
    /// or nil when the product did not exist yet.
    func product(code: String, asOf unixMillis: Int64) async throws -> Crm_Products_V1_Product? {
        try await database.read { db in
            let blob = try Data.fetchOne(
                db,
                sql: """
                SELECT product FROM product_version
                WHERE product_code = ? AND changed_at <= ?
                ORDER BY version DESC LIMIT 1
                """,
                arguments: [code, unixMillis]
            )
            return try blob.map { try Crm_Products_V1_Product(serializedBytes: $0) }
        }
    }

    /// Every version of a product, oldest first (empty for an unknown code).
    func versions(code: String) async throws -> [Crm_Products_V1_Product] {
        try await database.read { db in
            try Data.fetchAll(db, sql: "SELECT product FROM product_version WHERE product_code = ? ORDER BY version", arguments: [code])
                .map { try Crm_Products_V1_Product(serializedBytes: $0) }
        }
    }

    /// The current version of every product: what the in-memory catalogue is built from. Synchronous,
    /// for the service's start-up.
    func allCurrent() throws -> [Crm_Products_V1_Product] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM product ORDER BY product_code").map(Self.product(from:))
        }
    }

    // MARK: Row mapping (used by other stores in the same transaction)

    static func current(_ db: Database, code: String) throws -> Crm_Products_V1_Product? {
        try Row.fetchOne(db, sql: "SELECT * FROM product WHERE product_code = ?", arguments: [code]).map(product(from:))
    }

    /// The stored message when the row has one; rows written before `body` existed are read from
    /// their columns (the migration backfills them, so this is a safety net).
    private static func product(from row: Row) throws -> Crm_Products_V1_Product {
        if let body: Data = row["body"] {
            return try Crm_Products_V1_Product(serializedBytes: body)
        }
        var product = Crm_Products_V1_Product()
        product.productCode = row["product_code"]
        product.name = row["name"]
        product.issuer = row["issuer"]
        product.type = Crm_Products_V1_ProductType(rawValue: row["type"]) ?? .unspecified
        product.riskLevel = Crm_Common_V1_RiskLevel(rawValue: row["risk_level"]) ?? .unspecified
        product.status = Crm_Products_V1_ProductStatus(rawValue: row["status"]) ?? .unspecified
        product.minimumPurchase = .with {
            $0.minorUnits = row["minimum_purchase_minor"]
            $0.currency = row["minimum_purchase_currency"]
        }
        let tags: String = row["tags"]
        product.tags = try JSONDecoder().decode([String].self, from: Data(tags.utf8))
        product.version = row["version"]
        product.updatedAt = .with { $0.unixMillis = row["updated_at"] }
        return product
    }
}
