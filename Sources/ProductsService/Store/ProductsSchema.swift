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
        return migrator
    }
}
