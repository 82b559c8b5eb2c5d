import CRMProtos
import CRMRPC
import CRMTestSupport
@testable import CustomerDimensions
import Foundation
import Testing
@testable import ProfilesService

/// The event log (StreamEvents) and point-in-time dimensions (StreamDimensionsAsOf).
@Suite struct EventLogTests {
    static func interest(_ key: String, customer: String, fen: Int64, day: Int32) -> Crm_Profiles_V1_MarginInterestEvent {
        .with {
            $0.idempotencyKey = key
            $0.customerID = customer
            $0.amount = .with { $0.minorUnits = fen }
            $0.chargedAt = .with { $0.unixMillis = Int64(Days.day(year: 2026, month: 6, day: day)) * Days.millisPerDay + 3_600_000 }
        }
    }

    func events(_ harness: ProfilesHarness, after: UInt64, types: [Crm_Profiles_V1_EventType] = [], limit: UInt32 = 0) async throws -> [Crm_Profiles_V1_LoggedEvent] {
        try await harness.office.serverStreaming(
            Crm_Profiles_V1_Profiles.streamEvents,
            Crm_Profiles_V1_StreamEventsRequest.with { $0.afterEventID = after; $0.types = types; $0.limit = limit }).collect()
    }

    @Test func theLogHoldsEachAcceptedEventOnceInOrderAndResumes() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1")
            _ = try await harness.ingestTrades([ProfilesHarness.trade("t1", customer: "C1"), ProfilesHarness.trade("t2", customer: "C1", day: 11)])
            _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestMarginInterest, Crm_Profiles_V1_IngestMarginInterestRequest.with {
                $0.events = [Self.interest("i1", customer: "C1", fen: 1234, day: 12)]
            })
            // A retried batch adds nothing to the log.
            _ = try await harness.ingestTrades([ProfilesHarness.trade("t1", customer: "C1")])

            let all = try await events(harness, after: 0)
            #expect(all.map(\.type) == [.trade, .trade, .marginInterest])
            #expect(all.map(\.trade.idempotencyKey).prefix(2) == ["t1", "t2"])
            #expect(all[2].marginInterest.amount.minorUnits == 1234)
            #expect(zip(all, all.dropFirst()).allSatisfy { $0.eventID < $1.eventID })

            let rest = try await events(harness, after: all[0].eventID)
            #expect(rest.map(\.eventID) == all.dropFirst().map(\.eventID))
            let interestOnly = try await events(harness, after: 0, types: [.marginInterest])
            #expect(interestOnly.map(\.eventID) == [all[2].eventID])
            let firstOne = try await events(harness, after: 0, limit: 1)
            #expect(firstOne.map(\.eventID) == [all[0].eventID])

            let refused = await statusOf { _ = try await events(harness, after: 0, types: [.unspecified]) }
            #expect(refused?.code == .invalidArgument)
            #expect(refused?.fieldViolations.first?.field == "types[0]")
        }
    }

    @Test func dimensionsAsOfAPastDaySeeOnlyWhatHadHappenedByThen() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1")
            try await harness.upsert("C2")
            _ = try await harness.ingestTrades([
                ProfilesHarness.trade("a", customer: "C1", day: 5),
                ProfilesHarness.trade("b", customer: "C1", day: 20),
                ProfilesHarness.trade("c", customer: "C2", day: 20),
            ])
            func asOf(_ day: Int32) async throws -> [Crm_Profiles_V1_CustomerDimensions] {
                try await harness.office.serverStreaming(
                    Crm_Profiles_V1_Profiles.streamDimensionsAsOf,
                    Crm_Profiles_V1_StreamDimensionsAsOfRequest.with { $0.asOf = .init(year: 2026, month: 6, day: day) }).collect()
            }
            let early = try await asOf(10)
            #expect(early.map(\.customerID) == ["C1", "C2"])
            #expect(early[0].numbers["lifetime_trade_count"] == 1)
            #expect(early[1].numbers["lifetime_trade_count"] == 0)
            #expect(early[0].asOf == .init(year: 2026, month: 6, day: 10))
            let late = try await asOf(30)
            #expect(late[0].numbers["lifetime_trade_count"] == 2)
            #expect(late[1].numbers["lifetime_trade_count"] == 1)
            // A page resumes after a customer id.
            let page = try await harness.office.serverStreaming(
                Crm_Profiles_V1_Profiles.streamDimensionsAsOf,
                Crm_Profiles_V1_StreamDimensionsAsOfRequest.with { $0.asOf = .init(year: 2026, month: 6, day: 30); $0.afterCustomerID = "C1" }).collect()
            #expect(page.map(\.customerID) == ["C2"])
            let refused = await statusOf { _ = try await harness.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, Crm_Profiles_V1_StreamDimensionsAsOfRequest()).collect() }
            #expect(refused?.code == .invalidArgument)
        }
    }
}
