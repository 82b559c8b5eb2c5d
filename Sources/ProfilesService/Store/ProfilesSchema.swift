import GRDB

/// The profiles store's schema, one migration per released change. Never edit a migration that has
/// shipped: add the next one.
enum ProfilesSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-customers") { db in
            try db.create(table: "customer") { table in
                table.primaryKey("customer_id", .text)
                table.column("kind", .integer).notNull()
                table.column("name", .text).notNull()
                table.column("branch_id", .text).notNull().defaults(to: "")
                table.column("manager_id", .text).notNull().defaults(to: "")
                table.column("channel", .text).notNull().defaults(to: "")
                table.column("open_date", .text)  // ISO yyyy-mm-dd, null for prospects
                table.column("status", .integer).notNull()
                table.column("phone", .text).notNull().defaults(to: "")
                table.column("email", .text).notNull().defaults(to: "")
                table.column("updated_at", .integer).notNull()  // unix millis
            }
            try db.create(index: "customer_by_manager", on: "customer", columns: ["manager_id"])
            try db.create(index: "customer_by_branch", on: "customer", columns: ["branch_id"])
        }
        return migrator
    }
}
