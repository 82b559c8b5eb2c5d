import CRMProtos
import CRMRPC
import Testing
@testable import CompensationService

/// GetAssessmentFigures over the store: positions, transfers, openings and trades as the feeds
/// record them, attributed day by day, rolled up and ranked.
@Suite struct AssessmentFiguresTests {
    typealias H = CompensationHarness

    static func position(_ id: UInt64, customer: String, on day: Crm_Common_V1_Date, cash: Int64, holding: Int64 = 0) -> Crm_Profiles_V1_LoggedEvent {
        .with {
            $0.eventID = id
            $0.type = .dailyPosition
            $0.dailyPosition = .with {
                $0.idempotencyKey = "P\(id)"
                $0.customerID = customer
                $0.tradingDay = day
                $0.cash = .with { $0.minorUnits = cash }
                if holding > 0 { $0.holdings = [.with { $0.instrument = "600519"; $0.marketValue = .with { $0.minorUnits = holding } }] }
            }
        }
    }

    static func transfer(_ id: UInt64, customer: String, on date: (Int, Int, Int), fen: Int64) -> Crm_Profiles_V1_LoggedEvent {
        .with {
            $0.eventID = id
            $0.type = .fundTransfer
            $0.fundTransfer = .with {
                $0.idempotencyKey = "F\(id)"
                $0.customerID = customer
                $0.direction = fen < 0 ? .withdrawal : .deposit
                $0.amount = .with { $0.minorUnits = abs(fen) }
                $0.transferredAt = .with { $0.unixMillis = H.millis(date.0, date.1, date.2) }
            }
        }
    }

    @Test func februaryFiguresPerManagerTeamBranchAndFirm() async throws {
        let harness = try await H.start()
        try await harness.organisation()
        try await harness.putScheme()
        try await harness.customers(["C1", "C2"])
        try await harness.customers(["C3"], openedOn: .day(2025, 2, 10))
        try await harness.assign("C1", to: "M1", from: .day(2025, 1, 1))
        try await harness.assign("C2", to: "M2", from: .day(2025, 2, 15))
        try await harness.assign("C3", to: "M3", from: .day(2025, 2, 1))
        try await harness.record([
            Self.position(1, customer: "C1", on: .day(2025, 1, 31), cash: 100_000),
            Self.position(2, customer: "C1", on: .day(2025, 2, 20), cash: 150_000, holding: 50_000),
            Self.position(3, customer: "C2", on: .day(2025, 2, 15), cash: 300_000),
            Self.transfer(4, customer: "C1", on: (2025, 2, 5), fen: 30_000),
            Self.transfer(5, customer: "C2", on: (2025, 2, 20), fen: -10_000),
            // 10 000 − 1 000 fees − 100 transfer (1 bp of 1 000 000; G1 lists "transfer") = 8 900.
            H.trade(6, customer: "C1", on: (2025, 2, 10), commission: 10_000, fees: 1_000, amount: 1_000_000),
        ])
        let response = try await harness.call(Crm_Compensation_V1_Compensation.getAssessmentFigures, Crm_Compensation_V1_GetAssessmentFiguresRequest.with { $0.month = "2025-02" }, token: "office")
        #expect(response.managers.map(\.managerID) == ["M1", "M2", "M3"])
        let m1 = response.managers[0].figures, m2 = response.managers[1].figures, m3 = response.managers[2].figures
        // M1: C1 at 100 000 for 1–19 Feb (1 900 000) and 200 000 for 20–28 Feb (1 800 000):
        // 3 700 000 / 28 = 132 142.86 → 132 143. Month end 200 000 ≥ 150 000 with a trade: effective.
        #expect(m1.customersAtMonthEnd == 1 && m1.monthEndAssetsFen == 200_000)
        #expect(m1.averageAssetsFen == 132_143 && m1.averageKnown)
        #expect(m1.effectiveAccounts == 1)
        #expect(m1.netNewAssetsFen == 30_000)
        #expect(m1.commissionContributedFen == 8_900)
        // M2: C2 from 15 Feb at 300 000: 14 days × 300 000 / 28 = 150 000; no trade: not effective.
        #expect(m2.averageAssetsFen == 150_000 && m2.monthEndAssetsFen == 300_000)
        #expect(m2.effectiveAccounts == 0 && m2.netNewAssetsFen == -10_000)
        // M3: C3 opened 10 Feb in M3's charge; no positions: 0.
        #expect(m3.newCustomers == 1 && m3.customersAtMonthEnd == 1 && m3.averageAssetsFen == 0)

        // T1 = M1 + M2; B1 likewise; the firm adds M3.
        #expect(response.teams.map(\.unitID) == ["T1", "T2"])
        #expect(response.teams[0].figures.averageAssetsFen == 282_143)
        #expect(response.teams[0].figures.monthEndAssetsFen == 500_000)
        #expect(response.teams[0].managers == 2 && response.teams[0].branchID == "B1")
        #expect(response.branches.map(\.unitID) == ["B1", "B2"])
        #expect(response.scopeTotal.figures.customersAtMonthEnd == 3)
        #expect(response.scopeTotal.figures.netNewAssetsFen == 20_000)
        #expect(response.effectiveAccountDefinition.contains("150000"))

        let average = response.rankings.first { $0.metric == .averageAssets && $0.unit == .manager && $0.within == .firm }
        #expect(average?.entries.map(\.id) == ["M2", "M1", "M3"])
        #expect(average?.entries.map(\.value) == [150_000, 132_143, 0])
        let teams = response.rankings.first { $0.metric == .averageAssets && $0.unit == .team && $0.within == .firm }
        #expect(teams?.entries.map(\.id) == ["T1", "T2"])

        // One team: its managers ranked within the team, the branch and the firm.
        let team = try await harness.call(Crm_Compensation_V1_Compensation.getAssessmentFigures, Crm_Compensation_V1_GetAssessmentFiguresRequest.with {
            $0.month = "2025-02"
            $0.teamID = "T1"
            $0.metrics = [.netNewAssets]
        }, token: "b1")
        #expect(team.managers.map(\.managerID) == ["M1", "M2"])
        #expect(Set(team.rankings.map(\.within)) == [.firm, .branch, .team])
        let inTeam = team.rankings.first { $0.unit == .manager && $0.within == .team }
        #expect(inTeam?.entries.map(\.id) == ["M1", "M2"] && inTeam?.population == 2)
        try await harness.stop()
    }
}
