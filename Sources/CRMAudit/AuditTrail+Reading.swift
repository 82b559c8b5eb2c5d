import CRMRPC
import Foundation
import GRDB

/// What a query selects: any combination; nil matches everything.
public struct AuditFilter: Sendable, Hashable {
    public var customerID: String?
    public var principal: String?
    /// [fromMillis, toMillis)
    public var fromMillis: Int64?
    public var toMillis: Int64?

    public init(customerID: String? = nil, principal: String? = nil, fromMillis: Int64? = nil, toMillis: Int64? = nil) {
        self.customerID = customerID
        self.principal = principal
        self.fromMillis = fromMillis
        self.toMillis = toMillis
    }
}

/// The outcome of checking the chain: intact, or the first record found wrong.
public struct ChainVerification: Sendable, Hashable {
    public enum Problem: Sendable, Hashable {
        case recordChanged, recordMissing, recordInserted, recordsTruncated, indexChanged
    }

    public var recordsChecked: Int64 = 0
    public var problem: Problem?
    /// The sequence of the first record found wrong.
    public var position: Int64 = 0
    public var message = ""
    public var anchor: (sequence: Int64, hash: Data) = (0, AuditRecordCoding.genesisHash)
    public var head: (sequence: Int64, hash: Data) = (0, AuditRecordCoding.genesisHash)

    public var isIntact: Bool { problem == nil }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.recordsChecked == rhs.recordsChecked && lhs.problem == rhs.problem && lhs.position == rhs.position && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(position)
        hasher.combine(message)
    }
}

extension AuditTrail {
    /// Records matching `filter` with a sequence after `after`, oldest first, at most `limit`. A
    /// query by customer first brings the customer index up to date (``indexCustomers()``), so it
    /// finds every record committed before it began.
    public func records(matching filter: AuditFilter, after: Int64, limit: Int) async throws -> [AuditRecordValue] {
        try await flushRefusals()
        if filter.customerID != nil {
            try await indexCustomers()
        }
        return try await database.read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            let from: String
            if let customerID = filter.customerID {
                from = "audit_customer c JOIN audit_record r ON r.sequence = c.sequence"
                conditions.append("c.customer_id = ?")
                arguments.append(customerID)
                conditions.append("c.sequence > ?")
            } else {
                from = "audit_record r"
                conditions.append("r.sequence > ?")
            }
            arguments.append(after)
            if let principal = filter.principal {
                conditions.append("r.principal = ?")
                arguments.append(principal)
            }
            if let fromMillis = filter.fromMillis {
                conditions.append("r.time_ms >= ?")
                arguments.append(fromMillis)
            }
            if let toMillis = filter.toMillis {
                conditions.append("r.time_ms < ?")
                arguments.append(toMillis)
            }
            arguments.append(limit)
            let sql = "SELECT r.* FROM \(from) WHERE \(conditions.joined(separator: " AND ")) ORDER BY r.sequence LIMIT ?"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.value)
        }
    }

    /// Checks every stored record against the chain, from the anchor to the last one, and against
    /// the head this process committed, and every row of the customer index against the record it
    /// points at; reports the first record found wrong. The index is written lazily (see
    /// ``AuditTrail``): a record the index claims to cover (through `audit_index.through_sequence`)
    /// must have exactly the rows of the customers it names, and a record after that none.
    ///
    /// What it can tell: a record changed (its hash no longer matches its content chained to the
    /// record before), a record deleted (a sequence missing), records added past what this service
    /// wrote, records removed from the end, and a customer index row changed, added or deleted (the
    /// customers a record names are in its hashed content, so once the record's hash holds, its
    /// index rows must be exactly those customers). A store rewritten whole, chain and all, while
    /// the service was stopped is told only by comparing the head with one kept elsewhere (an
    /// export's last hash, a previous verification's head).
    public func verify() async throws -> ChainVerification {
        let before = head
        return try await database.read { db in
            // What this process had committed when the check began; refreshed when a newer record
            // is met (committed since, its head not yet noted when the check began).
            var known = before
            var result = ChainVerification()
            let anchor = try Self.storedAnchor(db)
            result.anchor = anchor
            result.head = (anchor.sequence, anchor.hash)
            var previous = anchor.hash
            var expected = anchor.sequence + 1
            let indexedThrough = try Self.storedIndexedThrough(db)
            var index = try CustomerIndexReader(db)
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM audit_record ORDER BY sequence")
            while let row = try rows.next() {
                let record = Self.value(row)
                if record.sequence < expected {
                    result.fail(.recordInserted, record.sequence, "record \(record.sequence) is at or before the anchor \(anchor.sequence), which retention removed")
                    return result
                }
                if record.sequence > expected {
                    result.fail(.recordMissing, expected, expected == record.sequence - 1
                        ? "record \(expected) is missing" : "records \(expected)...\(record.sequence - 1) are missing")
                    return result
                }
                if record.sequence > known.sequence { known = self.head }
                if record.sequence > known.sequence {
                    result.fail(.recordInserted, record.sequence, "record \(record.sequence) is past the last one this service committed (\(known.sequence))")
                    return result
                }
                let hash = AuditRecordCoding.hash(previous: previous, sequence: record.sequence, timeMillis: record.timeMillis, call: record.call)
                if hash != record.hash {
                    result.fail(.recordChanged, record.sequence,
                                "record \(record.sequence) does not match its hash: it, or the hash of the record before it, was changed")
                    return result
                }
                if record.sequence == known.sequence, hash != known.hash {
                    result.fail(.recordChanged, record.sequence,
                                "record \(record.sequence) is not the one this service committed: the chain up to it was rewritten")
                    return result
                }
                if let stray = index.sequenceBefore(record.sequence) {
                    result.fail(.indexChanged, stray, "the customer index names record \(stray), which is not stored (at or before the anchor \(anchor.sequence))")
                    return result
                }
                let indexed = try index.customers(of: record.sequence)
                // Not reached by the index yet: it must hold nothing for the record.
                let named = record.sequence <= indexedThrough ? Set(record.call.subjectIDs) : []
                if indexed != named {
                    result.fail(.indexChanged, record.sequence, record.sequence <= indexedThrough
                        ? "the customer index of record \(record.sequence) differs from the customers it names: " + Self.difference(indexed: indexed, named: named)
                        : "the customer index has rows for record \(record.sequence), which it has not reached (indexed through \(indexedThrough)): "
                            + Self.difference(indexed: indexed, named: named))
                    return result
                }
                previous = hash
                expected += 1
                result.recordsChecked += 1
                result.head = (record.sequence, hash)
            }
            if result.head.sequence < known.sequence {
                result.fail(.recordsTruncated, result.head.sequence + 1,
                            "records \(result.head.sequence + 1)...\(known.sequence) were removed from the end")
                return result
            }
            if let stray = index.sequenceBefore(.max) {
                result.fail(.indexChanged, stray, "the customer index names record \(stray), past the last one stored (\(result.head.sequence))")
                return result
            }
            // Claiming records that do not exist would leave those written later never indexed.
            if indexedThrough > result.head.sequence {
                result.fail(.indexChanged, result.head.sequence + 1,
                            "the customer index claims records through \(indexedThrough), past the last one stored (\(result.head.sequence))")
            }
            return result
        }
    }

    /// What the index holds that the record does not name, and the reverse, for the message.
    private static func difference(indexed: Set<String>, named: Set<String>) -> String {
        func listing(_ verb: String, _ ids: Set<String>) -> String? {
            guard !ids.isEmpty else { return nil }
            let sorted = ids.sorted()
            return "the index \(verb) \(sorted.prefix(5).joined(separator: ", "))\(sorted.count > 5 ? " and \(sorted.count - 5) more" : "")"
        }
        return [listing("adds", indexed.subtracting(named)), listing("lacks", named.subtracting(indexed))].compactMap { $0 }.joined(separator: "; ")
    }

    /// Streams the records after `after` through `through` (nil: the last), after the anchor they
    /// chain from, and notes how far the trail has been exported (what retention may remove).
    public func export(after: Int64, through: Int64?, anchor: (Int64, Data) async throws -> Void, record: (AuditRecordValue) async throws -> Void) async throws {
        try await flushRefusals()
        let start = try await database.read { db -> (Int64, Data) in
            if after == 0 { return (0, AuditRecordCoding.genesisHash) }
            if let hash = try Data.fetchOne(db, sql: "SELECT hash FROM audit_record WHERE sequence = ?", arguments: [after]) {
                return (after, hash)
            }
            let stored = try Self.storedAnchor(db)
            guard stored.sequence == after else {
                throw AuditError.noSuchRecord(after)
            }
            return stored
        }
        try await anchor(start.0, start.1)
        let last = through ?? head.sequence
        var cursor = after
        while cursor < last {
            let from = cursor
            let page = try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM audit_record WHERE sequence > ? AND sequence <= ? ORDER BY sequence LIMIT 1000",
                                 arguments: [from, last]).map(Self.value)
            }
            guard let end = page.last else { break }
            for value in page { try await record(value) }
            cursor = end.sequence
        }
        let exported = cursor
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO audit_export (id, through_sequence) VALUES (1, ?)
                ON CONFLICT(id) DO UPDATE SET through_sequence = max(through_sequence, excluded.through_sequence)
                """, arguments: [exported])
        }
    }

    /// Removes the records older than the retention that are at or before `exportedThrough` and
    /// have been exported, moving the anchor to the last one removed. Returns how many went.
    public func purge(exportedThrough: Int64) async throws -> (removed: Int64, anchor: (Int64, Data)) {
        let cutoff = now() - Int64(settings.retention) * 86_400_000
        return try await database.write { db -> (removed: Int64, anchor: (Int64, Data)) in
            let exported = try Int64.fetchOne(db, sql: "SELECT through_sequence FROM audit_export WHERE id = 1") ?? 0
            let limit = min(exportedThrough, exported)
            guard let last = try Row.fetchOne(db, sql: """
                SELECT sequence, hash FROM audit_record WHERE sequence <= ? AND time_ms < ? ORDER BY sequence DESC LIMIT 1
                """, arguments: [limit, cutoff]) else {
                let anchor = try Self.storedAnchor(db)
                return (0, (anchor.sequence, anchor.hash))
            }
            let through: Int64 = last["sequence"]
            let hash: Data = last["hash"]
            try db.execute(sql: "DELETE FROM audit_customer WHERE sequence <= ?", arguments: [through])
            try db.execute(sql: "UPDATE audit_index SET through_sequence = max(through_sequence, ?) WHERE id = 1", arguments: [through])
            try db.execute(sql: "DELETE FROM audit_record WHERE sequence <= ?", arguments: [through])
            let removed = Int64(db.changesCount)
            try db.execute(sql: """
                INSERT INTO audit_anchor (id, sequence, hash) VALUES (1, ?, ?)
                ON CONFLICT(id) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash
                """, arguments: [through, hash])
            return (removed, (through, hash))
        }
    }

    static func value(_ row: Row) -> AuditRecordValue {
        let count: Int64? = row["aggregate_count"]
        let status: Int = row["status"]
        let call = AuditedCall(
            principal: row["principal"], roles: row["roles"], peer: row["peer"], certificateSubject: row["certificate_subject"],
            method: row["method"], requestID: row["request_id"], status: StatusCode(rawValue: status) ?? .unknown,
            subjectIDs: AuditRecordCoding.decodeSubjects(row["customers"]) ?? ["<undecodable>"],
            aggregateRule: row["aggregate_rule"], aggregateCount: count.map { UInt64(clamping: $0) }, unmasked: row["unmasked"]
        )
        return AuditRecordValue(sequence: row["sequence"], timeMillis: row["time_ms"], call: call, hash: row["hash"])
    }
}

/// The customer index read in record order (sequence, then customer id) beside the records, so
/// the verifier checks each record's rows as it reaches the record, in one pass over each table.
private struct CustomerIndexReader {
    private let cursor: RowCursor
    private var next: (sequence: Int64, customerID: String)?

    init(_ db: Database) throws {
        cursor = try Row.fetchCursor(db, sql: "SELECT sequence, customer_id FROM audit_customer ORDER BY sequence, customer_id")
        try advance()
    }

    private mutating func advance() throws {
        next = try cursor.next().map { ($0["sequence"], $0["customer_id"]) }
    }

    /// The sequence of the next row if it is before `sequence`: a row no record reached claims.
    func sequenceBefore(_ sequence: Int64) -> Int64? {
        guard let next, next.sequence < sequence else { return nil }
        return next.sequence
    }

    /// The customers of the rows at `sequence`, consumed.
    mutating func customers(of sequence: Int64) throws -> Set<String> {
        var ids: Set<String> = []
        while let next, next.sequence == sequence {
            ids.insert(next.customerID)
            try advance()
        }
        return ids
    }
}

extension ChainVerification {
    mutating func fail(_ problem: Problem, _ position: Int64, _ message: String) {
        self.problem = problem
        self.position = position
        self.message = message
    }
}

/// Refusals of the trail's own methods.
public enum AuditError: Error, RPCErrorConvertible {
    case noSuchRecord(Int64)

    public var rpcError: RPCError {
        switch self {
        case let .noSuchRecord(sequence):
            return RPCError.invalidArgument(field: "after_sequence", "record \(sequence) is neither stored nor the anchor retention left")
        }
    }
}
