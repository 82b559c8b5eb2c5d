import GRDB

/// The matching store's schema, one migration per released change. Never edit a migration that has
/// shipped: add the next one.
enum MatchingSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-campaigns") { db in
            try db.create(table: "campaign") { table in
                table.primaryKey("campaign_id", .text)
                table.column("product_code", .text).notNull()
                table.column("name", .text).notNull()
                table.column("created_at", .integer).notNull()  // unix millis
            }
            try db.create(index: "campaign_by_product", on: "campaign", columns: ["product_code"])
        }
        return migrator
    }
}
