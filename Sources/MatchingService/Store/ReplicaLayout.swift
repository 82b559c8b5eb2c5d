import CRMPartitions
import CRMServiceHost
import GRDB

/// Which customers a replica's store was made for: every customer, or a matching group's
/// partitions (docs/partitioning.md §9). Checked at every start against the group the replica is
/// in now, because a copy's feed cursors are past everything it ever read: a store may serve a
/// group holding fewer customers (the others are dropped), never one holding customers it did not
/// copy (their records would never arrive).
enum ReplicaLayout {
    /// No row: every customer (every store made before groups).
    static func migrate(_ db: Database) throws {
        try db.create(table: "replica_layout") { table in
            table.primaryKey("id", .integer).check { $0 == 1 }
            table.column("partition_count", .integer).notNull()
            table.column("partitions", .text).notNull()
        }
    }

    /// Checks the store against `groups` (nil: every customer), drops the customers it no longer
    /// holds and records the new layout; returns how many were dropped. Refuses a store that
    /// lacks some of the group's customers.
    static func adopt(_ db: Database, groups: ReplicaGroups?) throws -> Int {
        let row = try Row.fetchOne(db, sql: "SELECT partition_count, partitions FROM replica_layout WHERE id = 1")
        let recorded: (count: Int, partitions: PartitionSet)? = try row.map { row in
            let count: Int = row[0]
            return (count, try PartitionSet(parsing: row[1], in: try Partitioning(count: count)))
        }
        let current = groups.flatMap { groups in groups.own.map { (count: groups.layout.partitioning.count, partitions: groups.layout.groups[$0].partitions) } }
        if let recorded {
            guard let current, current.count == recorded.count, Set(current.partitions.partitions).isSubset(of: recorded.partitions.partitions) else {
                let now = current.map { "partitions \($0.partitions) of \($0.count)" } ?? "every customer"
                throw ConfigurationError("this matching store holds the customers of partitions \(recorded.partitions) of \(recorded.count) only, and this "
                                         + "replica now holds \(now): the others were never copied here. Start it on an empty store: its copy is made "
                                         + "again from profiles, campaigns come back from the other replicas' logs, the model is copied")
            }
        }
        guard let current, let groups else { return 0 }
        // The same layout as recorded: nothing of another group was ever kept (a restart scans nothing).
        if let recorded, recorded.count == current.count, recorded.partitions == current.partitions { return 0 }
        let dropped = try CopyStore.dropCustomers(db, keeping: { groups.holds(customerID: $0) })
        try db.execute(sql: "INSERT INTO replica_layout (id, partition_count, partitions) VALUES (1, ?, ?) "
                       + "ON CONFLICT(id) DO UPDATE SET partition_count = excluded.partition_count, partitions = excluded.partitions",
                       arguments: [current.count, current.partitions.description])
        return dropped
    }
}
