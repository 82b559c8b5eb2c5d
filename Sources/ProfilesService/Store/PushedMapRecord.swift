import CRMPartitions
import Foundation
import GRDB

/// The partition map last given to this process by ReloadPartitionMap's `map` (docs/partitioning.md
/// §8), in its firm file. Why it is kept: the process routes by a pushed map before its topology
/// file holds it (a Kubernetes ConfigMap reaches each pod up to a minute later), so after a restart
/// in that minute the file would put the moved partition back at its old owner, which has given
/// its file away. At start the process routes by the newer of this map and the file's
/// (``PartitionRouting/Placement``).
enum PushedMapRecord {
    static func migrate(_ db: Database) throws {
        try db.create(table: "partition_map_pushed") { table in
            table.primaryKey("id", .integer).check { $0 == 1 }
            table.column("map", .blob).notNull()             // the topology's `partitions` object (PartitionMap.json)
            table.column("pushed_at", .integer).notNull()    // unix millis
        }
    }

    /// The map pushed last; nil when none ever was.
    static func read(_ db: Database) throws -> PartitionMap? {
        guard let json = try Data.fetchOne(db, sql: "SELECT map FROM partition_map_pushed WHERE id = 1") else { return nil }
        return try PartitionMap(json: json)
    }

    static func save(_ db: Database, _ map: PartitionMap, at millis: Int64) throws {
        try db.execute(sql: "INSERT INTO partition_map_pushed (id, map, pushed_at) VALUES (1, ?, ?) "
                       + "ON CONFLICT(id) DO UPDATE SET map = excluded.map, pushed_at = excluded.pushed_at",
                       arguments: [map.json, millis])
    }
}
