import CRMProtos
import CRMStore
import GRDB

/// Reads and writes client managers, branches and teams. Every method is one transaction.
struct ManagerStore: Sendable {
    let database: DatabasePool

    /// Inserts or replaces a manager; returns the stored row and whether it is new.
    func upsert(_ manager: Crm_Compensation_V1_ClientManager) async throws -> (Crm_Compensation_V1_ClientManager, created: Bool) {
        let (stored, created, _) = try await upsert([manager])
        return (stored[0], created == 1)
    }

    /// Inserts or replaces managers in one transaction; returns them as stored and the counts.
    func upsert(_ managers: [Crm_Compensation_V1_ClientManager]) async throws -> ([Crm_Compensation_V1_ClientManager], created: Int, updated: Int) {
        let now = currentUnixMillis()
        let rows = managers.map { manager in
            var stored = manager
            stored.updatedAt = .with { $0.unixMillis = now }
            return stored
        }
        let today = BusinessCalendar.day(ofUnixMillis: now)
        return try await database.write { db in
            let stored = try db.cachedStatement(sql: "SELECT status, left_on FROM client_manager WHERE manager_id = ?")
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO client_manager (manager_id, name, branch_id, team_id, grade, status, updated_at, left_on)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(manager_id) DO UPDATE SET
                  name = excluded.name, branch_id = excluded.branch_id, team_id = excluded.team_id,
                  grade = excluded.grade, status = excluded.status, updated_at = excluded.updated_at, left_on = excluded.left_on
                """)
            var created = 0
            var written: [Crm_Compensation_V1_ClientManager] = []
            for var row in rows {
                let before = try Row.fetchOne(stored, arguments: [row.managerID])
                if before == nil { created += 1 }
                // LEFT without a day: the day already stored if the manager had left, else today.
                if row.status == .left, !row.hasLeftOn {
                    let storedDay: Int32? = before?["left_on"]
                    row.leftOn = (storedDay.map(CalendarDay.init(daysSince1970:)) ?? today).wire
                }
                let leftOn = row.status == .left ? CalendarDay(row.leftOn)?.daysSince1970 : nil
                try upsert.execute(arguments: [row.managerID, row.name, row.branchID, row.teamID, row.grade, row.status.rawValue, now, leftOn])
                written.append(row)
            }
            return (written, created, rows.count - created)
        }
    }

    func manager(id: String) async throws -> Crm_Compensation_V1_ClientManager? {
        try await database.read { db in try Self.manager(db, id: id) }
    }

    static func manager(_ db: Database, id: String) throws -> Crm_Compensation_V1_ClientManager? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM client_manager WHERE manager_id = ?"), arguments: [id]).map(Self.manager(from:))
    }

    /// The managers with the given ids that exist.
    static func existing(_ db: Database, ids: Set<String>) throws -> [String: Crm_Compensation_V1_ClientManager] {
        var found: [String: Crm_Compensation_V1_ClientManager] = [:]
        let all = Array(ids)
        for start in stride(from: 0, to: all.count, by: 500) {
            let part = Array(all[start..<min(start + 500, all.count)])
            let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
            for row in try Row.fetchAll(db, sql: "SELECT * FROM client_manager WHERE manager_id IN (\(marks))", arguments: StatementArguments(part)) {
                let manager = Self.manager(from: row)
                found[manager.managerID] = manager
            }
        }
        return found
    }

    /// Managers by id after `afterID`, optionally of one branch and team; at most `limit`.
    func list(branchID: String, teamID: String, managerID: String, afterID: String, limit: Int) async throws -> (managers: [Crm_Compensation_V1_ClientManager], total: Int) {
        try await database.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if !branchID.isEmpty { conditions.append("branch_id = ?"); arguments.append(branchID) }
            if !teamID.isEmpty { conditions.append("team_id = ?"); arguments.append(teamID) }
            if !managerID.isEmpty { conditions.append("manager_id = ?"); arguments.append(managerID) }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM client_manager \(filter)", arguments: StatementArguments(arguments)) ?? 0
            let page = (conditions + ["manager_id > ?"]).joined(separator: " AND ")
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM client_manager WHERE \(page) ORDER BY manager_id LIMIT ?",
                arguments: StatementArguments(arguments + [afterID, limit])
            )
            return (rows.map(Self.manager(from:)), total)
        }
    }

    /// Every manager (the roster), by id.
    static func all(_ db: Database) throws -> [Crm_Compensation_V1_ClientManager] {
        try Row.fetchAll(db, sql: "SELECT * FROM client_manager ORDER BY manager_id").map(Self.manager(from:))
    }

    static func manager(from row: Row) -> Crm_Compensation_V1_ClientManager {
        var manager = Crm_Compensation_V1_ClientManager()
        manager.managerID = row["manager_id"]
        manager.name = row["name"]
        manager.branchID = row["branch_id"]
        manager.teamID = row["team_id"]
        manager.grade = row["grade"]
        manager.status = Crm_Compensation_V1_ManagerStatus(rawValue: row["status"]) ?? .unspecified
        manager.updatedAt = .with { $0.unixMillis = row["updated_at"] }
        if let leftOn = row["left_on"] as Int32? { manager.leftOn = CalendarDay(daysSince1970: leftOn).wire }
        return manager
    }

    // MARK: Branches and teams

    func upsert(branches: [Crm_Compensation_V1_Branch]) async throws -> (created: Int, updated: Int) {
        let now = currentUnixMillis()
        return try await database.write { db in
            let exists = try db.cachedStatement(sql: "SELECT 1 FROM branch WHERE branch_id = ?")
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO branch (branch_id, name, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(branch_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
                """)
            var created = 0
            for branch in branches {
                if try Bool.fetchOne(exists, arguments: [branch.branchID]) == nil { created += 1 }
                try upsert.execute(arguments: [branch.branchID, branch.name, now])
            }
            return (created, branches.count - created)
        }
    }

    func branches() async throws -> [Crm_Compensation_V1_Branch] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM branch ORDER BY branch_id").map { row in
                .with {
                    $0.branchID = row["branch_id"]
                    $0.name = row["name"]
                    $0.updatedAt = .with { $0.unixMillis = row["updated_at"] }
                }
            }
        }
    }

    static func branchIDs(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT branch_id FROM branch"))
    }

    func upsert(teams: [Crm_Compensation_V1_Team]) async throws -> (created: Int, updated: Int) {
        let now = currentUnixMillis()
        return try await database.write { db in
            let exists = try db.cachedStatement(sql: "SELECT 1 FROM team WHERE team_id = ?")
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO team (team_id, branch_id, name, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(team_id) DO UPDATE SET branch_id = excluded.branch_id, name = excluded.name, updated_at = excluded.updated_at
                """)
            var created = 0
            for team in teams {
                if try Bool.fetchOne(exists, arguments: [team.teamID]) == nil { created += 1 }
                try upsert.execute(arguments: [team.teamID, team.branchID, team.name, now])
            }
            return (created, teams.count - created)
        }
    }

    func teams(branchID: String) async throws -> [Crm_Compensation_V1_Team] {
        try await database.read { db in
            let filter = branchID.isEmpty ? "" : "WHERE branch_id = ?"
            let arguments: StatementArguments = branchID.isEmpty ? [] : [branchID]
            return try Row.fetchAll(db, sql: "SELECT * FROM team \(filter) ORDER BY team_id", arguments: arguments).map(Self.team(from:))
        }
    }

    /// Every team by id.
    static func teams(_ db: Database) throws -> [String: Crm_Compensation_V1_Team] {
        var teams: [String: Crm_Compensation_V1_Team] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM team") {
            let team = team(from: row)
            teams[team.teamID] = team
        }
        return teams
    }

    /// The branches of the managers currently in each team, for teams that have managers.
    static func managerBranchesByTeam(_ db: Database) throws -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT DISTINCT team_id, branch_id FROM client_manager WHERE team_id <> ''") {
            result[row["team_id"], default: []].insert(row["branch_id"])
        }
        return result
    }

    private static func team(from row: Row) -> Crm_Compensation_V1_Team {
        .with {
            $0.teamID = row["team_id"]
            $0.branchID = row["branch_id"]
            $0.name = row["name"]
            $0.updatedAt = .with { $0.unixMillis = row["updated_at"] }
        }
    }
}
