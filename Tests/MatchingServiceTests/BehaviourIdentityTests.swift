import CRMProtos
import CRMSuitability
import CRMTestSupport
import Foundation
import GRDB
import Testing
@testable import MatchingService

/// Views and contacts from profiles' event log are keyed by identity, not by event id: two owners'
/// logs number events independently, and an event read again (from two owners, or again after the
/// copy starts following several) is applied once, in the store and in memory.
@Suite struct BehaviourIdentityTests {
    static func replica() throws -> (Replica, URL) {
        let path = URL(fileURLWithPath: TestFiles.sqlitePath("crm-behaviour"))
        let pool = try DatabasePool(path: path.path)
        try MatchingSchema.migrator.migrate(pool)
        return (Replica(database: pool, rules: SuitabilityRules(assessmentValidityYears: 2)), path)
    }

    static func view(_ id: UInt64, customer: String, key: String, at: Int64) -> Crm_Profiles_V1_LoggedEvent {
        .with {
            $0.eventID = id
            $0.productView = .with {
                $0.idempotencyKey = key; $0.customerID = customer; $0.productCode = "F001"; $0.productType = "FUND_MIXED"
                $0.viewedAt = .with { $0.unixMillis = at }
            }
        }
    }

    static func contact(_ id: UInt64, customer: String, key: String, at: Int64) -> Crm_Profiles_V1_LoggedEvent {
        .with {
            $0.eventID = id
            $0.serviceContact = .with {
                $0.idempotencyKey = key; $0.customerID = customer; $0.channel = .call; $0.outcome = .reached; $0.contactedAt = .with { $0.unixMillis = at }
            }
        }
    }

    static func events(_ replica: Replica, _ customer: String) -> Int {
        replica.memory.withLock { memory in
            memory.customers.row(of: customer).map { memory.behaviour.events[Int($0)].count } ?? 0
        }
    }

    static func keys(_ replica: Replica) throws -> [String] {
        try replica.database.read { db in try String.fetchAll(db, sql: "SELECT key FROM behaviour ORDER BY key") }
    }

    @Test func oneOwnerKeepsTodaysCursorNamesAndSeveralGetOneEach() {
        #expect(CopyStore.feed(.profiles, owner: "") == "profiles")
        #expect(CopyStore.feed(.events, owner: "") == "events")
        #expect(CopyStore.feed(.events, owner: "profiles-1") == "events.profiles-1")
        #expect(ProfilesEventIdentity.key(.productView, customerID: "C:1%", idempotencyKey: "a:b") == "pe:product_view:C%3A1%25:a:b")
        #expect(ProfilesEventIdentity.key(of: Self.view(1, customer: "C:1%", key: "a:b", at: 0), among: ProfilesEventIdentity.Kind.behaviour) == "pe:product_view:C%3A1%25:a:b")
        #expect(ProfilesEventIdentity.key(of: Self.contact(2, customer: "C1", key: "K1", at: 0), among: ProfilesEventIdentity.Kind.behaviour) == "pe:service_contact:C1:K1")
        #expect(ProfilesEventIdentity.key(of: .with { $0.trade = .with { $0.customerID = "C1"; $0.idempotencyKey = "T1" } }, among: ProfilesEventIdentity.Kind.behaviour) == nil)
    }

    @Test func theSameIdsFromTwoOwnersAreDifferentEventsAndTheSameEventTwiceCountsOnce() async throws {
        let (replica, path) = try Self.replica()
        defer { try? FileManager.default.removeItem(at: path) }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        try await replica.applyEvents([Self.view(1, customer: "C1", key: "V1", at: now - 1_000), Self.contact(2, customer: "C1", key: "K1", at: now - 500)],
                                      feed: "events.profiles-0")
        // Another owner's events 1 and 2: other events.
        try await replica.applyEvents([Self.view(1, customer: "C2", key: "V1", at: now - 900), Self.view(2, customer: "C2", key: "V2", at: now - 800)],
                                      feed: "events.profiles-1")
        #expect(try Self.keys(replica).count == 4)
        #expect(Self.events(replica, "C1") == 2 && Self.events(replica, "C2") == 2)
        // C1's events read again under other ids (its partition moved to the other owner).
        try await replica.applyEvents([Self.view(7, customer: "C1", key: "V1", at: now - 1_000), Self.contact(8, customer: "C1", key: "K1", at: now - 500)],
                                      feed: "events.profiles-1")
        #expect(try Self.keys(replica) == ["pe:product_view:C1:V1", "pe:product_view:C2:V1", "pe:product_view:C2:V2", "pe:service_contact:C1:K1"])
        #expect(Self.events(replica, "C1") == 2, "nothing applied twice in memory")
        #expect(replica.feeds.withLock { $0.behaviourApplied } == 4)
        #expect(replica.cursor("events.profiles-0") == 2 && replica.cursor("events.profiles-1") == 8)
        let stored = try await replica.database.read { db in try CopyStore.cursors(db) }
        #expect(stored == ["events.profiles-0": 2, "events.profiles-1": 8])
    }

    @Test func rowsKeyedByOneProcesssEventIdsAreTakenOverWhenReadAgainFromTheOwners() async throws {
        let (replica, path) = try Self.replica()
        defer { try? FileManager.default.removeItem(at: path) }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let old = [Self.view(1, customer: "C1", key: "V1", at: now - 1_000), Self.view(2, customer: "C1", key: "V2", at: now - 1_000),
                   Self.contact(3, customer: "C2", key: "K1", at: now - 500)]
        // A store written before identity keys: e<event id>, the events cursor at 3.
        try await replica.database.write { db in
            for logged in old {
                guard let item = BehaviourStore.event(of: logged, family: { _ in nil }) else { continue }
                try BehaviourStore.insert(db, key: "e\(logged.eventID)", customerID: item.customerID, productCode: item.productCode, event: item.event)
            }
            try CopyStore.setCursor(db, "events", 3)
        }
        try await replica.load()
        #expect(Self.events(replica, "C1") == 2 && Self.events(replica, "C2") == 1)
        #expect(try await replica.database.read { db in try BehaviourStore.hasLegacyEvents(db) })

        // Two owners now: their logs are read from the start, under other ids, plus one new view
        // with the same content as an old one (it is another event: it is added).
        try await replica.applyEvents([Self.contact(1, customer: "C2", key: "K1", at: now - 500)], feed: "events.profiles-1", adoptingLegacy: true)
        try await replica.applyEvents([Self.view(1, customer: "C1", key: "V2", at: now - 1_000), Self.view(2, customer: "C1", key: "V1", at: now - 1_000),
                                       Self.view(3, customer: "C1", key: "V3", at: now - 1_000)], feed: "events.profiles-0", adoptingLegacy: true)
        #expect(try Self.keys(replica) == ["pe:product_view:C1:V1", "pe:product_view:C1:V2", "pe:product_view:C1:V3", "pe:service_contact:C2:K1"])
        #expect(Self.events(replica, "C1") == 3 && Self.events(replica, "C2") == 1)
        #expect(replica.feeds.withLock { $0.behaviourApplied } == 1, "only the new view")
        #expect(try await replica.database.read { db in try BehaviourStore.hasLegacyEvents(db) } == false)
    }

    /// A new replica reads a year of profiles' log: views and contacts too old to count are stored
    /// (training reads past months from the store) but not held in memory, as a restart would not
    /// load them; compacting the lists keeps every event in order.
    @Test func eventsTooOldToCountAreStoredButNotHeld() async throws {
        let (replica, path) = try Self.replica()
        defer { try? FileManager.default.removeItem(at: path) }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let day = BusinessDays.millisPerDay
        let oldView = now - Int64(BehaviourFeatures.viewRetentionDays + 3) * day
        let oldContact = now - Int64(BehaviourFeatures.contactRetentionDays + 3) * day
        try await replica.applyEvents([Self.view(1, customer: "C1", key: "V-old", at: oldView), Self.contact(2, customer: "C1", key: "K-old", at: oldContact),
                                       Self.contact(3, customer: "C1", key: "K-new", at: oldContact + 5 * day),
                                       Self.view(4, customer: "C1", key: "V-new", at: now - 1_000)], feed: "events")
        #expect(try Self.keys(replica).count == 4, "every event stored")
        #expect(Self.events(replica, "C1") == 2, "only the two that can still count held")
        #expect(replica.feeds.withLock { $0.behaviourApplied } == 4)

        let before = replica.memory.withLock { memory in memory.customers.row(of: "C1").map { memory.behaviour.events[Int($0)] } ?? [] }
        replica.memory.withLock { $0.behaviour.compact() }
        let after = replica.memory.withLock { memory in memory.customers.row(of: "C1").map { memory.behaviour.events[Int($0)] } ?? [] }
        #expect(after == before && after.map(\.at) == [oldContact + 5 * day, now - 1_000])

        let restarted = Replica(database: replica.database, rules: SuitabilityRules(assessmentValidityYears: 2))
        try await restarted.load()
        #expect(Self.events(restarted, "C1") == 2, "a restart holds the same")
    }
}
