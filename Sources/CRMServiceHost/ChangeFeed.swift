import CRMRPC
import Foundation
import GRDB
import SwiftProtobuf

/// The change feed every service keeps in its own store: a `change_log` table whose
/// `sequence INTEGER PRIMARY KEY AUTOINCREMENT` orders changes in commit order and whose `body`
/// holds the encoded change without its sequence. Writers append inside their own transactions;
/// consumers ask for what follows the last sequence they applied, so they resume with no gap and
/// no repeat across restarts of either side.
public enum ChangeFeed {
    /// Changes per read while streaming.
    public static let page = 1_000

    /// The encoded changes after `sequence`, at most `limit`, in order.
    public static func bodies(_ db: Database, after sequence: UInt64, limit: Int) throws -> [(sequence: UInt64, body: Data)] {
        try Row.fetchAll(
            db,
            sql: "SELECT sequence, body FROM change_log WHERE sequence > ? ORDER BY sequence LIMIT ?",
            arguments: [Int64(clamping: sequence), limit]
        ).map { (UInt64($0[0] as Int64), $0[1] as Data) }
    }

    /// The changes after `sequence` decoded as `Event`, each with its sequence set.
    public static func changes<Event: SwiftProtobuf.Message>(
        _ db: Database, after sequence: UInt64, limit: Int, as type: Event.Type, sequence setSequence: (inout Event, UInt64) -> Void
    ) throws -> [Event] {
        try bodies(db, after: sequence, limit: limit).map { entry in
            var event = try Event(serializedBytes: entry.body)
            setSequence(&event, entry.sequence)
            return event
        }
    }

    public static func lastSequence(_ db: Database) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM change_log") ?? 0)
    }

    /// Streams the changes after `after` (at most `limit`; 0 = everything there is now), a page per
    /// read transaction, then returns.
    public static func stream<Event: SwiftProtobuf.Message>(
        from database: DatabasePool,
        after: UInt64,
        limit: UInt32,
        to writer: ResponseStreamWriter<Event>,
        sequence: @escaping @Sendable (Event) -> UInt64,
        setSequence: @escaping @Sendable (inout Event, UInt64) -> Void,
        waiting: Waiting? = nil
    ) async throws {
        try await streamPages(from: database, after: after, limit: limit, pageSize: page, to: writer, position: sequence, waiting: waiting) { db, from, size in
            try Self.changes(db, after: from, limit: size, as: Event.self, sequence: setSequence)
        }
    }

    /// A read that may wait for entries (a request's `wait_ms`): when nothing follows the cursor,
    /// the call is held until ``FeedCommits`` says an entry committed or `timeout` passes, then
    /// answers what follows the cursor then (possibly nothing).
    public struct Waiting: Sendable {
        public let commits: FeedCommits
        public let timeout: Duration

        /// Nil for no wait (`milliseconds` 0); longer asks are held at most ``longest``.
        public init?(commits: FeedCommits?, milliseconds: UInt32) {
            guard let commits, milliseconds > 0 else { return nil }
            self.commits = commits
            self.timeout = min(.milliseconds(Int64(milliseconds)), Self.longest)
        }

        /// The longest a call is held: a minute, well inside any follower's call deadline.
        public static let longest: Duration = .seconds(60)
    }

    /// Streams what `read` returns after a position (at most `limit`; 0 = everything there is
    /// now), a page per read transaction, until a page comes back short: the loop of every
    /// resumable feed (a change log by sequence, an event log by event id, profiles' snapshot by
    /// customer id), over ``forEachPage(from:after:limit:pageSize:position:read:_:)``. With
    /// `waiting`, a first read that finds nothing waits for a commit (``Waiting``) and reads again.
    public static func streamPages<Item: SwiftProtobuf.Message, Position: Sendable>(
        from database: DatabasePool,
        after: Position,
        limit: UInt32,
        pageSize: Int,
        to writer: ResponseStreamWriter<Item>,
        position: @escaping @Sendable (Item) -> Position,
        waiting: Waiting? = nil,
        read: @escaping @Sendable (Database, Position, Int) throws -> [Item]
    ) async throws {
        if let waiting {
            // The generation before the look: a commit after it ends the wait at once.
            let seen = waiting.commits.generation
            let nothing = try await database.read { db in try read(db, after, 1).isEmpty }
            if nothing {
                await waiting.commits.wait(beyond: seen, timeout: waiting.timeout)
                try Task.checkCancellation()
            }
        }
        try await forEachPage(from: database, after: after, limit: Int(limit), pageSize: pageSize, position: position, read: read) { items in
            for item in items { try await writer.write(item) }
        }
    }

    /// Hands `consume` what `read` returns after a position, a page per read transaction (at most
    /// `limit` items in all; 0 = everything there is now), until a page comes back short. The next
    /// page is read while one is consumed: reading (SQLite, decoding) and what is done with a page
    /// (encoding and sending it, filling an index) take about the same time.
    public static func forEachPage<Item: Sendable, Position: Sendable>(
        from database: DatabasePool,
        after: Position,
        limit: Int,
        pageSize: Int,
        position: @escaping @Sendable (Item) -> Position,
        read: @escaping @Sendable (Database, Position, Int) throws -> [Item],
        _ consume: ([Item]) async throws -> Void
    ) async throws {
        @Sendable func readPage(after from: Position, size: Int) -> Task<[Item], any Error> {
            Task { try await database.read { db in try read(db, from, size) } }
        }
        var remaining = limit == 0 ? Int.max : limit
        var size = min(remaining, pageSize)
        var pending: Task<[Item], any Error>? = readPage(after: after, size: size)
        defer { pending?.cancel() }
        while let current = pending {
            let items = try await current.value
            remaining -= items.count
            pending = nil
            if items.count == size, remaining > 0, let last = items.last {
                size = min(remaining, pageSize)
                pending = readPage(after: position(last), size: size)
            }
            try await consume(items)
        }
    }
}
