import CRMProtos
import CRMRPC
import CRMRules
import CRMStore
import CustomerDimensions
import GRDB
import Synchronization

/// Saved segments: a name, a rule in the rule language, a description.
struct SegmentStore: Sendable {
    let database: DatabasePool
    /// The saved segments compiled once, for the 360 view's membership list; dropped on every save.
    private let cache = CompiledSegments()

    init(database: DatabasePool) {
        self.database = database
    }

    /// Every saved segment whose rule compiles, compiled (from the cache after the first call).
    func compiled(_ compile: (String) -> CompiledRule?) async throws -> [(name: String, rule: CompiledRule)] {
        let (cached, generation) = cache.read()
        if let cached { return cached }
        let fresh = try await all().compactMap { segment in compile(segment.rule).map { (segment.name, $0) } }
        cache.store(fresh, ifStill: generation)
        return fresh
    }

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
        cache.invalidate()
        return stored
    }

    func segment(named name: String) async throws -> Crm_Profiles_V1_Segment? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM segment WHERE name = ?", arguments: [name]).map(Self.segment(from:))
        }
    }

    func all() async throws -> [Crm_Profiles_V1_Segment] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM segment ORDER BY name").map(Self.segment(from:))
        }
    }

    private static func segment(from row: Row) -> Crm_Profiles_V1_Segment {
        .with {
            $0.name = row["name"]
            $0.rule = row["rule"]
            $0.description_p = row["description"]
            $0.updatedAt = .with { $0.unixMillis = row["updated_at"] }
        }
    }
}

/// The compiled-segment cache. A generation number keeps a list compiled before a save from being
/// stored after it.
final class CompiledSegments: Sendable {
    private let state = Mutex<(list: [(name: String, rule: CompiledRule)]?, generation: Int)>((nil, 0))

    func read() -> ([(name: String, rule: CompiledRule)]?, Int) {
        state.withLock { ($0.list, $0.generation) }
    }

    func store(_ list: [(name: String, rule: CompiledRule)], ifStill generation: Int) {
        state.withLock { if $0.generation == generation { $0.list = list } }
    }

    func invalidate() {
        state.withLock {
            $0.list = nil
            $0.generation += 1
        }
    }
}
