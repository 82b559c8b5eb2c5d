import GRDB

/// The compensation store's schema, one migration per released change. Never edit a migration that
/// has shipped: add the next one.
enum CompensationSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-client-managers") { db in
            try db.create(table: "client_manager") { table in
                table.primaryKey("manager_id", .text)
                table.column("name", .text).notNull()
                table.column("branch_id", .text).notNull()
                table.column("team_id", .text).notNull().defaults(to: "")
                table.column("grade", .text).notNull().defaults(to: "")
                table.column("status", .integer).notNull()
                table.column("updated_at", .integer).notNull()  // unix millis
            }
            try db.create(index: "client_manager_by_branch", on: "client_manager", columns: ["branch_id"])
        }
        return migrator
    }
}
