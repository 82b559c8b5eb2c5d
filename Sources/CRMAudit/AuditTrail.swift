import CRMRPC
import CRMStore
import Foundation
import GRDB
import Synchronization

/// # CRMAudit
///
/// A service's audit trail: the record of every call that read or acted on a customer's personal
/// data, kept in the service's own store, append-only and hash-chained (tamper-evident), queried and
/// verified by the `compliance` role (``AuditHandlers``), exported for archive and pruned after
/// its retention.
///
/// ``AuditTrail`` is the runtime's ``CallAuditor``: each audited call's record is committed before
/// its answer leaves. Records are written by group commit: a call that finishes while a write is
/// under way joins the next one, so under load many calls share a transaction (and its cost) and an
/// idle service writes each record at once. The chain's head (last sequence and hash) lives in
/// memory, owned by the one writer; sequence order is the order calls finished, and each record's
/// time is never earlier than the one before.
public final class AuditTrail: CallAuditor {
    public let database: DatabasePool
    public let settings: AuditSettings
    let now: @Sendable () -> Int64

    private struct Pending {
        var call: AuditedCall
        var timeMillis: Int64
        var continuation: CheckedContinuation<Void, any Error>
    }

    public struct Head: Sendable, Hashable {
        public var sequence: Int64
        public var hash: Data
        public var timeMillis: Int64
    }

    private struct State {
        var pending: [Pending] = []
        var writing = false
        var head: Head
        var lastTime: Int64
        var batches = 0
        var records = 0
    }

    private let state: Mutex<State>

    /// Applies the trail's migrations if they are not yet (``AuditSchema``) and reads the chain's head. `now` is the clock records
    /// are stamped with (tests move it to exercise retention).
    public init(database: DatabasePool, settings: AuditSettings = AuditSettings(),
                now: @escaping @Sendable () -> Int64 = { currentUnixMillis() }) throws {
        self.database = database
        self.settings = settings
        self.now = now
        try AuditSchema.migrator.migrate(database)
        let head = try database.read { db in try Self.storedHead(db) }
        state = Mutex(State(head: head, lastTime: head.timeMillis))
    }

    /// The last record committed (or the anchor, or the genesis), as this process knows it.
    public var head: Head { state.withLock { $0.head } }

    /// Transactions written and records in them since start: records per batch shows the grouping.
    public var writeCounts: (batches: Int, records: Int) { state.withLock { ($0.batches, $0.records) } }

    public func record(_ call: AuditedCall) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startWriter = state.withLock { state -> Bool in
                let time = max(now(), state.lastTime)
                state.lastTime = time
                state.pending.append(Pending(call: call, timeMillis: time, continuation: continuation))
                if state.writing { return false }
                state.writing = true
                return true
            }
            if startWriter {
                Task.detached { await self.writeBatches() }
            }
        }
    }

    /// Writes what is pending, one transaction per batch, until nothing is; the calls of a batch are
    /// answered once it is committed (or failed if it is not).
    private func writeBatches() async {
        while true {
            let next = state.withLock { state -> (batch: [Pending], head: Head)? in
                if state.pending.isEmpty {
                    state.writing = false
                    return nil
                }
                let batch = state.pending
                state.pending = []
                return (batch, state.head)
            }
            guard let (batch, head) = next else { return }
            do {
                let newHead = try await database.write { db in try Self.append(batch.map { ($0.call, $0.timeMillis) }, after: head, db) }
                state.withLock {
                    $0.head = newHead
                    $0.batches += 1
                    $0.records += batch.count
                }
                for pending in batch { pending.continuation.resume() }
            } catch {
                // The transaction rolled back: the head in memory is still the stored one.
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }

    private static func append(_ calls: [(AuditedCall, Int64)], after head: Head, _ db: Database) throws -> Head {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO audit_record (sequence, time_ms, principal, roles, peer, certificate_subject, method, request_id, status,
                                      customers, aggregate_rule, aggregate_count, unmasked, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let index = try db.cachedStatement(sql: "INSERT OR IGNORE INTO audit_customer (customer_id, sequence) VALUES (?, ?)")
        var current = head
        for (call, time) in calls {
            let sequence = current.sequence + 1
            let hash = AuditRecordCoding.hash(previous: current.hash, sequence: sequence, timeMillis: time, call: call)
            try insert.execute(arguments: [
                sequence, time, call.principal, call.roles, call.peer, call.certificateSubject, call.method, call.requestID,
                call.status.rawValue, AuditRecordCoding.encodeSubjects(call.subjectIDs), call.aggregateRule,
                call.aggregateCount.map { Int64(clamping: $0) }, call.unmasked, hash,
            ])
            for id in call.subjectIDs {
                try index.execute(arguments: [id, sequence])
            }
            current = Head(sequence: sequence, hash: hash, timeMillis: time)
        }
        return current
    }

    /// The last stored record, else the anchor retention left, else the genesis.
    static func storedHead(_ db: Database) throws -> Head {
        if let row = try Row.fetchOne(db, sql: "SELECT sequence, hash, time_ms FROM audit_record ORDER BY sequence DESC LIMIT 1") {
            return Head(sequence: row["sequence"], hash: row["hash"], timeMillis: row["time_ms"])
        }
        let anchor = try storedAnchor(db)
        return Head(sequence: anchor.sequence, hash: anchor.hash, timeMillis: 0)
    }

    static func storedAnchor(_ db: Database) throws -> (sequence: Int64, hash: Data) {
        if let row = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_anchor WHERE id = 1") {
            return (row["sequence"], row["hash"])
        }
        return (0, AuditRecordCoding.genesisHash)
    }
}
