import CompensationSettlement
import CRMProtos
import GRDB

/// The store's own write API for tools that fill a compensation store directly, in one process,
/// as the RPCs and feed consumers would have (the benchmark, demo loaders). No checks: callers
/// give consistent data (ids unique, assignments of a customer not overlapping, tiers sound).
public enum BulkLoad {
    public static func branch(_ db: Database, id: String, name: String, atMillis: Int64) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO branch (branch_id, name, updated_at) VALUES (?, ?, ?)")
            .execute(arguments: [id, name, atMillis])
    }

    public static func team(_ db: Database, id: String, branchID: String, name: String, atMillis: Int64) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO team (team_id, branch_id, name, updated_at) VALUES (?, ?, ?, ?)")
            .execute(arguments: [id, branchID, name, atMillis])
    }

    public static func manager(_ db: Database, _ manager: Crm_Compensation_V1_ClientManager, atMillis: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO client_manager (manager_id, name, branch_id, team_id, grade, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [manager.managerID, manager.name, manager.branchID, manager.teamID, manager.grade, manager.status.rawValue, atMillis])
    }

    public static func assignment(_ db: Database, _ assignment: CustomerAssignment, atMillis: Int64) throws {
        try AssignmentStore.insert(db, assignment, recordedAtMillis: atMillis)
    }

    /// A scheme version as PutScheme stores it (version and dates as given).
    public static func scheme(_ db: Database, _ scheme: Crm_Compensation_V1_Scheme) throws {
        try RulesStore.save(db, scheme)
    }

    /// An income item as a feed consumer records it; false when its source event id was recorded. A
    /// profiles event's id is its identity (``ProfilesEventIdentity/key(_:customerID:idempotencyKey:)``),
    /// as the events feed records it.
    @discardableResult
    public static func income(_ db: Database, _ item: IncomeItem) throws -> Bool {
        try IncomeStore.record(db, item)
    }
}
