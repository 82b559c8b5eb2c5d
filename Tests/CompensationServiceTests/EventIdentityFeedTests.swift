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

/// Profiles events are recorded by their identity (kind, customer, idempotency key), not by the
/// event id each profiles process numbers on its own: events from real profiles services in
/// process, applied as the events feed applies them.
@Suite struct EventIdentityFeedTests {
    typealias H = CompensationHarness

    // MARK: Profiles in process

    static func startProfiles() async throws -> InProcessService<ProfilesService> {
        let path = TestFiles.sqlitePath("profiles")
        return try await InProcessService<ProfilesService>.start(databasePath: path, tokens: TestPrincipals.entries, settings: ["partitions.count": "1"])
    }

    static func customers(_ ids: [String], into profiles: InProcessService<ProfilesService>) async throws {
        let ingest = profiles.client(token: "ingest")
        for id in ids {
            _ = try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = .with {
                    $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(id)"; $0.branchID = "B1"; $0.status = .normal
                    $0.openDate = .day(2025, 3, 2)
                }
            })
        }
        await ingest.close()
    }

    static func trade(_ key: String, customer: String, on date: (Int, Int, Int), commission: Int64) -> Crm_Profiles_V1_TradeEvent {
        .with {
            $0.idempotencyKey = key
            $0.customerID = customer
            $0.account = .cash
            $0.side = .buy
            $0.instrument = "600519"
            $0.instrumentType = .stock
            $0.sector = "consumer"
            $0.quantity = 100
            $0.price = "100.00"
            $0.amount = .with { $0.minorUnits = 1_000_000 }
            $0.commission = .with { $0.minorUnits = commission }
            $0.fees = .with { $0.minorUnits = 20 }
            $0.tradedAt = .with { $0.unixMillis = H.millis(date.0, date.1, date.2) }
        }
    }

    static func interest(_ key: String, customer: String, on date: (Int, Int, Int), fen: Int64) -> Crm_Profiles_V1_MarginInterestEvent {
        .with { $0.idempotencyKey = key; $0.customerID = customer; $0.amount = .with { $0.minorUnits = fen }; $0.chargedAt = .with { $0.unixMillis = H.millis(date.0, date.1, date.2) } }
    }

    static func transfer(_ key: String, customer: String, on date: (Int, Int, Int), fen: Int64) -> Crm_Profiles_V1_FundTransferEvent {
        .with {
            $0.idempotencyKey = key; $0.customerID = customer; $0.direction = fen < 0 ? .withdrawal : .deposit
            $0.amount = .with { $0.minorUnits = abs(fen) }; $0.transferredAt = .with { $0.unixMillis = H.millis(date.0, date.1, date.2) }
        }
    }

    static func position(_ key: String, customer: String, on day: Crm_Common_V1_Date, cash: Int64) -> Crm_Profiles_V1_DailyPositionEvent {
        .with { $0.idempotencyKey = key; $0.customerID = customer; $0.tradingDay = day; $0.cash = .with { $0.minorUnits = cash } }
    }

    /// Ingests the events into `profiles` (each kind a batch).
    static func ingest(_ profiles: InProcessService<ProfilesService>, trades: [Crm_Profiles_V1_TradeEvent] = [], interest: [Crm_Profiles_V1_MarginInterestEvent] = [],
                       transfers: [Crm_Profiles_V1_FundTransferEvent] = [], positions: [Crm_Profiles_V1_DailyPositionEvent] = []) async throws {
        let client = profiles.client(token: "ingest")
        if !trades.isEmpty { _ = try await client.unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = trades }) }
        if !interest.isEmpty { _ = try await client.unary(Crm_Profiles_V1_Profiles.ingestMarginInterest, .with { $0.events = interest }) }
        if !transfers.isEmpty { _ = try await client.unary(Crm_Profiles_V1_Profiles.ingestFundTransfers, .with { $0.events = transfers }) }
        if !positions.isEmpty { _ = try await client.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, .with { $0.events = positions }) }
        await client.close()
    }

    /// Profiles' log as the events feed reads it.
    static func logged(_ profiles: InProcessService<ProfilesService>) async throws -> [Crm_Profiles_V1_LoggedEvent] {
        let client = profiles.client(token: "peer")
        let events = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, Crm_Profiles_V1_StreamEventsRequest.with {
            $0.types = FeedSources.eventTypes
        }).collect()
        await client.close()
        return events
    }

    static func count(_ harness: H, _ sql: String) async throws -> Int {
        try await harness.service.database.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    // MARK: Two logs, one id

    @Test func twoDifferentEventsWithTheSameIdFromTwoProfilesProcessesAreBothKept() async throws {
        let first = try await Self.startProfiles(), second = try await Self.startProfiles()
        try await Self.customers(["C1", "C2"], into: first)
        try await Self.customers(["C3", "C4"], into: second)
        // The same keys, different customers: each process's log numbers its events 1, 2, 3.
        for (profiles, a, b) in [(first, "C1", "C2"), (second, "C3", "C4")] {
            try await Self.ingest(profiles, trades: [Self.trade("T1", customer: a, on: (2025, 3, 3), commission: 5_000)],
                                  interest: [Self.interest("I1", customer: b, on: (2025, 3, 31), fen: 333)],
                                  transfers: [Self.transfer("F1", customer: a, on: (2025, 3, 5), fen: 50_000)])
        }
        let fromFirst = try await Self.logged(first), fromSecond = try await Self.logged(second)
        #expect(fromFirst.map(\.eventID) == fromSecond.map(\.eventID))

        let harness = try await H.start()
        try await harness.record(fromFirst)
        try await harness.record(fromSecond)
        #expect(try await Self.count(harness, "SELECT COUNT(*) FROM income_item") == 4)
        #expect(try await Self.count(harness, "SELECT SUM(amount_fen) FROM income_item") == 2 * (5_000 + 333))
        #expect(try await Self.count(harness, "SELECT COUNT(*) FROM asset_flow") == 2)
        #expect(try await Self.count(harness, "SELECT SUM(amount_fen) FROM asset_flow") == 100_000)
        let ids = try await harness.service.database.read { db in try String.fetchAll(db, sql: "SELECT source_event_id FROM income_item ORDER BY ingest_sequence") }
        #expect(ids == ["pe:trade:C1:T1", "pe:margin_interest:C2:I1", "pe:trade:C3:T1", "pe:margin_interest:C4:I1"])

        try await harness.stop()
        try await first.stop()
        try await second.stop()
    }

    @Test func theSameEventUnderAnotherIdIsAppliedOnce() async throws {
        // As after a partition move: the second process logs the same events after one of its own,
        // so every one of them carries another id.
        let first = try await Self.startProfiles(), second = try await Self.startProfiles()
        try await Self.customers(["C1", "C2"], into: first)
        try await Self.customers(["C1", "C2", "C9"], into: second)
        try await Self.ingest(second, trades: [Self.trade("T9", customer: "C9", on: (2025, 3, 2), commission: 1_000)])
        for profiles in [first, second] {
            try await Self.ingest(profiles, trades: [Self.trade("T1", customer: "C1", on: (2025, 3, 3), commission: 5_000)],
                                  interest: [Self.interest("I1", customer: "C2", on: (2025, 3, 31), fen: 333)],
                                  transfers: [Self.transfer("F1", customer: "C1", on: (2025, 3, 5), fen: -20_000)],
                                  positions: [Self.position("P1", customer: "C1", on: .day(2025, 3, 31), cash: 70_000)])
        }
        let fromFirst = try await Self.logged(first), fromSecond = try await Self.logged(second)
        #expect(fromSecond.dropFirst().map(\.eventID) == fromFirst.map { $0.eventID + 1 })

        let harness = try await H.start()
        try await harness.record(fromFirst)
        try await harness.record(fromSecond)
        try await harness.record(fromFirst)
        // The first process's two income items and its transfer, once; C9's trade, new.
        #expect(try await Self.count(harness, "SELECT COUNT(*) FROM income_item") == 3)
        #expect(try await Self.count(harness, "SELECT SUM(amount_fen) FROM income_item") == 5_000 + 333 + 1_000)
        #expect(try await Self.count(harness, "SELECT COUNT(*) FROM asset_flow") == 1)
        #expect(try await Self.count(harness, "SELECT SUM(amount_fen) FROM asset_flow") == -20_000)
        #expect(try await Self.count(harness, "SELECT SUM(total_fen) FROM customer_assets") == 70_000)

        try await harness.stop()
        try await first.stop()
        try await second.stop()
    }
}
