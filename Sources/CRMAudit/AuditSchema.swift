import GRDB

/// The audit trail's tables, in the service's own store beside its data, as versioned migrations
/// of their own (identifiers `audit-…` in the store's `grdb_migrations`), so every service gets the
/// same tables without restating them and a later change to them is a new migration, never an
/// edit. ``ServiceAssembly`` appends them to the service's migrator (they run, and are logged, with
/// the service's own at start-up); ``AuditTrail/init(database:settings:now:)`` applies them too,
/// which is a no-op on a store already migrated and makes a bare pool (the tests') usable.
///
/// - `audit_record`: one row per audited call, append-only; `hash` chains it to the row before, and
///   covers the customer ids the record names (`customers`).
/// - `audit_customer`: which records concern which customer (the index "who saw C0001318" reads);
///   derived from `customers`, written lazily (before a by-customer query, not with the record:
///   see ``AuditTrail``), and checked row by row against it by the verifier.
/// - `audit_index`: how far `audit_customer` has been brought: every record through
///   `through_sequence` has its rows, none after it has any.
/// - `audit_anchor`: the last record removed by retention, which the first remaining one chains from.
/// - `audit_export`: how far the trail has been exported; retention removes nothing beyond it.
public enum AuditSchema {
    /// The trail's migrations alone.
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        register(into: &migrator)
        return migrator
    }

    /// Appends the trail's migrations after those already in `migrator`.
    public static func register(into migrator: inout DatabaseMigrator) {
        // Stores made before this migration existed already hold these tables (the trail created
        // them itself with IF NOT EXISTS): IF NOT EXISTS keeps them opening, with their records.
        migrator.registerMigration("audit-v1-trail") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS audit_record (
                    sequence INTEGER PRIMARY KEY,
                    time_ms INTEGER NOT NULL,
                    principal TEXT NOT NULL,
                    roles TEXT NOT NULL,
                    peer TEXT NOT NULL,
                    certificate_subject TEXT NOT NULL,
                    method TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    customers BLOB NOT NULL,
                    aggregate_rule TEXT NOT NULL,
                    aggregate_count INTEGER,
                    unmasked INTEGER NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE INDEX IF NOT EXISTS audit_record_by_principal ON audit_record(principal, sequence);
                CREATE INDEX IF NOT EXISTS audit_record_by_time ON audit_record(time_ms);
                CREATE TABLE IF NOT EXISTS audit_customer (
                    customer_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    PRIMARY KEY (customer_id, sequence)
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS audit_anchor (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    sequence INTEGER NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE TABLE IF NOT EXISTS audit_export (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    through_sequence INTEGER NOT NULL
                );
                """)
        }
        // The verifier walks the customer index in record order beside the records (every row
        // checked against the customers its record names), and retention deletes it by sequence:
        // both read it by sequence, which its primary key (customer first) does not serve.
        migrator.registerMigration("audit-v2-customer-by-sequence") { db in
            try db.execute(sql: "CREATE INDEX audit_customer_by_sequence ON audit_customer(sequence, customer_id)")
        }
        // The customer index stops being written with each record (a bulk write named ~790
        // customers, each an index row: the trail halved ingestion) and is brought up to date
        // before a query by customer reads it. Until this migration every record was indexed as it
        // was written, so the index starts complete through the last record (or the anchor).
        migrator.registerMigration("audit-v3-customer-index-through") { db in
            try db.execute(sql: """
                CREATE TABLE audit_index (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    through_sequence INTEGER NOT NULL
                );
                INSERT INTO audit_index (id, through_sequence)
                SELECT 1, max(coalesce((SELECT max(sequence) FROM audit_record), 0), coalesce((SELECT sequence FROM audit_anchor WHERE id = 1), 0));
                """)
        }
    }
}
