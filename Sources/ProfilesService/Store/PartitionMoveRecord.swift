import GRDB

/// The partitions this process has drained for a move (docs/partitioning.md §8), in its firm file:
/// a drain outlives a restart, so a process that crashes after its file was copied never serves
/// (and writes into) a partition whose copy may already be the new owner's.
enum PartitionMoveRecord {
    /// Partition → the owner it is being moved to.
    static func all(_ db: Database) throws -> [Int: String] {
        var moves: [Int: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT partition, to_owner FROM partition_move") {
            moves[row["partition"]] = row["to_owner"]
        }
        return moves
    }

    static func record(_ db: Database, partition: Int, to owner: String, at millis: Int64) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO partition_move (partition, to_owner, drained_at) VALUES (?, ?, ?)",
                       arguments: [partition, owner, millis])
    }

    static func remove(_ db: Database, partition: Int) throws {
        try db.execute(sql: "DELETE FROM partition_move WHERE partition = ?", arguments: [partition])
    }
}
