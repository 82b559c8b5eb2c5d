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
/// idle service writes each record at once. A bulk write's record can instead be appended inside
/// the write's own transaction (``append(_:context:in:)``). Each transaction that appends reads the
/// chain's head (last sequence and hash) from the store, so the store's one writer orders them all;
/// the head this process committed is also kept in memory (for the verifier); sequence order is
/// the order records were committed, and each record's time is never earlier than the one before.
///
/// **The customer index is written lazily.** A record names its customers in its own hashed
/// content (`customers`); the by-customer index (`audit_customer`, what "who saw C0001318" reads)
/// is derived from that and brought up to date just before a query by customer reads it
/// (``indexCustomers()``), not when the record is written. Why: a bulk write (an ingestion batch
/// of 1,000 trades names ~790 customers) made ~790 index rows per record, in a transaction beside
/// the batch's own, and halved ingestion (0.52×, BENCHMARKS). Writing the record inside the
/// ingestion's transaction alone would save a trip and a commit but not those rows; deferring them
/// is what removes that work, and the in-transaction append (``append(_:context:in:)``) then
/// removes the second trip. Deferring the rows keeps every guarantee: the record —
/// customers included — is committed before the answer leaves and chained; a query by customer
/// first indexes every record committed so far, so it answers exactly; the verifier checks the
/// index row by row against the records it claims to cover (`audit_index.through_sequence`) and
/// that none after has rows. The cost moves to the compliance query (rare) and is paid once per
/// record: indexing runs in transactions of ``indexChunk`` records, so its progress is kept even
/// if the query that started it gives up.
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
        /// Every record through this sequence is in the customer index (as this process knows it).
        var indexedThrough: Int64
    }

    private let state: Mutex<State>
    /// Open windows of coalesced refusals (``AuditTrail+Refusals``).
    let refusalWindows = Mutex<[RefusalKey: RefusalWindow]>([:])

    /// Applies the trail's migrations if they are not yet (``AuditSchema``) and reads the chain's head. `now` is the clock records
    /// are stamped with (tests move it to exercise retention).
    public init(database: DatabasePool, settings: AuditSettings = AuditSettings(),
                now: @escaping @Sendable () -> Int64 = { currentUnixMillis() }) throws {
        self.database = database
        self.settings = settings
        self.now = now
        try AuditSchema.migrator.migrate(database)
        let (head, indexed) = try database.read { db in (try Self.storedHead(db), try Self.storedIndexedThrough(db)) }
        state = Mutex(State(head: head, lastTime: head.timeMillis, indexedThrough: indexed))
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
            let next = state.withLock { state -> [Pending]? in
                if state.pending.isEmpty {
                    state.writing = false
                    return nil
                }
                let batch = state.pending
                state.pending = []
                return batch
            }
            guard let batch = next else { return }
            do {
                // The head as stored, read inside the transaction: handlers append records inside
                // their own transactions too (``append(_:context:in:)``), and the store's one writer
                // orders them all.
                let newHead = try await database.write { db in
                    try Self.append(batch.map { ($0.call, $0.timeMillis) }, after: try Self.storedHead(db), db)
                }
                committed(newHead, records: batch.count)
                for pending in batch { pending.continuation.resume() }
            } catch {
                // The transaction rolled back: nothing of the batch is stored.
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }

    /// Notes records committed through `head` (in whichever transaction).
    private func committed(_ head: Head, records: Int) {
        state.withLock {
            if head.sequence > $0.head.sequence { $0.head = head }
            $0.batches += 1
            $0.records += records
        }
    }

    /// Appends the current call's record, as it stands if the call succeeds, inside the caller's
    /// own write transaction on this trail's store, so a bulk write and its record share one trip
    /// through the store's one writer and one commit: the record is durable exactly when the write
    /// is, before the answer. The runtime is told (``CallAudit/committedWithHandler(_:)``) once the
    /// transaction commits and writes no second record; if it rolls back, the record goes with it
    /// and the call's failure is recorded as usual.
    ///
    /// Why: with the record in a transaction of its own, a 1,000-event ingestion batch waited for a
    /// second turn at the writer, behind the other batches' transactions (0.83× the rate without the
    /// trail, BENCHMARKS). Only for methods whose audit rule names the customers from the request.
    public func append(_ audit: CallAudit, context: CallContext, in db: Database) throws {
        let call = audit.recordIfSucceeds(context)
        let time = state.withLock { state -> Int64 in
            let time = max(now(), state.lastTime)
            state.lastTime = time
            return time
        }
        let head = try Self.append([(call, time)], after: try Self.storedHead(db), db)
        db.afterNextTransaction(onCommit: { _ in
            self.committed(head, records: 1)
            audit.committedWithHandler(true)
        })
    }

    private static func append(_ calls: [(AuditedCall, Int64)], after head: Head, _ db: Database) throws -> Head {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO audit_record (sequence, time_ms, principal, roles, peer, certificate_subject, method, request_id, status,
                                      customers, aggregate_rule, aggregate_count, unmasked, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var current = head
        for (call, assigned) in calls {
            let sequence = current.sequence + 1
            // Never earlier than the record before, whichever transaction wrote that one.
            let time = max(assigned, current.timeMillis)
            // Encoded once: stored as the record's `customers` and hashed as part of its content.
            let customers = AuditRecordCoding.encodeSubjects(call.subjectIDs)
            let hash = AuditRecordCoding.hash(previous: current.hash, sequence: sequence, timeMillis: time, call: call, encodedSubjects: customers)
            try insert.execute(arguments: [
                sequence, time, call.principal, call.roles, call.peer, call.certificateSubject, call.method, call.requestID,
                call.status.rawValue, customers, call.aggregateRule,
                call.aggregateCount.map { Int64(clamping: $0) }, call.unmasked, hash,
            ])
            current = Head(sequence: sequence, hash: hash, timeMillis: time)
        }
        return current
    }

    /// Records indexed per transaction when the customer index is brought up to date: bounded so a
    /// long backlog neither holds the store's one writer for long nor loses its progress.
    static let indexChunk = 2_000

    /// Brings the customer index up to date with every record committed so far (see the type's
    /// notes): each record's customers, from its stored (hashed) content. Returns the sequence the
    /// index now covers. Safe to run concurrently with writes and with itself (each chunk reads
    /// where the index stands inside its own write transaction).
    @discardableResult
    public func indexCustomers() async throws -> Int64 {
        while true {
            let (indexed, head) = state.withLock { ($0.indexedThrough, $0.head.sequence) }
            if indexed >= head { return indexed }
            let through = try await database.write { db in try Self.indexNextChunk(db) }
            let done = state.withLock { state -> Bool in
                state.indexedThrough = max(state.indexedThrough, through.sequence)
                return through.reachedEnd
            }
            if done { return through.sequence }
        }
    }

    /// Indexes up to ``indexChunk`` records after where the index stands; reports where it now
    /// stands and whether no record is left after it.
    private static func indexNextChunk(_ db: Database) throws -> (sequence: Int64, reachedEnd: Bool) {
        let from = try storedIndexedThrough(db)
        let rows = try Row.fetchAll(db, sql: "SELECT sequence, customers FROM audit_record WHERE sequence > ? ORDER BY sequence LIMIT ?",
                                    arguments: [from, indexChunk])
        guard let last = rows.last else { return (from, true) }
        let index = try db.cachedStatement(sql: "INSERT OR IGNORE INTO audit_customer (customer_id, sequence) VALUES (?, ?)")
        for row in rows {
            let sequence: Int64 = row["sequence"]
            // An undecodable list is a changed record: the verifier reports it; nothing to index.
            for id in AuditRecordCoding.decodeSubjects(row["customers"]) ?? [] {
                try index.execute(arguments: [id, sequence])
            }
        }
        let through: Int64 = last["sequence"]
        try db.execute(sql: "UPDATE audit_index SET through_sequence = ? WHERE id = 1", arguments: [through])
        return (through, rows.count < indexChunk)
    }

    /// How far the customer index has been brought (`audit_index`).
    static func storedIndexedThrough(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT through_sequence FROM audit_index WHERE id = 1") ?? 0
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
