import CRMPrimitives
import Foundation
import GRDB
import Logging

/// # CRMStore
///
/// How every service opens its SQLite file: one `DatabasePool` (WAL: readers never wait for the
/// writer) per file for the life of the process, versioned migrations run at start-up, and settings
/// chosen for a server that may be killed at any moment.
public enum SQLiteStore {
    /// Opens (creating if needed) the database at `path` and migrates it to the latest version.
    ///
    /// `synchronous = NORMAL` in WAL mode loses no committed transaction when the process is killed
    /// (the WAL is in the OS's hands once written); only a power cut can lose the last commits.
    /// A busy timeout lets a second process (a backup, an operator's sqlite3) hold a lock briefly.
    ///
    /// `maximumReaderCount` and `cacheKiB` (page cache per connection) are for a process holding
    /// many stores of one kind (a profiles process with a file per partition), which gives each a
    /// share.
    public static func open(path: String, migrator: DatabaseMigrator, logger: Logger? = nil, maximumReaderCount: Int = 8,
                            cacheKiB: Int = 65_536) throws -> DatabasePool {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = maximumReaderCount
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // 64 MiB of page cache per connection: index inserts at random keys stay in memory.
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        let applied = try pool.read { db in try migrator.appliedMigrations(db) }
        try migrator.migrate(pool)
        let now = try pool.read { db in try migrator.appliedMigrations(db) }
        if now.count > applied.count {
            logger?.info("migrated store", metadata: ["path": "\(path)", "applied": "\(now.dropFirst(applied.count).joined(separator: ","))"])
        }
        return pool
    }
}

extension DatabaseError {
    /// A UNIQUE or PRIMARY KEY constraint refused the write: the caller's "already exists".
    public var isUniqueViolation: Bool {
        extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
    }
}

/// Milliseconds since 1970, the one time unit stores and the wire use.
public func currentUnixMillis() -> Int64 {
    BusinessCalendar.currentUnixMillis()
}
