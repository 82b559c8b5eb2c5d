import CRMProtos
import CRMRPC
import CRMStore
import CRMTestSupport
import Testing
@testable import CompensationService

/// `crm_compensation_settlement_duration_seconds`: every SettleMonth run is timed, by how it ended.
@Suite struct SettlementMetricsTests {
    typealias H = CompensationHarness

    /// The value of the sample line `name{labels}` in a text exposition, if it is there.
    static func sample(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func settlementRunsAreTimedByOutcome() async throws {
        try await withService(await H.start()) { harness in
            func count(_ outcome: String) async -> Double? {
                let text = String(decoding: await harness.service.metrics.exposition(), as: UTF8.self)
                return Self.sample(text, "crm_compensation_settlement_duration_seconds_count{service=\"compensation\",outcome=\"\(outcome)\"}")
            }
            try await harness.organisation()
            try await harness.putScheme()
            try await harness.customers(["C1"])
            try await harness.assign("C1", to: "M1", from: .day(2025, 1, 1))
            try await harness.record([H.trade(1, customer: "C1", on: (2025, 3, 3), commission: 10_000, fees: 0, amount: 0)])
            #expect(await count("closed") == nil)

            try await harness.settle("2025-03")
            #expect(await count("closed") == 1)
            // Settling a closed month again recomputes it and finds the same statements.
            try await harness.settle("2025-03")
            #expect(await count("closed") == 1)
            #expect(await count("recomputed") == 1)
            // A month that has not ended is refused by the settlement itself: a failed run.
            let today = BusinessCalendar.day(ofUnixMillis: currentUnixMillis())
            #expect(await statusOf { try await harness.settle(today.month.description) }?.code == .failedPrecondition)
            #expect(await count("failed") == 1)
            let text = String(decoding: await harness.service.metrics.exposition(), as: UTF8.self)
            #expect(text.contains("# TYPE crm_compensation_settlement_duration_seconds histogram"))
        }
    }
}
