import CustomerDimensions
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
        migrator.registerMigration("v2-history-events-feed") { db in
            try db.alter(table: "customer") { table in
                table.add(column: "birth_date", .text)
                table.add(column: "province", .text).notNull().defaults(to: "")
                table.add(column: "id_document_type", .text).notNull().defaults(to: "")
                table.add(column: "id_document_number", .text).notNull().defaults(to: "")
            }
            try db.create(table: "status_change") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("customer_id", .text).notNull().indexed()
                table.column("from_status", .integer).notNull()
                table.column("to_status", .integer).notNull()
                table.column("reason", .text).notNull()
                table.column("changed_at", .integer).notNull()
                table.column("changed_by", .text).notNull()
            }
            try db.create(table: "assessment") { table in
                table.column("customer_id", .text).notNull()
                table.column("sequence", .integer).notNull()
                table.column("body", .blob).notNull()  // crm.profiles.v1.SuitabilityAssessment
                table.primaryKey(["customer_id", "sequence"])
            }
            // Every ingested event, in the order it was applied (id). The body is the wire event's
            // protobuf encoding, so a rebuild re-reads exactly what was ingested.
            // A plain INTEGER PRIMARY KEY (rowid, never reused since events are never deleted) rather
            // than AUTOINCREMENT, which costs a sqlite_sequence update per row.
            try db.create(table: "event") { table in
                table.primaryKey("id", .integer)
                table.column("kind", .integer).notNull()
                table.column("idempotency_key", .text).notNull()
                table.column("customer_id", .text).notNull()
                table.column("day", .integer).notNull()
                table.column("at_millis", .integer).notNull()
                table.column("body", .blob).notNull()
                table.uniqueKey(["kind", "idempotency_key"])
            }
            // No index by customer: it would halve the ingestion rate. A rebuild reads the table in
            // order once; the 360 view's recent trades and contacts are kept by the updater.
            // Each customer's folded events and the dimensions and classes derived from them.
            try db.create(table: "customer_ledger") { table in
                table.primaryKey("customer_id", .text)
                table.column("ledger", .blob).notNull()
                table.column("dimensions", .blob).notNull()  // crm.profiles.v1.CustomerDimensions
                table.column("as_of", .integer).notNull()
                table.column("recent", .blob).notNull()  // crm.profiles.v1.Customer360: recent trades and contacts only
            }
            // How far the dimension updater has applied the event table.
            try db.create(table: "dimension_checkpoint") { table in
                table.primaryKey("id", .integer).check { $0 == 1 }
                table.column("last_event_id", .integer).notNull()
                table.column("last_change_sequence", .integer).notNull()
                table.column("business_day", .integer).notNull()
            }
            try db.execute(sql: "INSERT INTO dimension_checkpoint (id, last_event_id, last_change_sequence, business_day) VALUES (1, 0, 0, 0)")
            // The change feed: one total order of every change to a customer.
            try db.create(table: "change_log") { table in
                table.autoIncrementedPrimaryKey("sequence")
                table.column("kind", .integer).notNull()
                table.column("customer_id", .text).notNull()
                table.column("at_millis", .integer).notNull()
                table.column("body", .blob).notNull()  // crm.profiles.v1.ChangeEvent without its sequence
            }
            try db.create(table: "segment") { table in
                table.primaryKey("name", .text)
                table.column("rule", .text).notNull()
                table.column("description", .text).notNull()
                table.column("updated_at", .integer).notNull()
            }
        }
        // The dimensions move to their own table: readers of the dimensions alone (the in-memory
        // index at start-up, scans, the snapshot, the daily rollover) no longer walk every
        // customer's ledger, which SQLite stores before them in the same row (overflow pages).
        migrator.registerMigration("v3-dimensions-table") { db in
            try db.create(table: "customer_dimensions") { table in
                table.primaryKey("customer_id", .text)
                table.column("as_of", .integer).notNull()
                table.column("dimensions", .blob).notNull()  // StoredDimensions' binary form
            }
            try db.execute(sql: "INSERT INTO customer_dimensions (customer_id, as_of, dimensions) SELECT customer_id, as_of, dimensions FROM customer_ledger")
            try db.execute(sql: "ALTER TABLE customer_ledger DROP COLUMN dimensions")
            try db.execute(sql: "ALTER TABLE customer_ledger DROP COLUMN as_of")
            try db.create(index: "customer_dimensions_by_as_of", on: "customer_dimensions", columns: ["as_of"])
        }
        // Matching follows only the product views and service contacts of the event log, a small
        // share of it: without an index it would scan every trade and position after its cursor on
        // each poll. A partial index holds only those two kinds, so ingesting the others pays
        // nothing for it (EventLog.page reads through it for a filter within these kinds).
        migrator.registerMigration("v4-engagement-event-index") { db in
            try db.execute(sql: "CREATE INDEX event_engagement ON event(id) WHERE kind IN (\(EventLog.engagementKinds))")
        }
        // The firm's partition count, written once at the first start (PartitioningRecord): a
        // customer's partition is its id's hash modulo this count, so it may never change.
        migrator.registerMigration("v5-partitioning") { db in
            try db.create(table: "partitioning") { table in
                table.primaryKey("id", .integer).check { $0 == 1 }
                table.column("count", .integer).notNull()
                table.column("recorded_at", .integer).notNull()  // unix millis
            }
        }
        // Where the business day came from: '' when this store's own newest event set it, else the
        // name of the partition owner whose newer day this process adopted (docs/partitioning.md §2),
        // so Health can say why a process's windows end on a day none of its own events is on.
        migrator.registerMigration("v6-business-day-source") { db in
            try db.alter(table: "dimension_checkpoint") { table in
                table.add(column: "business_day_source", .text).notNull().defaults(to: "")
            }
        }
        // Partitions drained here for a move to another process (PartitionMoveRecord): kept in the
        // process's firm file, which does not move with them.
        migrator.registerMigration("v7-partition-move") { db in
            try db.create(table: "partition_move") { table in
                table.primaryKey("partition", .integer)
                table.column("to_owner", .text).notNull()
                table.column("drained_at", .integer).notNull()  // unix millis
            }
        }
        // The partition map last pushed with ReloadPartitionMap (PushedMapRecord): routed by at
        // start while the topology file is older.
        migrator.registerMigration("v8-partition-map-pushed") { db in
            try PushedMapRecord.migrate(db)
        }
        return migrator
    }
}
