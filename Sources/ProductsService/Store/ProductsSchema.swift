import CRMProtos
import Foundation
import GRDB

/// The products store's schema, one migration per released change. Never edit a migration that has
/// shipped: add the next one.
enum ProductsSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-products") { db in
            // The current version of each product.
            try db.create(table: "product") { table in
                table.primaryKey("product_code", .text)
                table.column("name", .text).notNull()
                table.column("issuer", .text).notNull().defaults(to: "")
                table.column("type", .integer).notNull()
                table.column("risk_level", .integer).notNull()
                table.column("status", .integer).notNull()
                table.column("minimum_purchase_minor", .integer).notNull().defaults(to: 0)
                table.column("minimum_purchase_currency", .text).notNull().defaults(to: "")  // empty = CNY
                table.column("tags", .text).notNull().defaults(to: "[]")  // JSON array of strings
                table.column("version", .integer).notNull()
                table.column("updated_at", .integer).notNull()  // unix millis
            }
            // Every version ever stored, for "what was the risk level at time T". Rows are only
            // inserted, never updated or deleted; changed_at grows with version for each product.
            try db.create(table: "product_version") { table in
                table.column("product_code", .text).notNull()
                table.column("version", .integer).notNull()
                table.column("risk_level", .integer).notNull()
                table.column("status", .integer).notNull()
                table.column("changed_at", .integer).notNull()  // unix millis
                table.column("product", .blob).notNull()  // the full crm.products.v1.Product
                table.primaryKey(["product_code", "version"])
            }
        }
        migrator.registerMigration("v2-library-sales") { db in
            // The full current version (crm.products.v1.Product), so fields added to the message need
            // no new column; the columns above stay for SQL readers. Backfilled from the history.
            try db.alter(table: "product") { table in
                table.add(column: "body", .blob)
            }
            try db.execute(sql: """
                UPDATE product SET body = (SELECT v.product FROM product_version v
                                           WHERE v.product_code = product.product_code AND v.version = product.version)
                """)
            // The change feed: products, templates, contracts, orders and package subscriptions in one
            // total order (commit order). Rows are only appended.
            try db.create(table: "change_log") { table in
                table.autoIncrementedPrimaryKey("sequence")
                table.column("kind", .integer).notNull()
                table.column("product_code", .text).notNull()
                table.column("customer_id", .text).notNull()
                table.column("at_millis", .integer).notNull()
                table.column("body", .blob).notNull()  // crm.products.v1.ChangeEvent without its sequence
            }
            // Versions stored before the feed existed enter it in their order, so a consumer starting
            // from 0 sees the whole library.
            let history = try Row.fetchAll(db, sql: "SELECT product_code, version, changed_at, product FROM product_version ORDER BY changed_at, product_code, version")
            for row in history {
                let product = try Crm_Products_V1_Product(serializedBytes: row["product"] as Data)
                let version: Int64 = row["version"]
                let millis: Int64 = row["changed_at"]
                let kind: Crm_Products_V1_ChangeKind = version == 1 ? .productCreated : .productUpdated
                try ChangeLog.append(db, kind: kind, productCode: product.productCode, at: millis) { $0.product = product }
            }
            // Every version of every product's contract template; never updated.
            try db.create(table: "contract_template") { table in
                table.column("product_code", .text).notNull()
                table.column("version", .integer).notNull()
                table.column("created_at", .integer).notNull()  // unix millis
                table.column("body", .blob).notNull()  // crm.products.v1.ContractTemplate
                table.primaryKey(["product_code", "version"])
            }
            // Signed contracts: the exact text and its SHA-256, immutable (the triggers refuse any
            // change, so even a bug here cannot rewrite a signature).
            try db.create(table: "signed_contract") { table in
                table.autoIncrementedPrimaryKey("contract_id")
                table.column("customer_id", .text).notNull()
                table.column("product_code", .text).notNull()
                table.column("template_version", .integer).notNull()
                table.column("channel", .integer).notNull()
                table.column("confirmed_disclosures", .text).notNull()  // JSON array of disclosure ids
                table.column("mismatch_confirmed", .boolean).notNull()
                table.column("signed_at", .integer).notNull()  // unix millis
                table.column("signed_text", .text).notNull()
                table.column("sha256", .text).notNull()  // lower-case hex of SHA-256(signed_text as UTF-8)
            }
            try db.create(index: "signed_contract_by_customer", on: "signed_contract", columns: ["customer_id", "product_code", "contract_id"])
            try db.execute(sql: """
                CREATE TRIGGER signed_contract_immutable BEFORE UPDATE ON signed_contract
                BEGIN SELECT RAISE(ABORT, 'signed contracts are immutable'); END;
                CREATE TRIGGER signed_contract_kept BEFORE DELETE ON signed_contract
                BEGIN SELECT RAISE(ABORT, 'signed contracts are never deleted'); END;
                """)
            // Accepted orders, keyed by the caller's order id (the idempotency key).
            try db.create(table: "product_order") { table in
                table.primaryKey("order_id", .text)
                table.column("customer_id", .text).notNull()
                table.column("product_code", .text).notNull()
                table.column("side", .integer).notNull()
                table.column("amount_minor", .integer).notNull()
                table.column("currency", .text).notNull()
                table.column("channel", .integer).notNull()
                table.column("manager_id", .text).notNull()
                table.column("contract_id", .integer).notNull()
                table.column("accepted_at", .integer).notNull()  // unix millis
                table.column("body", .blob).notNull()  // crm.products.v1.Order
            }
            try db.create(index: "product_order_by_customer", on: "product_order", columns: ["customer_id", "accepted_at"])
            // Advisory-package subscriptions, one per customer and package.
            try db.create(table: "package_subscription") { table in
                table.column("customer_id", .text).notNull()
                table.column("package_code", .text).notNull()
                table.column("subscribed_at", .integer).notNull()  // unix millis
                table.column("body", .blob).notNull()  // crm.products.v1.PackageSubscription
                table.primaryKey(["customer_id", "package_code"])
            }
        }
        return migrator
    }
}
