import CompensationSettlement
import CRMProtos
import CRMStore
import GRDB

/// Customer assignments over time. Periods of one customer never overlap (checked before writing).
public enum AssignmentStore {
    /// A stored assignment with its id.
    struct Stored: Sendable, Hashable {
        var id: Int64
        var assignment: CustomerAssignment
        var recordedAtMillis: Int64
    }

    /// The stored assignments of the given customers, by customer, sorted by start.
    static func assignments(_ db: Database, of customers: [String]) throws -> [String: [Stored]] {
        var result: [String: [Stored]] = [:]
        for start in stride(from: 0, to: customers.count, by: 500) {
            let part = Array(customers[start..<min(start + 500, customers.count)])
            let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
            for row in try Row.fetchAll(db, sql: "SELECT * FROM assignment WHERE customer_id IN (\(marks))", arguments: StatementArguments(part)) {
                let stored = Self.stored(from: row)
                result[stored.assignment.customerID, default: []].append(stored)
            }
        }
        for key in Array(result.keys) { result[key]?.sort { $0.assignment.effectiveFrom < $1.assignment.effectiveFrom } }
        return result
    }

    /// Inserts a new assignment; returns its id.
    @discardableResult
    public static func insert(_ db: Database, _ assignment: CustomerAssignment, recordedAtMillis: Int64) throws -> Int64 {
        try db.cachedStatement(sql: """
            INSERT INTO assignment (customer_id, manager_id, effective_from, effective_until, recorded_at) VALUES (?, ?, ?, ?, ?)
            """).execute(arguments: [
                assignment.customerID, assignment.managerID, assignment.effectiveFrom.daysSince1970, assignment.effectiveUntil?.daysSince1970,
                recordedAtMillis,
            ])
        return db.lastInsertedRowID
    }

    /// Ends a stored assignment on `day` (exclusive).
    static func end(_ db: Database, id: Int64, on day: CalendarDay) throws {
        try db.cachedStatement(sql: "UPDATE assignment SET effective_until = ? WHERE assignment_id = ?").execute(arguments: [day.daysSince1970, id])
    }

    /// Every assignment, for attributing the month's items (``AssignmentIndex``); `managers` get the
    /// first slots.
    static func index(_ db: Database, managers: [String]) throws -> AssignmentIndex {
        var builder = AssignmentIndex.Builder(managers: managers)
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT customer_id, manager_id, effective_from, effective_until FROM assignment ORDER BY customer_id, effective_from
            """)
        while let row = try cursor.next() {
            builder.add(customerID: row[0], managerID: row[1], from: row[2], until: row[3])
        }
        return builder.build()
    }

    /// Every assignment, validated and indexed.
    static func timeline(_ db: Database) throws -> AssignmentTimeline {
        var all: [CustomerAssignment] = []
        let cursor = try Row.fetchCursor(db, sql: "SELECT customer_id, manager_id, effective_from, effective_until FROM assignment")
        while let row = try cursor.next() {
            let until: Int32? = row[3]
            all.append(CustomerAssignment(customerID: row[0], managerID: row[1], effectiveFrom: CalendarDay(daysSince1970: row[2]),
                                          effectiveUntil: until.map(CalendarDay.init(daysSince1970:))))
        }
        do {
            return try AssignmentTimeline(all)
        } catch {
            throw DatabaseError(message: "the stored assignments are inconsistent: \(error)")
        }
    }

    /// One page of assignments by customer then start.
    static func list(_ db: Database, customerID: String, managerIDs: [String]?, asOf: CalendarDay?, after: (String, Int32, Int64)?,
                     limit: Int) throws -> (rows: [Stored], total: Int) {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if !customerID.isEmpty { conditions.append("customer_id = ?"); arguments.append(customerID) }
        if let managerIDs {
            conditions.append("manager_id IN (\(Array(repeating: "?", count: managerIDs.count).joined(separator: ",")))")
            arguments += managerIDs
        }
        if let asOf {
            conditions.append("effective_from <= ? AND (effective_until IS NULL OR effective_until > ?)")
            arguments += [asOf.daysSince1970, asOf.daysSince1970]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM assignment \(filter)", arguments: StatementArguments(arguments)) ?? 0
        var pageConditions = conditions
        var pageArguments = arguments
        if let after {
            pageConditions.append("(customer_id, effective_from, assignment_id) > (?, ?, ?)")
            pageArguments += [after.0, after.1, after.2]
        }
        let pageFilter = pageConditions.isEmpty ? "" : "WHERE " + pageConditions.joined(separator: " AND ")
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM assignment \(pageFilter) ORDER BY customer_id, effective_from, assignment_id LIMIT ?",
            arguments: StatementArguments(pageArguments + [limit])
        )
        return (rows.map(Self.stored(from:)), total)
    }

    /// Whether `managerID` ever had `customerID`.
    static func everAssigned(_ db: Database, customerID: String, managerIDs: [String]) throws -> Bool {
        guard !managerIDs.isEmpty else { return false }
        let marks = Array(repeating: "?", count: managerIDs.count).joined(separator: ",")
        return try Bool.fetchOne(db, sql: "SELECT 1 FROM assignment WHERE customer_id = ? AND manager_id IN (\(marks)) LIMIT 1",
                                 arguments: StatementArguments([customerID] + managerIDs)) ?? false
    }

    private static func stored(from row: Row) -> Stored {
        let until: Int32? = row["effective_until"]
        return Stored(
            id: row["assignment_id"],
            assignment: CustomerAssignment(customerID: row["customer_id"], managerID: row["manager_id"],
                                           effectiveFrom: CalendarDay(daysSince1970: row["effective_from"]),
                                           effectiveUntil: until.map(CalendarDay.init(daysSince1970:))),
            recordedAtMillis: row["recorded_at"]
        )
    }

    static func wire(_ stored: Stored) -> Crm_Compensation_V1_Assignment {
        .with {
            $0.assignmentID = UInt64(stored.id)
            $0.customerID = stored.assignment.customerID
            $0.managerID = stored.assignment.managerID
            $0.effectiveFrom = stored.assignment.effectiveFrom.wire
            if let until = stored.assignment.effectiveUntil { $0.effectiveUntil = until.wire }
            $0.recordedAt = .with { $0.unixMillis = stored.recordedAtMillis }
        }
    }
}
