import CRMPartitions
import CRMServiceHost
import CRMStore
import Foundation
import GRDB
import Logging

/// Turns a profiles store that keeps every partition in one file into a file per partition
/// (`crm-profiles split-partitions`; docs/partitioning.md §3), with the service stopped.
///
/// Every customer-keyed row goes to its partition's file as it is — the same event ids and change
/// sequences (each file's log and feed are its part of the one file's, gaps and all), the same
/// folded ledgers and dimensions — and every file gets the store's updater checkpoint, which is
/// right for each part (the events and changes up to it were folded, the business day is the
/// firm's). So a split process serves the same answers at once, with nothing to recompute.
/// Consumers follow the new per-partition feeds under new cursors from the start: what they read
/// again they recognise (matching and compensation key events by identity and replace customers
/// whole), so nothing counts twice; they only spend the time.
///
/// Crash-safe: the files are written in `<store>.partitions.splitting/`, which becomes
/// `<store>.partitions/` only when every file is complete; the store's own customer rows are
/// deleted last. A run that finds the directory complete and the store still holding customers
/// checks that every partition's counts match and finishes the deletion.
public enum PartitionSplit {
    /// What a split wrote.
    public struct Report: Sendable, CustomStringConvertible {
        public var files = 0
        public var rows: [String: Int] = [:]

        public var description: String {
            "\(files) partition files; rows moved: " + PartitionSplit.tables.map { "\($0) \(rows[$0, default: 0])" }.joined(separator: ", ")
        }
    }

    /// The tables of customer-keyed rows, each with its customer column, in the order they are copied.
    static let tables = ["customer", "status_change", "assessment", "customer_ledger", "customer_dimensions", "change_log", "event"]

    /// Rows copied per transaction of one partition's file.
    static let batchRows = 5_000

    /// Splits the store at `storePath` (which the profiles service has migrated: its partition
    /// count is recorded) into a file per partition that holds customers.
    public static func split(storePath: String, logger: Logger) throws -> Report {
        guard FileManager.default.fileExists(atPath: storePath) else {
            throw ConfigurationError("no profiles store at \(storePath)")
        }
        let store = try DatabasePool(path: storePath)
        defer { try? store.close() }
        let (applied, count) = try store.read { db -> (Set<String>, Int?) in
            (try Set(String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")),
             try Int.fetchOne(db, sql: "SELECT count FROM partitioning WHERE id = 1"))
        }
        let missing = ProfilesSchema.migrator.migrations.filter { !applied.contains($0) }
        guard missing.isEmpty, let count else {
            throw ConfigurationError("\(storePath) is not at this version's schema or has no partition count yet "
                + "(missing: \(missing.joined(separator: ", "))): start this crm-profiles once on it, stop it, then split")
        }
        let partitioning = try Partitioning(count: count)
        let finished = ProfilesCores.directory(ofStore: storePath)
        let splitting = URL(fileURLWithPath: finished.path + ".splitting", isDirectory: true)
        let manager = FileManager.default

        if manager.fileExists(atPath: finished.path) {
            let held = try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM customer LIMIT 1)") ?? 0 }
            guard held > 0 else {
                throw ConfigurationError("\(storePath) is split already: its partitions are in \(finished.path)")
            }
            // A run that got past the rename: finish it if the files hold exactly the store's rows.
            let report = try verify(store: store, directory: finished, partitioning: partitioning)
            try clear(store)
            logger.info("finished an earlier split: the store's customer rows deleted", metadata: ["files": "\(report.files)"])
            return report
        }
        try? manager.removeItem(at: splitting)
        try manager.createDirectory(at: splitting, withIntermediateDirectories: true)
        var report = Report()
        var files: [Int: DatabasePool] = [:]
        func file(_ partition: Int) throws -> DatabasePool {
            if let pool = files[partition] { return pool }
            let pool = try SQLiteStore.open(path: ProfilesCores.file(of: partition, in: splitting).path,
                                            migrator: ProfilesSchema.migrator, maximumReaderCount: 1, cacheKiB: 2_048)
            files[partition] = pool
            return pool
        }
        // Every file first gets the store's checkpoint; a partition without customers gets no file
        // (the service creates an empty one for each partition it owns).
        let partitionsHeld = try store.read { db in
            try Set(String.fetchAll(db, sql: "SELECT customer_id FROM customer").map { partitioning.partition(of: $0) })
        }
        let checkpoint = try store.read { db in try Row.fetchOne(db, sql: "SELECT * FROM dimension_checkpoint WHERE id = 1") }
        for partition in partitionsHeld.sorted() {
            try file(partition).write { db in
                if let checkpoint {
                    try db.execute(sql: "DELETE FROM dimension_checkpoint")
                    try insert(db, table: "dimension_checkpoint", row: checkpoint)
                }
            }
        }
        for table in tables {
            var buffers: [Int: [Row]] = [:]
            func flush(_ partition: Int) throws {
                guard let rows = buffers[partition], !rows.isEmpty else { return }
                guard partitionsHeld.contains(partition) else {
                    throw ConfigurationError("\(table) holds rows of a customer of partition \(partition), which no customer record is in")
                }
                try file(partition).write { db in
                    for row in rows { try insert(db, table: table, row: row) }
                }
                report.rows[table, default: 0] += rows.count
                buffers[partition] = []
            }
            try store.read { db in
                let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(table)")
                while let row = try rows.next() {
                    let customer: String = row["customer_id"]
                    let partition = partitioning.partition(of: customer)
                    buffers[partition, default: []].append(row.copy())
                    if buffers[partition, default: []].count >= batchRows { try flush(partition) }
                }
            }
            for partition in buffers.keys.sorted() { try flush(partition) }
            logger.info("split a table into the partition files", metadata: ["table": "\(table)", "rows": "\(report.rows[table, default: 0])"])
        }
        for pool in files.values {
            try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try pool.close()
        }
        report.files = files.count
        try manager.moveItem(at: splitting, to: finished)
        try clear(store)
        return report
    }

    /// Inserts `row` into `table` by its column names.
    private static func insert(_ db: Database, table: String, row: Row) throws {
        let columns = Array(row.columnNames)
        let statement = try db.cachedStatement(
            sql: "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))")
        try statement.execute(arguments: StatementArguments(row.databaseValues))
    }

    /// Checks that the files in `directory` hold, per partition, as many rows of every table as
    /// the store does; throws naming the first difference.
    private static func verify(store: DatabasePool, directory: URL, partitioning: Partitioning) throws -> Report {
        var report = Report()
        var expected: [String: [Int: Int]] = [:]
        try store.read { db in
            for table in tables {
                let ids = try String.fetchCursor(db, sql: "SELECT customer_id FROM \(table)")
                while let id = try ids.next() { expected[table, default: [:]][partitioning.partition(of: id), default: 0] += 1 }
            }
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sqlite") }
        report.files = names.count
        for partition in 0..<partitioning.count {
            let path = ProfilesCores.file(of: partition, in: directory).path
            let held = FileManager.default.fileExists(atPath: path)
            for table in tables {
                let want = expected[table]?[partition] ?? 0
                let have = held ? try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 } : 0
                guard want == have else {
                    throw ConfigurationError("\(directory.path) is not a complete split of the store: partition \(partition) has \(have) rows of \(table), "
                        + "the store \(want); move the directory aside and split again")
                }
                report.rows[table, default: 0] += have
            }
        }
        return report
    }

    /// Deletes the store's customer-keyed rows (they live in the partition files now).
    private static func clear(_ store: DatabasePool) throws {
        try store.write { db in
            for table in tables.reversed() { try db.execute(sql: "DELETE FROM \(table)") }
        }
    }
}
