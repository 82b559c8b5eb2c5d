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
    /// `updated_at` are set here; the caller's values are ignored. The read, the comparison and
    /// both writes share one write transaction, so concurrent upserts of one code get consecutive
    /// versions.
    func upsert(_ product: Crm_Products_V1_Product) async throws -> (Crm_Products_V1_Product, created: Bool) {
        let incoming = ProductVersioning.content(of: product)
        let now = currentUnixMillis()
        return try await database.write { db -> (Crm_Products_V1_Product, created: Bool) in
            let current = try Self.current(db, code: incoming.productCode)
            if let current, !ProductVersioning.hasChanges(from: current, to: incoming) {
                return (current, false)
            }
            var stored = incoming
            stored.version = ProductVersioning.nextVersion(after: current?.version)
            stored.updatedAt = .with {
                $0.unixMillis = ProductVersioning.changeTime(now: now, previous: current?.updatedAt.unixMillis)
            }
            let tags = String(decoding: try JSONEncoder().encode(stored.tags), as: UTF8.self)
            try db.execute(
                sql: """
                INSERT INTO product (product_code, name, issuer, type, risk_level, status,
                  minimum_purchase_minor, minimum_purchase_currency, tags, version, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(product_code) DO UPDATE SET
                  name = excluded.name, issuer = excluded.issuer, type = excluded.type,
                  risk_level = excluded.risk_level, status = excluded.status,
                  minimum_purchase_minor = excluded.minimum_purchase_minor,
                  minimum_purchase_currency = excluded.minimum_purchase_currency, tags = excluded.tags,
                  version = excluded.version, updated_at = excluded.updated_at
                """,
                arguments: [
                    stored.productCode, stored.name, stored.issuer, stored.type.rawValue, stored.riskLevel.rawValue,
                    stored.status.rawValue, stored.minimumPurchase.minorUnits, stored.minimumPurchase.currency, tags,
                    stored.version, stored.updatedAt.unixMillis,
                ]
            )
            let blob: Data = try stored.serializedBytes()
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

    private static func current(_ db: Database, code: String) throws -> Crm_Products_V1_Product? {
        try Row.fetchOne(db, sql: "SELECT * FROM product WHERE product_code = ?", arguments: [code]).map(product(from:))
    }

    private static func product(from row: Row) throws -> Crm_Products_V1_Product {
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
