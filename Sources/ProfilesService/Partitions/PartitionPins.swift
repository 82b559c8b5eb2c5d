import CRMRPC
import Foundation
import GRDB
import Logging
import Synchronization

/// Partition files pinned so that a move copies them while they still serve (PreparePartitionMove,
/// docs/partitioning.md §8): the drain then has only the writes made since to hand over, so the
/// partition's calls are refused for the time that tail takes, not for the whole file's copy.
///
/// A pin keeps the file's main part byte for byte as it was. It is made with the partition's
/// writer held: the write-ahead log is emptied into the main file (a TRUNCATE checkpoint), and a
/// reader of its own opens a read transaction while the log is empty — such a reader reads the main
/// file alone, and SQLite copies no page from the log into the main file while it lasts (every
/// checkpoint must hold that reader's lock exclusively to write the main file), whoever runs the
/// checkpoint, this process or an operator's sqlite3. The writer's automatic checkpoints are
/// switched off for the pin's life (they would only find themselves blocked); writes go on into
/// the log. At the drain the log — every write since the pin — is kept beside the file as its
/// tail (`p0007.sqlite.tail`); the main part as pinned plus the tail is the file as drained.
final class PartitionPins: Sendable {
    struct Pin: Sendable {
        /// The owner the partition is being moved to (for Health and the logs).
        let owner: String
        let size: UInt64
        let sha256: String
        /// The main file's modification time when pinned: a main file changed since is not the
        /// pinned part (checked at the drain, besides the size).
        let modified: Date
        /// The connection whose read transaction holds the main file still.
        let reader: DatabaseQueue
        /// The writer's `wal_autocheckpoint` before the pin, given back when it ends.
        let autocheckpoint: Int
    }

    /// What a drain kept of a pinned partition: the tail's size and SHA-256, and the pin it continues.
    struct Tail: Sendable, Equatable {
        let size: UInt64
        let sha256: String
        let preparedSize: UInt64
        let preparedSHA256: String
    }

    private let pins = Mutex<[Int: Pin]>([:])
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// The pin of `partition`, if it has one.
    func pin(of partition: Int) -> Pin? {
        pins.withLock { $0[partition] }
    }

    /// Partitions pinned here, with the owner each is being moved to (Health).
    var pinned: [Int: String] {
        pins.withLock { $0.mapValues(\.owner) }
    }

    /// Pins the main part of the partition file at `path`, served by `database`, for a move to
    /// `owner`; a pin it had already is ended first. Returns the pin (its size and SHA-256, read
    /// after the pin while the partition serves).
    func pin(_ partition: Int, database: DatabasePool, path: URL, for owner: String) async throws -> Pin {
        try await end(partition, database: database)
        var configuration = Configuration()
        configuration.label = "partition \(partition) pin"
        configuration.busyMode = .timeout(5)
        // Its read transaction outlives the call that opens it, by design.
        configuration.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: path.path, configuration: configuration)
        let autocheckpoint: Int
        do {
            autocheckpoint = try await database.writeWithoutTransaction { db in
                let previous = try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? 1_000
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
                do {
                    // With the writer held nothing is written between the log's emptying and the
                    // reader's start, so the reader starts on an empty log: on the main file alone.
                    _ = try db.checkpoint(.truncate)
                    try reader.inDatabase { pinned in
                        try pinned.beginTransaction(.deferred)
                        _ = try Int.fetchOne(pinned, sql: "SELECT COUNT(*) FROM sqlite_master")
                    }
                } catch {
                    try? db.execute(sql: "PRAGMA wal_autocheckpoint = \(previous)")
                    throw error
                }
                return previous
            }
        } catch {
            try? reader.close()
            throw RPCError(.unavailable, "partition \(partition)'s file could not be pinned (its readers kept the log busy: \(error)); retry")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: path.path)
        let fingerprint = try PartitionFileCopy.fingerprint(of: path)
        let pin = Pin(owner: owner, size: fingerprint.size, sha256: fingerprint.sha256,
                      modified: attributes[.modificationDate] as? Date ?? .distantPast, reader: reader, autocheckpoint: autocheckpoint)
        pins.withLock { $0[partition] = pin }
        logger.notice("partition pinned for a move: its main part is copied while it serves", metadata: [
            "partition": "\(partition)", "to": "\(owner)", "bytes": "\(pin.size)", "sha256": "\(pin.sha256)",
        ])
        return pin
    }

    /// Ends `partition`'s pin, if any, without keeping a tail (a move cancelled, or pinned again):
    /// the reader lets go, the writer checkpoints automatically again and catches up once.
    func end(_ partition: Int, database: DatabasePool) async throws {
        guard let pin = pins.withLock({ $0.removeValue(forKey: partition) }) else { return }
        Self.release(pin)
        try await database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(pin.autocheckpoint)")
            _ = try? db.checkpoint(.passive)
        }
        logger.notice("partition pin ended: nothing kept", metadata: ["partition": "\(partition)"])
    }

    /// Called by the drain with the partition's writer held, its calls and updater stopped: ends
    /// the pin, if any (its reader lets go before the drain's own checkpoint), and with `tail`
    /// keeps the log written since the pin there first (synced), when the pin held. nil: nothing
    /// kept — no pin, no `tail` asked, or a main file changed since (then the whole file moves).
    func drained(_ partition: Int, db: Database, path: URL, keepingTailAt tail: URL?) throws -> Tail? {
        guard let pin = pins.withLock({ $0.removeValue(forKey: partition) }) else { return nil }
        defer {
            Self.release(pin)
            try? db.execute(sql: "PRAGMA wal_autocheckpoint = \(pin.autocheckpoint)")
        }
        guard let tail else { return nil }
        let attributes = try FileManager.default.attributesOfItem(atPath: path.path)
        let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        guard size == pin.size, attributes[.modificationDate] as? Date == pin.modified else {
            logger.warning("a pinned partition's main file changed before its drain: the whole file is copied", metadata: [
                "partition": "\(partition)", "pinned bytes": "\(pin.size)", "bytes": "\(size)",
            ])
            return nil
        }
        let kept = try PartitionFileCopy.copy(URL(fileURLWithPath: path.path + "-wal"), to: tail)
        return Tail(size: kept.size, sha256: kept.sha256, preparedSize: pin.size, preparedSHA256: pin.sha256)
    }

    private static func release(_ pin: Pin) {
        try? pin.reader.inDatabase { db in if db.isInsideTransaction { try db.rollback() } }
        try? pin.reader.close()
    }
}
