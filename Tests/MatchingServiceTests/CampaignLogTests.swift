import CRMProtos
import CRMTestSupport
import Foundation
import GRDB
import Testing
@testable import MatchingService

/// The campaign log two replicas exchange (``CampaignLog``, ``CampaignStore``): the same campaign
/// id created on both settles on the one created first, contacts are united keeping the earlier,
/// and an entry that changes nothing is not logged again, so exchanging logs comes to rest.
@Suite struct CampaignLogTests {
    private static func store() throws -> (CampaignStore, URL) {
        let path = URL(fileURLWithPath: TestFiles.sqlitePath("campaign-log"))
        let pool = try DatabasePool(path: path.path)
        try MatchingSchema.migrator.migrate(pool)
        return (CampaignStore(database: pool), path)
    }

    private static func remove(_ paths: [URL]) {
        for path in paths {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path.path + suffix) }
        }
    }

    private static func campaign(_ id: String) -> Crm_Matching_V1_Campaign {
        .with { $0.campaignID = id; $0.productCode = "B001"; $0.name = "Bonds"; $0.targetSize = 3 }
    }

    private static func contact(_ customer: String, _ outcome: Crm_Matching_V1_ContactOutcome, manager: String = "M1") -> Crm_Matching_V1_CampaignContact {
        .with { $0.campaignID = "X"; $0.customerID = customer; $0.outcome = outcome; $0.managerID = manager }
    }

    /// Reads each store's log from the other until neither changes; answers the rounds it took.
    private static func exchange(_ a: CampaignStore, _ b: CampaignStore) async throws -> Int {
        var rounds = 0
        while true {
            rounds += 1
            let aPosition = try await b.position(sibling: "a"), bPosition = try await a.position(sibling: "b")
            let fromA = try await a.log(logID: aPosition.logID, after: aPosition.sequence, limit: 1_000)
            let changedB = try await b.apply(fromA, sibling: "a")
            let fromB = try await b.log(logID: bPosition.logID, after: bPosition.sequence, limit: 1_000)
            let changedA = try await a.apply(fromB, sibling: "b")
            if changedA == 0 && changedB == 0 { return rounds }
            guard rounds < 10 else { throw CancellationError() }
        }
    }

    private static func state(_ store: CampaignStore) async throws -> (Crm_Matching_V1_CampaignCreated?, [String]) {
        try await store.database.read { db in
            let created = try CampaignLog.created(db, campaignID: "X")
            let contacts = try Row.fetchAll(db, sql: "SELECT customer_id, outcome, at, manager_id FROM campaign_contact ORDER BY customer_id, outcome")
                .map { "\($0[0] as String)/\($0[1] as Int)/\($0[2] as Int64)/\($0[3] as String)" }
            return (created, contacts)
        }
    }

    private static func logLength(_ store: CampaignStore) async throws -> Int {
        try await store.log(logID: "", after: 0, limit: 10_000).count
    }

    @Test func twoReplicasSettleOnTheCampaignCreatedFirstAndUniteTheirContacts() async throws {
        let (a, pathA) = try Self.store(), (b, pathB) = try Self.store()
        defer { Self.remove([pathA, pathB]) }
        // The same id created on both before either read the other (a retry sent elsewhere): A's
        // first, or in the same millisecond with the smaller model version.
        let (createdA, _) = try await a.insertIfAbsent(Self.campaign("X"), targets: [.init(customerID: "C1", score: 0.9), .init(customerID: "C2", score: 0.8)],
                                                       modelVersion: "m1")
        let (createdB, _) = try await b.insertIfAbsent(Self.campaign("X"), targets: [.init(customerID: "C2", score: 0.7), .init(customerID: "C3", score: 0.6)],
                                                       modelVersion: "m2")
        #expect(createdA.createdAt.unixMillis <= createdB.createdAt.unixMillis)
        // Contacts on each, one (C2 reached) on both at different instants.
        _ = try await a.record(Self.contact("C1", .reached), at: 1_000)
        _ = try await a.record(Self.contact("C2", .reached, manager: "M2"), at: 3_000)
        _ = try await b.record(Self.contact("C2", .reached), at: 2_000)
        _ = try await b.record(Self.contact("C3", .declined), at: 4_000)

        let rounds = try await Self.exchange(a, b)
        #expect(rounds <= 3, "the exchange comes to rest")
        let (stateA, stateB) = (try await Self.state(a), try await Self.state(b))
        #expect(stateA.0 == stateB.0)
        #expect(stateA.0?.campaign.modelVersion == "m1", "the campaign created first")
        #expect(stateA.0?.targets.map(\.customerID) == ["C1", "C2"])
        #expect(stateA.1 == stateB.1)
        let reached = Crm_Matching_V1_ContactOutcome.reached.rawValue, declined = Crm_Matching_V1_ContactOutcome.declined.rawValue
        #expect(stateA.1 == ["C1/\(reached)/1000/M1", "C2/\(reached)/2000/M1", "C3/\(declined)/4000/M1"], "united, the earlier of the two kept")

        // At rest, reading again changes nothing and logs nothing.
        let lengths = (try await Self.logLength(a), try await Self.logLength(b))
        #expect(try await Self.exchange(a, b) == 1)
        #expect((try await Self.logLength(a), try await Self.logLength(b)) == lengths)
        // A's log: its campaign, its two contacts, then what B's brought that changed A (B's C2
        // contact, earlier; B's C3 contact). B's own campaign lost, so it never entered A's log.
        #expect(lengths.0 == 5)
    }

    @Test func aPositionInAnotherLogReadsThisLogFromItsStart() async throws {
        let (a, path) = try Self.store()
        defer { Self.remove([path]) }
        _ = try await a.insertIfAbsent(Self.campaign("X"), targets: [.init(customerID: "C1", score: 0.9)], modelVersion: "m1")
        _ = try await a.record(Self.contact("C1", .reached), at: 1_000)
        let all = try await a.log(logID: "", after: 0, limit: 100)
        #expect(all.map(\.sequence) == [1, 2])
        let own = try #require(all.first?.logID)
        #expect(try await a.log(logID: own, after: 1, limit: 100).map(\.sequence) == [2])
        #expect(try await a.log(logID: "a-store-made-before", after: 2, limit: 100).map(\.sequence) == [1, 2])
    }

    @Test func aStoreFromBeforeTheLogLogsTheCampaignsAndContactsItHolds() throws {
        let database = try DatabaseQueue()
        try MatchingSchema.migrator.migrate(database, upTo: "v4-behaviour-from-purchases")
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO campaign (campaign_id, product_code, name, created_at, target_size, model_version, targets)
                VALUES ('OLD', 'B001', 'Old', 1700000000000, 2, 'm0', 2)
                """)
            try db.execute(sql: "INSERT INTO campaign_target (campaign_id, rank, customer_id, score) VALUES ('OLD', 1, 'C1', 0.5), ('OLD', 2, 'C2', 0.4)")
            try db.execute(sql: "INSERT INTO campaign_contact (campaign_id, customer_id, outcome, at, manager_id) VALUES ('OLD', 'C2', 1, 1700000001000, 'M1')")
        }
        try MatchingSchema.migrator.migrate(database)
        let entries = try database.read { db in try CampaignLog.entries(db, after: 0, limit: 10) }
        guard entries.count == 2, case .created(let created) = entries[0].change, case .contact(let contact) = entries[1].change else {
            Issue.record("expected the campaign then its contact: \(entries)")
            return
        }
        #expect(created.targets.map(\.customerID) == ["C1", "C2"] && created.campaign.modelVersion == "m0")
        #expect(contact.contact.customerID == "C2" && contact.contact.at.unixMillis == 1_700_000_001_000)
    }
}
