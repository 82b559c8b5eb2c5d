import CompensationService
import Testing

@Suite struct AssessmentTests {
    typealias F = Fixture
    static let february = Fixture.month(2025, 2)  // 28 days

    /// M1 and M2 in team T1 (branch B1), M3 in team T2 (branch B2).
    /// C1: M1 until 15 Feb, M2 from 15 Feb. C2: M1. C3: M3 from 10 Feb. C4: nobody.
    func inputs() throws -> AssessmentInputs {
        let timeline = try AssignmentTimeline([
            CustomerAssignment(customerID: "C1", managerID: "M1", effectiveFrom: F.day(2025, 1, 1), effectiveUntil: F.day(2025, 2, 15)),
            CustomerAssignment(customerID: "C1", managerID: "M2", effectiveFrom: F.day(2025, 2, 15)),
            CustomerAssignment(customerID: "C2", managerID: "M1", effectiveFrom: F.day(2025, 1, 1)),
            CustomerAssignment(customerID: "C3", managerID: "M3", effectiveFrom: F.day(2025, 2, 10)),
        ])
        return AssessmentInputs(
            month: Self.february,
            managers: [
                ManagerPlacement(managerID: "M3", teamID: "T2", branchID: "B2"),
                ManagerPlacement(managerID: "M1", teamID: "T1", branchID: "B1"),
                ManagerPlacement(managerID: "M2", teamID: "T1", branchID: "B1"),
            ],
            timeline: timeline,
            items: [
                // C1 on 20 Feb (M2): 1 000 − 100 = 900. C3 on 12 Feb (M3): 5 000 − 50 − 50 "transfer" = 4 900.
                F.trade("T1", customer: "C1", on: F.day(2025, 2, 20), commission: 1_000, exchange: 100),
                F.trade("T2", customer: "C3", on: F.day(2025, 2, 12), commission: 5_000, regulatory: 50, costs: [NamedCost(name: "transfer", fen: 50)]),
                F.trade("T0", customer: "C2", on: F.day(2025, 1, 30), commission: 9_999),  // January: not counted
                F.sale("P1", customer: "C2", on: F.day(2025, 2, 3), amount: 20_000, rebate: 100),
            ],
            assets: [
                CustomerAssets(customerID: "C1", day: F.day(2025, 1, 31), totalAssetsFen: 100_000),
                CustomerAssets(customerID: "C1", day: F.day(2025, 2, 20), totalAssetsFen: 200_000),
                CustomerAssets(customerID: "C2", day: F.day(2025, 2, 1), totalAssetsFen: 50_000),
                CustomerAssets(customerID: "C3", day: F.day(2025, 2, 10), totalAssetsFen: 1_000_000),
            ],
            flows: [
                AssetFlow(customerID: "C1", day: F.day(2025, 2, 5), amountFen: 30_000),   // M1
                AssetFlow(customerID: "C1", day: F.day(2025, 2, 20), amountFen: -10_000), // M2
                AssetFlow(customerID: "C2", day: F.day(2025, 2, 28), amountFen: 5_000),   // M1
                AssetFlow(customerID: "C4", day: F.day(2025, 2, 6), amountFen: 7_000),    // nobody
            ],
            openings: [
                CustomerOpening(customerID: "C3", openedOn: F.day(2025, 2, 10)),  // M3
                CustomerOpening(customerID: "C4", openedOn: F.day(2025, 2, 3)),   // nobody
                CustomerOpening(customerID: "C2", openedOn: F.day(2024, 12, 1)),  // not this month
            ],
            effectiveAccount: EffectiveAccountDefinition(minimumMonthEndAssetsFen: 100_000, minimumTradesInMonth: 1),
            deductedCosts: ["transfer"]
        )
    }

    static func figures(customers: Int, monthEnd: Int64, average: Int64, new: Int, effective: Int, netNew: Int64, sales: Int64,
                        commission: Int64) -> AssessmentFigures {
        var figures = AssessmentFigures()
        figures.customersAtMonthEnd = customers
        figures.monthEndAssetsFen = monthEnd
        figures.averageAssetsFen = average
        figures.newCustomers = new
        figures.effectiveAccounts = effective
        figures.netNewAssetsFen = netNew
        figures.productSalesFen = sales
        figures.commissionContributedFen = commission
        return figures
    }

    @Test func managerFiguresFollowTheAssignmentsDayByDay() throws {
        let report = try Assessment.report(inputs())
        #expect(report.managers.map(\.placement.managerID) == ["M1", "M2", "M3"])
        // M1: C1 1–14 Feb at 100 000 (14 × 100 000 = 1 400 000) + C2 1–28 Feb at 50 000 (1 400 000)
        //     = 2 800 000 / 28 = 100 000. Month end: C2 only, 50 000 < 100 000, not effective.
        //     Net new 30 000 + 5 000 = 35 000; sales 20 000.
        #expect(report.managers[0].figures == Self.figures(customers: 1, monthEnd: 50_000, average: 100_000, new: 0, effective: 0,
                                                          netNew: 35_000, sales: 20_000, commission: 0))
        // M2: C1 15–19 Feb at 100 000 (500 000) + 20–28 Feb at 200 000 (1 800 000) = 2 300 000 / 28
        //     = 82 142.86 → 82 143. Month end C1 200 000 ≥ 100 000 with 1 trade: effective.
        #expect(report.managers[1].figures == Self.figures(customers: 1, monthEnd: 200_000, average: 82_143, new: 0, effective: 1,
                                                          netNew: -10_000, sales: 0, commission: 900))
        // M3: C3 10–28 Feb = 19 days × 1 000 000 = 19 000 000 / 28 = 678 571.43 → 678 571.
        #expect(report.managers[2].figures == Self.figures(customers: 1, monthEnd: 1_000_000, average: 678_571, new: 1, effective: 1,
                                                          netNew: 0, sales: 0, commission: 4_900))
        var unassigned = AssessmentFigures()
        unassigned.newCustomers = 1
        unassigned.netNewAssetsFen = 7_000
        #expect(report.unassigned == unassigned)
    }

    @Test func figuresRollUpPerTeamBranchAndHeadOffice() throws {
        let report = try Assessment.report(inputs())
        // T1 = M1 + M2: average 100 000 + 82 143 = 182 143; net new 35 000 − 10 000 = 25 000.
        let t1 = Self.figures(customers: 2, monthEnd: 250_000, average: 182_143, new: 0, effective: 1, netNew: 25_000, sales: 20_000, commission: 900)
        let t2 = Self.figures(customers: 1, monthEnd: 1_000_000, average: 678_571, new: 1, effective: 1, netNew: 0, sales: 0, commission: 4_900)
        #expect(report.teams == [
            UnitAssessment(scope: .team("T1"), managerIDs: ["M1", "M2"], figures: t1),
            UnitAssessment(scope: .team("T2"), managerIDs: ["M3"], figures: t2),
        ])
        #expect(report.branches.map(\.scope) == [.branch("B1"), .branch("B2")])
        #expect(report.branches.map(\.figures) == [t1, t2])
        // Head office: 182 143 + 678 571 = 860 714; commission 900 + 4 900 = 5 800.
        #expect(report.headOffice.figures == Self.figures(customers: 3, monthEnd: 1_250_000, average: 860_714, new: 1, effective: 2,
                                                          netNew: 25_000, sales: 20_000, commission: 5_800))
        #expect(report.headOffice.managerIDs == ["M1", "M2", "M3"])
    }

    @Test func aManagerWithCustomersButNotOnTheRosterIsRefused() throws {
        var inputs = try inputs()
        inputs.managers.removeAll { $0.managerID == "M3" }
        #expect(throws: SettlementError.invalid([
            SettlementViolation(field: "managers", description: "manager M3 has customers in 2025-02 but is not on the roster"),
        ])) {
            try Assessment.report(inputs)
        }
    }

    @Test func rankingsBreakTiesByManagerID() throws {
        let report = try Assessment.report(inputs())
        // Commission: M3 4 900, M2 900, M1 0.
        #expect(AssessmentRanking.managers(report, by: .commissionContributed).map(\.id) == ["M3", "M2", "M1"])
        #expect(AssessmentRanking.managers(report, by: .commissionContributed, within: .team("T1")).map(\.id) == ["M2", "M1"])
        // Customers at month end: 1 each, a three-way tie: id order, all rank 1.
        let tied = AssessmentRanking.managers(report, by: .customersAtMonthEnd)
        #expect(tied.map(\.id) == ["M1", "M2", "M3"])
        #expect(tied.map(\.rank) == [1, 1, 1])
        #expect(tied.map(\.position) == [1, 2, 3])
        #expect(AssessmentRanking.units(report.teams, by: .averageAssets).map(\.id) == ["T2", "T1"])

        // Shuffled input, ties in the middle: 500, 300, 300, 100 → ranks 1, 2, 2, 4.
        let ranking = AssessmentRanking.rank([("M4", 100), ("M2", 300), ("M3", 500), ("M1", 300)])
        #expect(ranking == [
            RankingEntry(position: 1, rank: 1, id: "M3", value: 500),
            RankingEntry(position: 2, rank: 2, id: "M1", value: 300),
            RankingEntry(position: 3, rank: 2, id: "M2", value: 300),
            RankingEntry(position: 4, rank: 4, id: "M4", value: 100),
        ])
    }
}
