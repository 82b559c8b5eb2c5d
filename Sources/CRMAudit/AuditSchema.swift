import GRDB

/// The audit trail's tables, in the service's own store beside its data. Created by the trail
/// itself (``AuditTrail/init(database:settings:)``) rather than by each service's migrator, so every
/// service gets the same tables without restating them; `IF NOT EXISTS` makes it idempotent.
///
/// - `audit_record`: one row per audited call, append-only; `hash` chains it to the row before.
/// - `audit_customer`: which records concern which customer (the index "who saw C0001318" reads);
///   derived from the records, and checked against them by the verifier.
/// - `audit_anchor`: the last record removed by retention, which the first remaining one chains from.
/// - `audit_export`: how far the trail has been exported; retention removes nothing beyond it.
enum AuditSchema {
    static func create(_ db: Database) throws {
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
}
