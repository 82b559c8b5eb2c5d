import CRMProtos
import CRMRPC
import CRMStore
import GRDB

/// Saved segments: a name, a rule in the rule language, a description.
struct SegmentStore: Sendable {
    let database: DatabasePool

    func save(_ segment: Crm_Profiles_V1_Segment) async throws -> Crm_Profiles_V1_Segment {
        var stored = segment
        let now = currentUnixMillis()
        stored.updatedAt = .with { $0.unixMillis = now }
        try await database.write { db in
            try db.execute(
                sql: """
                INSERT INTO segment (name, rule, description, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET rule = excluded.rule, description = excluded.description, updated_at = excluded.updated_at
                """,
                arguments: [segment.name, segment.rule, segment.description_p, now]
            )
        }
        return stored
    }

    func segment(named name: String) async throws -> Crm_Profiles_V1_Segment? {
        try await all().first { $0.name == name }
    }

    func all() async throws -> [Crm_Profiles_V1_Segment] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM segment ORDER BY name").map { row in
                .with {
                    $0.name = row["name"]
                    $0.rule = row["rule"]
                    $0.description_p = row["description"]
                    $0.updatedAt = .with { $0.unixMillis = row["updated_at"] }
                }
            }
        }
    }
}
