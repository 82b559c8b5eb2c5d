import GRDB

extension Database {
    /// Runs `body` with this connection's page cache limited to `kibibytes`, then hands the
    /// connection's cached pages back and restores its limit.
    ///
    /// A pooled connection keeps the pages of its last read (up to its cache size, 64 MiB by
    /// default) for as long as the pool keeps the connection, and SQLite's sorter takes as much
    /// again for an ORDER BY without an index before it spills to a temporary file. A long read
    /// that passes over a table once (matching's month of training rows) gains nothing from either
    /// being large, and at a million customers the two were most of what the replica's memory
    /// grew by in each month. Errors from `body` pass through; the cache is restored either way.
    public func withPageCache<T>(kibibytes: Int, _ body: () throws -> T) throws -> T {
        let previous = try Int.fetchOne(self, sql: "PRAGMA cache_size") ?? -65_536
        try execute(sql: "PRAGMA cache_size = -\(max(kibibytes, 64))")
        defer {
            try? execute(sql: "PRAGMA shrink_memory")
            try? execute(sql: "PRAGMA cache_size = \(previous)")
        }
        return try body()
    }
}
