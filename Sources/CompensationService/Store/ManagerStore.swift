import CRMProtos
import CRMStore
import GRDB

/// Reads and writes client managers. Every method is one transaction.
struct ManagerStore: Sendable {
    let database: DatabasePool

    /// Inserts or replaces a manager; returns the stored row and whether it is new.
    func upsert(_ manager: Crm_Compensation_V1_ClientManager) async throws -> (Crm_Compensation_V1_ClientManager, created: Bool) {
        var stored = manager
        stored.updatedAt = .with { $0.unixMillis = currentUnixMillis() }
        let row = stored
        let created = try await database.write { db -> Bool in
            let existed = try Bool.fetchOne(db, sql: "SELECT 1 FROM client_manager WHERE manager_id = ?", arguments: [row.managerID]) ?? false
            try db.execute(
                sql: """
                INSERT INTO client_manager (manager_id, name, branch_id, team_id, grade, status, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(manager_id) DO UPDATE SET
                  name = excluded.name, branch_id = excluded.branch_id, team_id = excluded.team_id,
                  grade = excluded.grade, status = excluded.status, updated_at = excluded.updated_at
                """,
                arguments: [
                    row.managerID, row.name, row.branchID, row.teamID, row.grade, row.status.rawValue,
                    row.updatedAt.unixMillis,
                ]
            )
            return !existed
        }
        return (stored, created)
    }

    func manager(id: String) async throws -> Crm_Compensation_V1_ClientManager? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM client_manager WHERE manager_id = ?", arguments: [id]).map(Self.manager(from:))
        }
    }

    private static func manager(from row: Row) -> Crm_Compensation_V1_ClientManager {
        var manager = Crm_Compensation_V1_ClientManager()
        manager.managerID = row["manager_id"]
        manager.name = row["name"]
        manager.branchID = row["branch_id"]
        manager.teamID = row["team_id"]
        manager.grade = row["grade"]
        manager.status = Crm_Compensation_V1_ManagerStatus(rawValue: row["status"]) ?? .unspecified
        manager.updatedAt = .with { $0.unixMillis = row["updated_at"] }
        return manager
    }
}
