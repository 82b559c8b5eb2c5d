import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CRMTestSupport
import Foundation
import GRDB
import ProfilesService
import Testing
@testable import CompensationService

/// A store from before events were keyed by identity (rows keyed `pe:<event_id>` by one profiles
/// process, schema through `v3-manager-left-on`), upgraded: statements exactly as before, its old
/// events recognised when delivered again under any id, and a peer whose log is not the one the
/// store followed refused rather than guessed.
@Suite struct LegacyEventKeysTests {
    typealias H = CompensationHarness
    typealias F = EventIdentityFeedTests

    /// What the events feed recorded before the upgrade (FeedSources.apply as it was): trades and
    /// margin interest under `pe:<event_id>`, transfers in `asset_flow` by event id, positions as now.
    static func legacyApply(_ db: Database, _ event: Crm_Profiles_V1_LoggedEvent, costs: TradeCostSchedule) throws {
        let id = "pe:\(event.eventID)"
        switch event.body {
        case .trade(let trade):
            let commission = TradeCommission(
                account: trade.account == .margin ? .margin : .cash, commissionFen: trade.commission.minorUnits,
                exchangeFeesFen: trade.fees.minorUnits, regulatoryFeesFen: 0, otherCosts: costs.costs(ofTradeAmount: trade.amount.minorUnits)
            )
            try IncomeStore.record(db, IncomeItem(
                sourceEventID: id, customerID: trade.customerID, day: BusinessCalendar.day(ofUnixMillis: trade.tradedAt.unixMillis),
                occurredAtMillis: trade.tradedAt.unixMillis, kind: .trade(commission), isAdjustment: trade.commission.minorUnits < 0
            ))
        case .marginInterest(let interest):
            try IncomeStore.record(db, IncomeItem(
                sourceEventID: id, customerID: interest.customerID, day: BusinessCalendar.day(ofUnixMillis: interest.chargedAt.unixMillis),
                occurredAtMillis: interest.chargedAt.unixMillis, kind: .marginInterest(interestFen: interest.amount.minorUnits),
                isAdjustment: interest.amount.minorUnits < 0
            ))
        case .fundTransfer(let transfer):
            let amount = transfer.direction == .withdrawal ? -transfer.amount.minorUnits : transfer.amount.minorUnits
            try db.execute(sql: "INSERT INTO asset_flow (event_id, customer_id, day, amount_fen) VALUES (?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
                           arguments: [Int64(event.eventID), transfer.customerID, BusinessCalendar.day(ofUnixMillis: transfer.transferredAt.unixMillis).daysSince1970, amount])
        case .dailyPosition:
            try FeedSources.apply(db, event, costs: costs)
        default:
            break
        }
    }

    /// A store as the previous version leaves it after following `profiles` to its end.
    static func legacyStore(following profiles: InProcessService<ProfilesService>) async throws -> String {
        let path = TestFiles.sqlitePath("compensation-legacy")
        let pool = try DatabasePool(path: path)
        try CompensationSchema.migrator.migrate(pool, upTo: "v3-manager-left-on")
        let events = try await F.logged(profiles)
        let client = profiles.client(token: "peer")
        let changes = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamChanges, Crm_Profiles_V1_StreamChangesRequest()).collect()
        await client.close()
        let costs = try CompensationSettings(H.settings).tradeCosts
        try await pool.write { db in
            for change in changes { try FeedSources.apply(db, change) }
            try IncomeStore.setCursor(db, feed: FeedSources.profilesCustomers, position: changes.last?.sequence ?? 0)
            for event in events { try legacyApply(db, event, costs: costs) }
            try IncomeStore.setCursor(db, feed: FeedSources.profilesEvents, position: events.last?.eventID ?? 0)
        }
        try pool.close()
        return path
    }

    /// C1 and C2 with March's and April's activity.
    static func marchAndApril() async throws -> InProcessService<ProfilesService> {
        let profiles = try await F.startProfiles()
        try await F.customers(["C1", "C2"], into: profiles)
        try await F.ingest(profiles,
                           trades: [F.trade("T1", customer: "C1", on: (2025, 3, 3), commission: 5_000), F.trade("T2", customer: "C2", on: (2025, 3, 10), commission: 7_000),
                                    F.trade("T3", customer: "C1", on: (2025, 4, 2), commission: 2_000)],
                           interest: [F.interest("I1", customer: "C2", on: (2025, 3, 31), fen: 333)],
                           transfers: [F.transfer("F1", customer: "C1", on: (2025, 3, 5), fen: 50_000), F.transfer("F2", customer: "C2", on: (2025, 3, 20), fen: -10_000)],
                           positions: [F.position("P1", customer: "C1", on: .day(2025, 3, 31), cash: 200_000), F.position("P2", customer: "C2", on: .day(2025, 3, 31), cash: 300_000)])
        return profiles
    }

    static func peer(_ profiles: InProcessService<ProfilesService>) -> RPCClient {
        RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: profiles.port)], token: "peer", defaultDeadline: .seconds(10)))
    }

    /// M1 in charge of C1, M2 of C2; March and April settled; both managers' statements and March's
    /// figures, as one comparable list.
    static func settled(_ harness: H) async throws -> [String] {
        try await harness.organisation()
        try await harness.putScheme()
        try await harness.assign("C1", to: "M1", from: .day(2025, 3, 1))
        try await harness.assign("C2", to: "M2", from: .day(2025, 3, 1))
        var results: [String] = []
        for month in ["2025-03", "2025-04"] {
            let summary = try await harness.settle(month)
            results.append("\(month) lines \(summary.lines) adjustments \(summary.adjustments) pay \(summary.totalPayFen)")
            for manager in ["M1", "M2"] {
                var statement = try await harness.statement(manager, month).statement
                statement.clearSettledAt()  // when it ran, the only thing allowed to differ
                results.append(statement.textFormatString())
            }
        }
        let figures = try await harness.call(Crm_Compensation_V1_Compensation.getAssessmentFigures, .with { $0.month = "2025-03" }, token: "office")
        results.append(figures.managers.map { $0.textFormatString() }.joined())
        return results
    }

    @Test func anUpgradedStoreSettlesAsBeforeAndAppliesNoOldEventTwice() async throws {
        let profiles = try await Self.marchAndApril()
        let events = try await F.logged(profiles)

        // Before: the old store as it stands, read by the new version without following anything.
        let reference = try await H.start(path: try await Self.legacyStore(following: profiles))
        let before = try await Self.settled(reference)
        try await reference.stop()
        #expect(before[1].contains("source_event_id: \"pe:1\""))

        // Upgraded, following the same profiles process (two events a page, so learning pages too).
        let peer = Self.peer(profiles)
        let settings = H.settings.merging(["feeds.batch": "2"]) { $1 }
        let upgraded = try await H.start(path: try await Self.legacyStore(following: profiles), peers: ["profiles": peer], settings: settings)
        try await upgraded.service.service.catchUpFeeds()
        #expect(try await F.count(upgraded, "SELECT COUNT(*) FROM legacy_profiles_event WHERE identity IS NOT NULL") == 6)
        #expect(try await F.count(upgraded, "SELECT COUNT(*) FROM legacy_profiles_event WHERE identity IS NULL") == 0)
        // Every old event delivered again: from the start of the same log, and under other ids (as
        // from another process after a partition move).
        try await upgraded.service.database.write { db in try IncomeStore.setCursor(db, feed: FeedSources.profilesEvents, position: 0) }
        try await upgraded.service.service.catchUpFeeds()
        try await upgraded.record(events.map { event in var moved = event; moved.eventID += 1_000; return moved })
        #expect(try await F.count(upgraded, "SELECT COUNT(*) FROM income_item") == 4)
        #expect(try await F.count(upgraded, "SELECT SUM(amount_fen) FROM income_item") == 5_000 + 7_000 + 2_000 + 333)
        #expect(try await F.count(upgraded, "SELECT COUNT(*) FROM asset_flow") == 2)
        #expect(try await F.count(upgraded, "SELECT SUM(amount_fen) FROM asset_flow") == 40_000)

        // The same statements, line for line (old lines keep their "pe:<event_id>"), and the same figures.
        let after = try await Self.settled(upgraded)
        #expect(after == before)

        // What arrives now is keyed by identity.
        try await F.ingest(profiles, trades: [F.trade("T4", customer: "C1", on: (2025, 5, 2), commission: 1_000)])
        try await upgraded.service.service.catchUpFeeds()
        #expect(try await F.count(upgraded, "SELECT COUNT(*) FROM income_item WHERE source_event_id = 'pe:trade:C1:T4'") == 1)
        #expect(try await F.count(upgraded, "SELECT COUNT(*) FROM income_item") == 5)

        try await upgraded.stop()
        await peer.close()
        try await profiles.stop()
    }

    @Test func aPeerWhoseLogIsNotTheOneTheStoreFollowedIsRefused() async throws {
        let followed = try await Self.marchAndApril()
        let path = try await Self.legacyStore(following: followed)
        try await followed.stop()
        // Another process: the same customers, other events under the same ids.
        let other = try await F.startProfiles()
        try await F.customers(["C1", "C2"], into: other)
        try await F.ingest(other, trades: [F.trade("X1", customer: "C2", on: (2025, 3, 3), commission: 9_000)])
        let peer = Self.peer(other)
        let harness = try await H.start(path: path, peers: ["profiles": peer])
        let refusal = await #expect(throws: Refusal.self) { try await harness.service.service.catchUpFeeds() }
        #expect(refusal?.kind == .failedPrecondition)
        #expect(refusal?.fields.map(\.field) == ["legacy_profiles_event.event_id"])
        #expect(refusal?.message.contains("1:") == true)
        // Nothing of the other log was applied, and nothing was learnt.
        #expect(try await F.count(harness, "SELECT COUNT(*) FROM income_item") == 4)
        #expect(try await F.count(harness, "SELECT COUNT(*) FROM legacy_profiles_event WHERE identity IS NOT NULL") == 0)
        try await harness.stop()
        await peer.close()
        try await other.stop()
    }
}
