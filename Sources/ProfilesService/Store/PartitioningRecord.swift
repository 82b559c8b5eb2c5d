import CRMPartitions
import CRMServiceHost
import CRMStore
import GRDB

/// The firm's partition count, recorded in the store the first time it is opened.
///
/// A customer's partition is its id's hash modulo P (``Partitioning``), and every partitioned file
/// and feed cursor means something only under that P: a restart with another P would silently put
/// customers in the wrong partitions. So P is written once and a different configured value stops
/// the start-up, naming both (docs/partitioning.md §1).
enum PartitioningRecord {
    /// Records `configured` if the store has no count yet; otherwise refuses a different one.
    static func check(_ database: DatabasePool, configured: Partitioning) throws {
        let recorded = try database.write { db -> Int in
            if let count = try Int.fetchOne(db, sql: "SELECT count FROM partitioning WHERE id = 1") {
                return count
            }
            try db.execute(
                sql: "INSERT INTO partitioning (id, count, recorded_at) VALUES (1, ?, ?)",
                arguments: [configured.count, currentUnixMillis()]
            )
            return configured.count
        }
        guard recorded == configured.count else {
            throw ConfigurationError(
                "partitions.count is \(configured.count) but this store was created with \(recorded) partitions; "
                    + "the count is fixed when the firm is created (customers would land in other partitions), so set partitions.count to \(recorded)"
            )
        }
    }
}
