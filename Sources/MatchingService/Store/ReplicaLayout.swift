import CRMPartitions
import CRMServiceHost
import GRDB

/// Which customers a replica's store was made for: every customer, or a matching group's
/// partitions (docs/partitioning.md §9). Checked at every start against the group the replica is
/// in now, so that the groups can be changed by restarting the replicas with a new topology, each
/// keeping its store (its decision log, campaigns and model):
///
/// - partitions the group no longer holds: their customers are dropped (a list merged across
///   groups would count them twice);
/// - partitions the group now holds and the store never copied (or dropped earlier): their feeds
///   are read again from the start — each such partition's own change feed and event log, and a
///   profiles process's whole feed when profiles keeps one file per process — through profiles'
///   snapshot, as a new replica's are. The store's month-end rows for training are forgotten (a
///   cache lacking those customers; fetched again when next needed), and the replica is not ready
///   until it has read every feed to its end again.
///
/// Only a store made for another partition count is refused: a customer's partition would be
/// another one.
enum ReplicaLayout {
    /// What a start changed.
    struct Change: Equatable, Sendable {
        /// Customers of partitions the group no longer holds, dropped.
        var dropped = 0
        /// Partitions the group now holds that the store had not copied (empty: none).
        var gained: [Int] = []
    }

    /// No row: every customer (every store made before groups).
    static func migrate(_ db: Database) throws {
        try db.create(table: "replica_layout") { table in
            table.primaryKey("id", .integer).check { $0 == 1 }
            table.column("partition_count", .integer).notNull()
            table.column("partitions", .text).notNull()
        }
    }

    /// Checks the store against `groups` (nil: every customer), drops the customers it no longer
    /// holds, makes the feeds of the partitions it now holds and never copied be read again, and
    /// records the new layout. Refuses a store made for another partition count.
    static func adopt(_ db: Database, groups: ReplicaGroups?) throws -> Change {
        let row = try Row.fetchOne(db, sql: "SELECT partition_count, partitions FROM replica_layout WHERE id = 1")
        let recorded: (count: Int, partitions: PartitionSet)? = try row.map { row in
            let count: Int = row[0]
            return (count, try PartitionSet(parsing: row[1], in: try Partitioning(count: count)))
        }
        let current = groups.flatMap { groups in groups.own.map { (count: groups.layout.partitioning.count, partitions: groups.layout.groups[$0].partitions) } }
        var change = Change()
        if let recorded {
            if let current, current.count != recorded.count {
                throw ConfigurationError("this matching store was made for partitions \(recorded.partitions) of \(recorded.count), and the matching "
                                         + "groups' topology counts \(current.count) partitions: a customer's partition would be another one. "
                                         + "Fix the topology's partitions count, or start this replica on an empty store")
            }
            let held = Set(recorded.partitions.partitions)
            change.gained = (current.map { $0.partitions.partitions } ?? Array(0..<recorded.count)).filter { !held.contains($0) }.sorted()
            if !change.gained.isEmpty { try readAgain(db, partitions: change.gained, count: recorded.count) }
        }
        guard let current, let groups else {
            // Every customer again: no layout to keep.
            try db.execute(sql: "DELETE FROM replica_layout")
            return change
        }
        // The same layout as recorded: nothing of another group was ever kept (a restart scans nothing).
        if let recorded, recorded.count == current.count, recorded.partitions == current.partitions { return change }
        change.dropped = try CopyStore.dropCustomers(db, keeping: { groups.holds(customerID: $0) })
        try db.execute(sql: "INSERT INTO replica_layout (id, partition_count, partitions) VALUES (1, ?, ?) "
                       + "ON CONFLICT(id) DO UPDATE SET partition_count = excluded.partition_count, partitions = excluded.partitions",
                       arguments: [current.count, current.partitions.description])
        return change
    }

    /// Makes the followers read the gained partitions' customers from the start: the cursors of
    /// their own feeds go (a partition held before and dropped kept its cursor past what it
    /// dropped), and so do the cursors of whole processes' feeds (`profiles`, `profiles.<owner>`:
    /// their pages skipped the partitions this group did not hold); those of partitions held
    /// throughout stay. The copy is no longer caught up, and the month-end rows lack the gained
    /// customers.
    private static func readAgain(_ db: Database, partitions gained: [Int], count: Int) throws {
        let gainedNames = Set(gained.map(Partitioning.name(of:)))
        let partitionNames = Set((0..<count).map(Partitioning.name(of:)))
        for (cursor, _) in try CopyStore.cursors(db) {
            guard let owner = CopyStore.profilesOwner(ofCursor: cursor) else { continue }
            if partitionNames.contains(owner), !gainedNames.contains(owner) { continue }
            try CopyStore.deleteCursor(db, cursor)
        }
        try CopyStore.forgetCaughtUp(db)
        try db.execute(sql: "DELETE FROM snapshot")
    }
}
