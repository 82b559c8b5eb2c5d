import CompensationService
import Testing

@Suite struct SettlementValidationTests {
    typealias F = Fixture

    // MARK: Assignments

    @Test func overlappingAssignmentsAreRefusedNamingBoth() {
        let assignments = [
            CustomerAssignment(customerID: "C1", managerID: "M1", effectiveFrom: F.day(2025, 1, 1), effectiveUntil: F.day(2025, 3, 16)),
            CustomerAssignment(customerID: "C1", managerID: "M2", effectiveFrom: F.day(2025, 3, 10)),
            CustomerAssignment(customerID: "C2", managerID: "M1", effectiveFrom: F.day(2025, 1, 1)),
            CustomerAssignment(customerID: "C2", managerID: "M3", effectiveFrom: F.day(2025, 2, 1), effectiveUntil: F.day(2025, 2, 1)),
            // Back to back with [0]: not an overlap.
            CustomerAssignment(customerID: "C1", managerID: "M9", effectiveFrom: F.day(2024, 6, 1), effectiveUntil: F.day(2025, 1, 1)),
        ]
        #expect(throws: SettlementError.invalid([
            SettlementViolation(field: "assignments[3].effective_until", description: "2025-02-01 is not after effective_from 2025-02-01"),
            SettlementViolation(field: "assignments[4].manager_id", description: "unknown manager M9"),
            SettlementViolation(
                field: "assignments[1]",
                description: "customer C1: manager M2 from 2025-03-10 onwards overlaps assignments[0] (manager M1 from 2025-01-01 until 2025-03-16)"
            ),
        ])) {
            try AssignmentTimeline(assignments, knownManagers: ["M1", "M2", "M3"])
        }
    }

    @Test func anOpenEndedAssignmentOverlapsEveryLaterOne() {
        let violations = AssignmentTimeline.violations(of: [
            CustomerAssignment(customerID: "C1", managerID: "M1", effectiveFrom: F.day(2025, 1, 1)),
            CustomerAssignment(customerID: "C1", managerID: "M2", effectiveFrom: F.day(2025, 2, 1), effectiveUntil: F.day(2025, 3, 1)),
            CustomerAssignment(customerID: "C1", managerID: "M3", effectiveFrom: F.day(2025, 4, 1)),
        ])
        #expect(violations.map(\.field) == ["assignments[1]", "assignments[2]"])
        #expect(violations.allSatisfy { $0.description.contains("overlaps assignments[0] (manager M1 from 2025-01-01 onwards)") })
    }

    // MARK: Tiers and rates

    func tierMessages(_ tiers: [CommissionTier]) -> [String] {
        CompensationScheme.tierViolations(tiers).map { "\($0.field): \($0.description)" }
    }

    @Test func tiersThatLeaveAGapAreRefused() {
        #expect(tierMessages([
            CommissionTier(lowerFen: 0, upperFen: 100_000, rate: 2_000),
            CommissionTier(lowerFen: 120_000, upperFen: nil, rate: 2_500),
        ]) == ["commission_tiers[1]: tier 1: leaves a gap: starts at 120000 fen, but tier 0 ends at 100000 fen"])
    }

    @Test func tiersThatOverlapAreRefused() {
        #expect(tierMessages([
            CommissionTier(lowerFen: 0, upperFen: 100_000, rate: 2_000),
            CommissionTier(lowerFen: 90_000, upperFen: nil, rate: 2_500),
        ]) == ["commission_tiers[1]: tier 1: overlaps tier 0: starts at 90000 fen, before tier 0 ends at 100000 fen"])
        #expect(tierMessages([
            CommissionTier(lowerFen: 0, upperFen: nil, rate: 2_000),
            CommissionTier(lowerFen: 100_000, upperFen: nil, rate: 2_500),
        ]) == ["commission_tiers[1]: tier 1: overlaps tier 0, which is open-ended"])
    }

    @Test func tiersThatDoNotStartAtZeroAreNotIncreasingOrStopShortAreRefused() {
        #expect(tierMessages([CommissionTier(lowerFen: 1_000, upperFen: nil, rate: 2_000)])
            == ["commission_tiers[0]: tier 0: must start at 0 fen, starts at 1000 fen"])
        #expect(tierMessages([
            CommissionTier(lowerFen: 0, upperFen: 100_000, rate: 2_000),
            CommissionTier(lowerFen: 100_000, upperFen: 50_000, rate: 2_500),
            CommissionTier(lowerFen: 50_000, upperFen: nil, rate: 3_000),
        ]) == [
            "commission_tiers[1]: tier 1: is not increasing: ends at 50000 fen, not above its start 100000 fen",
            "commission_tiers[2]: tier 2: is not increasing: starts at 50000 fen, not above tier 1's start 100000 fen",
        ])
        #expect(tierMessages([CommissionTier(lowerFen: 0, upperFen: 100_000, rate: 2_000)])
            == ["commission_tiers[0].upper_fen: tier 0: the last tier must be open-ended; amounts from 100000 fen up would have no rate"])
        #expect(tierMessages([]) == ["commission_tiers: must list at least one tier, starting at 0 fen"])
        #expect(tierMessages(F.tiers).isEmpty)
    }

    @Test func ratesOutsideZeroToTenThousandBasisPointsAreRefused() {
        var scheme = F.schemeM1
        scheme.commissionTiers[2].rate = 10_001
        scheme.rates.productRebate = -1
        #expect(throws: SettlementError.invalid([
            SettlementViolation(field: "schemes[0].rates.product_rebate", description: "-1 bp is outside 0–10000 bp"),
            SettlementViolation(field: "schemes[0].commission_tiers[2].rate", description: "tier 2: rate 10001 bp is outside 0–10000 bp"),
        ])) {
            try SchemeCatalog([scheme])
        }
        scheme.commissionTiers[2].rate = 10_000
        scheme.rates.productRebate = 0
        #expect(scheme.violations().isEmpty)
    }

    // MARK: Scheme versions

    @Test func theVersionInForceOnTheMonthsFirstDaySettlesIt() throws {
        var v1 = F.schemeM1
        v1.effectiveUntil = F.day(2025, 3, 15)
        var v2 = F.schemeM1
        v2.version = 2
        v2.effectiveFrom = F.day(2025, 3, 15)
        v2.commissionTiers = [CommissionTier(lowerFen: 0, upperFen: nil, rate: 4_000)]
        let catalog = try SchemeCatalog([v2, v1])
        // v2 starts mid-March: March is still v1's (in force on 1 March); April is v2's.
        #expect(try catalog.scheme(grade: "M1", month: F.march).version == 1)
        #expect(try catalog.scheme(grade: "M1", month: F.april).version == 2)
        #expect(throws: SettlementError.noSchemeInForce(grade: "M1", month: F.month(2024, 12))) {
            try catalog.scheme(grade: "M1", month: F.month(2024, 12))
        }
        #expect(throws: SettlementError.noSchemeInForce(grade: "M7", month: F.march)) {
            try catalog.scheme(grade: "M7", month: F.march)
        }

        let request = SettlementRequest(managerID: "M1", grade: "M1", month: F.april, today: F.day(2025, 5, 1), throughSequence: 10)
        let statement = try Settlement.settle(request, items: [F.trade("T1", on: F.day(2025, 4, 1), commission: 1_000)], schemes: catalog, book: SettlementBook())
        // 1 000 × 40 % = 400 under v2; every line names it.
        #expect(statement.ruleVersion == RuleVersion(grade: "M1", version: 2))
        #expect(statement.incomeLines.map(\.ruleVersion) == [RuleVersion(grade: "M1", version: 2)])
        #expect(statement.totalFen == 400)

        var overlapping = v2
        overlapping.version = 3
        #expect(throws: SettlementError.invalid([
            SettlementViolation(field: "schemes[2].effective_from", description: "M1 v3 overlaps schemes[1] (M1 v2) in time"),
        ])) {
            try SchemeCatalog([v1, v2, overlapping])
        }
    }
}
