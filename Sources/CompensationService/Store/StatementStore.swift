import CRMProtos
import Foundation
import GRDB

/// Closed months and their statements. A statement is stored as its header (the
/// `crm.compensation.v1.Statement` without lines) and its lines in chunks of ``chunkSize`` (each a
/// `Statement` holding only `lines`), so a page of a large statement reads a few chunks.
enum StatementStore {
    static let chunkSize = 1_000

    struct Closing: Sendable, Hashable {
        var month: CalendarMonth
        var throughSequence: Int64
        var settledAtMillis: Int64
    }

    /// Every closed month, oldest first.
    static func closings(_ db: Database) throws -> [Closing] {
        try Row.fetchAll(db, sql: "SELECT month, through_sequence, settled_at FROM closed_month ORDER BY month").compactMap { row in
            guard let month = CalendarMonth(row[0] as String) else { return nil }
            return Closing(month: month, throughSequence: row[1], settledAtMillis: row[2])
        }
    }

    /// The book of the given closings: each closed for everyone.
    static func book(_ closings: [Closing]) throws -> SettlementBook {
        var book = SettlementBook()
        for closing in closings {
            try book.closeForEveryone(month: closing.month, throughSequence: closing.throughSequence)
        }
        return book
    }

    static func summary(_ db: Database, month: CalendarMonth) throws -> Crm_Compensation_V1_SettleMonthResponse? {
        try Data.fetchOne(db, sql: "SELECT summary FROM closed_month WHERE month = ?", arguments: [month.description])
            .map { try Crm_Compensation_V1_SettleMonthResponse(serializedBytes: $0) }
    }

    static func close(_ db: Database, month: CalendarMonth, throughSequence: Int64, settledAtMillis: Int64,
                      summary: Crm_Compensation_V1_SettleMonthResponse) throws {
        try db.execute(sql: "INSERT INTO closed_month (month, through_sequence, settled_at, summary) VALUES (?, ?, ?, ?)",
                       arguments: [month.description, throughSequence, settledAtMillis, try summary.serializedData()])
    }

    /// A statement encoded for storage.
    struct Encoded: Sendable {
        var managerID: String
        var branchID: String
        var teamID: String
        var totalFen: Int64
        var lineCount: Int
        var header: Data
        var chunks: [Data]
    }

    static func encode(_ statement: ManagerStatement, branchID: String, teamID: String, settledAtMillis: Int64) throws -> Encoded {
        let header = statement.wireHeader(branchID: branchID, teamID: teamID, settledAtMillis: settledAtMillis)
        var chunks: [Data] = []
        chunks.reserveCapacity((statement.incomeLines.count + chunkSize - 1) / chunkSize)
        for start in stride(from: 0, to: statement.incomeLines.count, by: chunkSize) {
            var chunk = StatementLineEncoder(capacity: 128 * chunkSize)
            for line in statement.incomeLines[start..<min(start + chunkSize, statement.incomeLines.count)] { chunk.append(line) }
            chunks.append(Data(chunk.bytes))
        }
        return Encoded(managerID: statement.managerID, branchID: branchID, teamID: teamID, totalFen: statement.totalFen,
                       lineCount: statement.incomeLines.count, header: try header.serializedData(), chunks: chunks)
    }

    static func insert(_ db: Database, month: CalendarMonth, _ statement: Encoded) throws {
        let arguments: StatementArguments = [
            month.description, statement.managerID, statement.branchID, statement.teamID, statement.totalFen, statement.lineCount, statement.header,
        ]
        try db.cachedStatement(sql: """
            INSERT INTO statement (month, manager_id, branch_id, team_id, total_fen, line_count, header) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: arguments)
        let chunk = try db.cachedStatement(sql: "INSERT INTO statement_chunk (month, manager_id, chunk, body) VALUES (?, ?, ?, ?)")
        for (index, body) in statement.chunks.enumerated() {
            try chunk.execute(arguments: [month.description, statement.managerID, index, body])
        }
    }

    /// Every stored statement of `month`, encoded as stored, by manager.
    static func stored(_ db: Database, month: CalendarMonth) throws -> [Encoded] {
        var result: [Encoded] = []
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM statement WHERE month = ? ORDER BY manager_id", arguments: [month.description])
        let chunks = try db.cachedStatement(sql: "SELECT body FROM statement_chunk WHERE month = ? AND manager_id = ? ORDER BY chunk")
        for row in rows {
            let managerID: String = row["manager_id"]
            result.append(Encoded(
                managerID: managerID, branchID: row["branch_id"], teamID: row["team_id"], totalFen: row["total_fen"],
                lineCount: row["line_count"], header: row["header"],
                chunks: try Data.fetchAll(chunks, arguments: [month.description, managerID])
            ))
        }
        return result
    }

    /// One statement's header and placement, or nil.
    static func header(_ db: Database, month: CalendarMonth, managerID: String) throws -> Crm_Compensation_V1_Statement? {
        try Data.fetchOne(db, sql: "SELECT header FROM statement WHERE month = ? AND manager_id = ?", arguments: [month.description, managerID])
            .map { try Crm_Compensation_V1_Statement(serializedBytes: $0) }
    }

    /// Lines `offset..<offset + count` of a statement.
    static func lines(_ db: Database, month: CalendarMonth, managerID: String, offset: Int, count: Int) throws -> [Crm_Compensation_V1_StatementLine] {
        guard count > 0 else { return [] }
        let first = offset / chunkSize, last = (offset + count - 1) / chunkSize
        let bodies = try Data.fetchAll(
            db, sql: "SELECT body FROM statement_chunk WHERE month = ? AND manager_id = ? AND chunk BETWEEN ? AND ? ORDER BY chunk",
            arguments: [month.description, managerID, first, last]
        )
        var lines: [Crm_Compensation_V1_StatementLine] = []
        for body in bodies { lines += try Crm_Compensation_V1_Statement(serializedBytes: body).lines }
        let start = offset - first * chunkSize
        guard start < lines.count else { return [] }
        return Array(lines[start..<min(start + count, lines.count)])
    }

    /// Whether any month's statement of `managerID` was settled in `branchID`.
    static func exists(_ db: Database, managerID: String, branchID: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM statement WHERE manager_id = ? AND branch_id = ?)",
                          arguments: [managerID, branchID]) ?? false
    }

    /// Statement headers by month then manager, after the page key.
    static func list(_ db: Database, month: String, managerID: String, branchID: String, after: (String, String)?, limit: Int) throws
        -> (statements: [Crm_Compensation_V1_Statement], total: Int) {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if !month.isEmpty { conditions.append("month = ?"); arguments.append(month) }
        if !managerID.isEmpty { conditions.append("manager_id = ?"); arguments.append(managerID) }
        if !branchID.isEmpty { conditions.append("branch_id = ?"); arguments.append(branchID) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM statement \(filter)", arguments: StatementArguments(arguments)) ?? 0
        var pageConditions = conditions
        var pageArguments = arguments
        if let after {
            pageConditions.append("(month, manager_id) > (?, ?)")
            pageArguments += [after.0, after.1]
        }
        let pageFilter = pageConditions.isEmpty ? "" : "WHERE " + pageConditions.joined(separator: " AND ")
        let bodies = try Data.fetchAll(db, sql: "SELECT header FROM statement \(pageFilter) ORDER BY month, manager_id LIMIT ?",
                                       arguments: StatementArguments(pageArguments + [limit]))
        return (try bodies.map { try Crm_Compensation_V1_Statement(serializedBytes: $0) }, total)
    }
}
