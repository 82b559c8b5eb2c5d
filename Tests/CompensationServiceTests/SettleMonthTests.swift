import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import CompensationService

/// Settlement through the RPCs, over a real store, with income recorded as the feeds record it.
/// Every figure is computed by hand in the comments.
@Suite struct SettleMonthTests {
    typealias H = CompensationHarness

    /// Organisation, scheme G1 from 2025-01-01, customers C1 and C2 with M1 since 2025-01-01.
    func started() async throws -> CompensationHarness {
        let harness = try await H.start()
        try await harness.organisation()
        try await harness.putScheme()
        try await harness.customers(["C1", "C2", "C3"])
        try await harness.assign("C1", to: "M1", from: .day(2025, 1, 1))
        try await harness.assign("C2", to: "M1", from: .day(2025, 1, 1))
        return harness
    }

    @Test func aStatementAcrossTierBoundariesWithMarginTradesAndInterest() async throws {
        let harness = try await started()
        try await harness.record([
            // Cash: 300 000 − 2 000 fees − 2 000 transfer (1 bp of 20 000 000) = 296 000.
            H.trade(1, customer: "C1", on: (2025, 3, 3), commission: 300_000, fees: 2_000, amount: 20_000_000),
            // Margin: 310 000 − 3 000 − 1 000 (1 bp of 10 000 000) = 306 000.
            H.trade(2, customer: "C2", on: (2025, 3, 10), margin: true, commission: 310_000, fees: 3_000, amount: 10_000_000),
            // Interest 12 345 × 10 % = 1 234.5 → 1 235.
            H.interest(3, customer: "C2", on: (2025, 3, 31), fen: 12_345),
            // April: not in March's statement.
            H.trade(4, customer: "C1", on: (2025, 4, 1), commission: 1_000, fees: 0, amount: 0),
        ])
        try await harness.call(Crm_Compensation_V1_Compensation.setCoefficients, Crm_Compensation_V1_SetCoefficientsRequest.with {
            $0.coefficients = [.with { $0.managerID = "M1"; $0.month = "2025-03"; $0.assessment = "1.05"; $0.note = "Q1 review" }]
        })

        let summary = try await harness.settle("2025-03")
        #expect(summary.closedNow)
        #expect(summary.statements == 3)  // M1 with income; M2 and M3 active with a scheme, at zero
        #expect(summary.lines == 3)
        #expect(summary.totalPayFen == 159_427)
        #expect(summary.unassigned.isEmpty)

        let statement = try await harness.statement("M1", "2025-03").statement
        // Net commission 296 000 + 306 000 = 602 000, marginally: 100 000 × 20 % = 20 000;
        // 400 000 × 25 % = 100 000; 102 000 × 30 % = 30 600. Commission pay 150 600.
        #expect(statement.netCommissionFen == 602_000)
        #expect(statement.commissionBands.map(\.portionFen) == [100_000, 400_000, 102_000])
        #expect(statement.commissionBands.map(\.payFen) == [20_000, 100_000, 30_600])
        #expect(statement.commissionBands.map(\.upperFen) == [100_000, 500_000, 0])
        #expect(statement.commissionPayFen == 150_600)
        // Subtotal 150 600 + 1 235 = 151 835; assessment 1.05: +7 591.75 → +7 592 → 159 427.
        #expect(statement.subtotalFen == 151_835)
        #expect(statement.coefficientLines.map(\.coefficient) == ["1.05", "1"])
        #expect(statement.coefficientLines.map(\.amountFen) == [7_592, 0])
        #expect(statement.coefficientLines.map(\.baseFen) == [151_835, 159_427])
        #expect(statement.totalFen == 159_427)
        #expect(statement.ruleVersion.grade == "G1" && statement.ruleVersion.version == 1)
        #expect(statement.branchID == "B1" && statement.teamID == "T1" && statement.grade == "G1")
        #expect(statement.sourceTotals.map(\.source) == [.cashCommission, .marginCommission, .marginInterest])
        #expect(statement.sourceTotals.map(\.incomeFen) == [296_000, 306_000, 12_345])
        #expect(statement.sourceTotals.map(\.payFen) == [0, 0, 1_235])

        // Every line names its event and rule version; the trade basis redoes the arithmetic.
        #expect(statement.lines.map(\.sourceEventID) == ["pe:trade:C1:T1", "pe:trade:C2:T2", "pe:margin_interest:C2:I3"])
        #expect(statement.lines.map(\.incomeFen) == [296_000, 306_000, 12_345])
        #expect(statement.lines.allSatisfy { $0.ruleVersion.grade == "G1" && $0.ruleVersion.version == 1 })
        #expect(statement.lines[0].trade.commissionFen == 300_000)
        #expect(statement.lines[0].trade.exchangeAndRegulatoryFeesFen == 2_000)
        #expect(statement.lines[0].trade.listedCostsFen == 2_000)
        #expect(statement.lines[1].trade.margin)
        #expect(statement.lines[2].rateBp == 1_000 && statement.lines[2].payFen == 1_235)
        #expect(statement.lines[2].day == .day(2025, 3, 31))

        // Lines page through.
        let first = try await harness.statement("M1", "2025-03", pageSize: 2)
        #expect(first.statement.lines.map(\.sourceEventID) == ["pe:trade:C1:T1", "pe:trade:C2:T2"])
        #expect(first.page.totalCount == 3)
        let second = try await harness.statement("M1", "2025-03", pageSize: 2, pageToken: first.page.nextPageToken)
        #expect(second.statement.lines.map(\.sourceEventID) == ["pe:margin_interest:C2:I3"])
        #expect(second.page.nextPageToken.isEmpty)

        let idle = try await harness.statement("M2", "2025-03").statement
        #expect(idle.totalFen == 0 && idle.lines.isEmpty)
        try await harness.stop()
    }

    @Test func aMidMonthTransferSplitsTheMonthByDate() async throws {
        let harness = try await started()
        // C1 moves to M2 from 16 March: M1's assignment ends that day.
        let transfer = try await harness.assign("C1", to: "M2", from: .day(2025, 3, 16), transfer: true)
        #expect(transfer.created)
        #expect(transfer.ended.map(\.managerID) == ["M1"])
        #expect(transfer.ended.first?.effectiveUntil == .day(2025, 3, 16))
        try await harness.record([
            H.trade(1, customer: "C1", on: (2025, 3, 15), commission: 50_000, fees: 0, amount: 0),  // M1: 50 000 × 20 % = 10 000
            H.trade(2, customer: "C1", on: (2025, 3, 16), commission: 30_000, fees: 0, amount: 0),  // M2: 30 000 × 20 % = 6 000
            H.interest(3, customer: "C1", on: (2025, 3, 31), fen: 1_000),                            // M2: 100
        ])
        try await harness.settle("2025-03")
        let m1 = try await harness.statement("M1", "2025-03").statement
        let m2 = try await harness.statement("M2", "2025-03").statement
        #expect(m1.lines.map(\.sourceEventID) == ["pe:trade:C1:T1"])
        #expect(m1.totalFen == 10_000)
        #expect(m2.lines.map(\.sourceEventID) == ["pe:trade:C1:T2", "pe:margin_interest:C1:I3"])
        #expect(m2.totalFen == 6_100)

        let history = try await harness.call(Crm_Compensation_V1_Compensation.listAssignments, Crm_Compensation_V1_ListAssignmentsRequest.with { $0.customerID = "C1" }, token: "office")
        #expect(history.assignments.map(\.managerID) == ["M1", "M2"])
        #expect(history.assignments.map(\.hasEffectiveUntil) == [true, false])
        let onTheDay = try await harness.call(Crm_Compensation_V1_Compensation.listAssignments, Crm_Compensation_V1_ListAssignmentsRequest.with {
            $0.customerID = "C1"
            $0.asOf = .day(2025, 3, 16)
        }, token: "office")
        #expect(onTheDay.assignments.map(\.managerID) == ["M2"])
        try await harness.stop()
    }

    @Test func aLateTradeAfterCloseLandsInTheNextMonthAndResettlingIsIdentical() async throws {
        let harness = try await started()
        try await harness.record([H.trade(1, customer: "C1", on: (2025, 3, 20), commission: 50_000, fees: 0, amount: 0)])
        let march = try await harness.settle("2025-03")
        #expect(march.closedNow && march.totalPayFen == 10_000)
        let closedStatement = try await harness.statement("M1", "2025-03")

        // After the close: a late March trade and an April trade.
        try await harness.record([
            H.trade(2, customer: "C1", on: (2025, 3, 31), commission: 30_000, fees: 0, amount: 0),
            H.trade(3, customer: "C1", on: (2025, 4, 2), commission: 60_000, fees: 0, amount: 0),
        ])
        // March is immutable: asking again recomputes, compares, and returns what was stored.
        let again = try await harness.settle("2025-03")
        #expect(!again.closedNow)
        #expect(again.recomputedIdentical)
        #expect(again.throughSequence == march.throughSequence && again.totalPayFen == march.totalPayFen)
        #expect(try await harness.statement("M1", "2025-03") == closedStatement)

        // April: the late trade carried forward and flagged, then April's own.
        // Net 30 000 + 60 000 = 90 000 × 20 % = 18 000.
        let april = try await harness.settle("2025-04")
        #expect(april.adjustments == 1)
        let statement = try await harness.statement("M1", "2025-04").statement
        #expect(statement.lines.map(\.sourceEventID) == ["pe:trade:C1:T2", "pe:trade:C1:T3"])
        #expect(statement.lines.map(\.carriedForward) == [true, false])
        #expect(statement.lines.map(\.adjustment) == [true, false])
        #expect(statement.lines.map(\.originalMonth) == ["2025-03", "2025-04"])
        #expect(statement.adjustmentCount == 1)
        #expect(statement.totalFen == 18_000)

        // Months close in order, and closed months take no changes.
        let skipped = await statusOf { try await harness.settle("2025-06") }
        #expect(skipped?.code == .failedPrecondition)
        #expect(skipped?.fieldViolations.map(\.field) == ["month"])
        let backdated = await statusOf { try await harness.assign("C3", to: "M2", from: .day(2025, 4, 10)) }
        #expect(backdated?.code == .failedPrecondition)
        #expect(backdated?.fieldViolations.map(\.field) == ["assignment.effective_from"])
        let coefficient = await statusOf {
            try await harness.call(Crm_Compensation_V1_Compensation.setCoefficients, Crm_Compensation_V1_SetCoefficientsRequest.with {
                $0.coefficients = [.with { $0.managerID = "M1"; $0.month = "2025-04"; $0.complianceBreach = true }]
            })
        }
        #expect(coefficient?.code == .failedPrecondition)
        #expect(coefficient?.fieldViolations.map(\.field) == ["coefficients[0].month"])
        let rules = await statusOf { try await harness.putScheme(H.scheme(from: .day(2025, 4, 1))) }
        #expect(rules?.code == .failedPrecondition)
        #expect(rules?.fieldViolations.map(\.field) == ["scheme.effective_from"])
        try await harness.stop()
    }

    @Test func productRebatesRoundOnceAndSalesGoToTheCreditedManager() async throws {
        let harness = try await started()
        func product(_ sequence: UInt64, version: UInt32, rebate: UInt32, at: (Int, Int, Int)) -> Crm_Products_V1_ChangeEvent {
            .with {
                $0.sequence = sequence
                $0.kind = version == 1 ? .productCreated : .productUpdated
                $0.productCode = "P1"
                $0.product = .with {
                    $0.productCode = "P1"
                    $0.version = version
                    $0.salesRebateBp = rebate
                    $0.updatedAt = .with { $0.unixMillis = H.millis(at.0, at.1, at.2) }
                }
            }
        }
        func order(_ sequence: UInt64, _ id: String, fen: Int64, version: UInt32, on day: Int, manager: String = "",
                   side: Crm_Products_V1_OrderSide = .subscription) -> Crm_Products_V1_ChangeEvent {
            .with {
                $0.sequence = sequence
                $0.kind = .orderPlaced
                $0.customerID = "C1"
                $0.order = .with {
                    $0.orderID = id
                    $0.customerID = "C1"
                    $0.productCode = "P1"
                    $0.side = side
                    $0.amount = .with { $0.minorUnits = fen }
                    $0.managerID = manager
                    $0.productVersion = version
                    $0.acceptedAt = .with { $0.unixMillis = H.millis(2025, 3, day) }
                }
            }
        }
        try await harness.record([
            product(1, version: 1, rebate: 100, at: (2025, 2, 1)),
            // Rebate 10 100 × 1 % = 101; pay 10 100 × 1 % × 50 % = 50.5 → 51.
            order(2, "O1", fen: 10_100, version: 1, on: 5),
            // Rebate 100.9 → 101; pay 50.45 → 50 (one rounding from the amount; halving 101 would give 51).
            order(3, "O2", fen: 10_090, version: 1, on: 6),
            product(4, version: 2, rebate: 20, at: (2025, 3, 7)),
            // Under version 2: rebate 250 × 0.2 % = 0.5 → 1; pay 0.25 → 0.
            order(5, "O3", fen: 250, version: 2, on: 8),
            // Credited to M2 although C1 is M1's: rebate 2 000, pay 1 000, to M2.
            order(6, "O4", fen: 1_000_000, version: 2, on: 9, manager: "M2"),
            // A redemption is not a sale.
            order(7, "O5", fen: 5_000, version: 2, on: 9, side: .redemption),
            // Advisory: 30 005 a month from 10 March; March's fee on 31 March: 20 % = 6 001.
            .with {
                $0.sequence = 8
                $0.kind = .packageSubscribed
                $0.subscription = .with {
                    $0.customerID = "C1"
                    $0.packageCode = "PK1"
                    $0.feeSchedule = .with { $0.monthlyFee = .with { $0.minorUnits = 30_005 } }
                    $0.startDate = .day(2025, 3, 10)
                }
            },
        ])
        let summary = try await harness.settle("2025-03")
        #expect(summary.totalPayFen == 6_102 + 1_000)

        let m1 = try await harness.statement("M1", "2025-03").statement
        #expect(m1.lines.map(\.sourceEventID) == ["order:O1", "order:O2", "order:O3", "pkg:C1:PK1:2025-03"])
        #expect(m1.lines.map(\.incomeFen) == [101, 101, 1, 30_005])
        #expect(m1.lines.map(\.payFen) == [51, 50, 0, 6_001])
        #expect(m1.lines.map(\.productSale.productRebateBp) == [100, 100, 20, 0])
        #expect(m1.lines[3].advisoryFee.packageCode == "PK1")
        #expect(m1.sourceTotals.map(\.source) == [.productRebate, .advisoryFee])
        #expect(m1.sourceTotals.map(\.incomeFen) == [203, 30_005])
        #expect(m1.sourceTotals.map(\.payFen) == [101, 6_001])
        #expect(m1.totalFen == 6_102)

        let m2 = try await harness.statement("M2", "2025-03").statement
        #expect(m2.lines.map(\.sourceEventID) == ["order:O4"])
        #expect(m2.lines.map(\.payFen) == [1_000])
        #expect(m2.totalFen == 1_000)

        // April bills the subscription again, at month end.
        try await harness.settle("2025-04")
        #expect(try await harness.statement("M1", "2025-04").statement.lines.map(\.sourceEventID) == ["pkg:C1:PK1:2025-04"])
        try await harness.stop()
    }

    @Test func aSaleNamingAManagerWhoHadLeftGoesToTheManagerInChargeAndTheLineSaysSo() async throws {
        let harness = try await started()
        func upsert(_ manager: Crm_Compensation_V1_ClientManager) async throws -> Crm_Compensation_V1_ClientManager {
            try await harness.call(Crm_Compensation_V1_Compensation.upsertManager, Crm_Compensation_V1_UpsertManagerRequest.with { $0.manager = manager }).manager
        }
        // A last working day belongs to a manager who has left only.
        var active = H.manager("M2", team: "T1", branch: "B1")
        active.leftOn = .day(2025, 3, 16)
        let refused = await statusOf { _ = try await upsert(active) }
        #expect(refused?.code == .invalidArgument)
        #expect(refused?.fieldViolations.map(\.field) == ["manager.left_on"])
        // M2 leaves on 16 March; a later upsert without the day keeps it.
        var left = H.manager("M2", team: "T1", branch: "B1", status: .left)
        left.leftOn = .day(2025, 3, 16)
        #expect(try await upsert(left).leftOn == .day(2025, 3, 16))
        left.clearLeftOn()
        left.name = "Manager M2 (left)"
        #expect(try await upsert(left).leftOn == .day(2025, 3, 16))

        func order(_ sequence: UInt64, _ id: String, on day: Int) -> Crm_Products_V1_ChangeEvent {
            .with {
                $0.sequence = sequence
                $0.kind = .orderPlaced
                $0.customerID = "C1"
                $0.order = .with {
                    $0.orderID = id; $0.customerID = "C1"; $0.productCode = "P1"; $0.side = .subscription
                    $0.amount = .with { $0.minorUnits = 100_000 }; $0.managerID = "M2"; $0.productVersion = 1
                    $0.acceptedAt = .with { $0.unixMillis = H.millis(2025, 3, day) }
                }
            }
        }
        try await harness.record([
            .with {
                $0.sequence = 1
                $0.kind = .productCreated
                $0.productCode = "P1"
                $0.product = .with { $0.productCode = "P1"; $0.version = 1; $0.salesRebateBp = 100; $0.updatedAt = .with { $0.unixMillis = H.millis(2025, 2, 1) } }
            },
            order(2, "O-BEFORE", on: 16),  // M2's last working day: M2's sale
            order(3, "O-AFTER", on: 17),   // after it: C1's manager in charge (M1) is credited
        ])
        try await harness.settle("2025-03")
        let m2 = try await harness.statement("M2", "2025-03").statement
        #expect(m2.lines.map(\.sourceEventID) == ["order:O-BEFORE"])
        #expect(m2.lines.map(\.productSale.namedManagerID) == [""])
        let m1 = try await harness.statement("M1", "2025-03").statement
        #expect(m1.lines.map(\.sourceEventID) == ["order:O-AFTER"])
        #expect(m1.lines.map(\.productSale.namedManagerID) == ["M2"])
        #expect(m1.lines.map(\.payFen) == [500])
        try await harness.stop()
    }

    @Test func schemeVersionsEndEachOtherAndTheMonthsFirstDayPicksOne() async throws {
        let harness = try await started()
        // v2 from 15 March: March stays v1 (in force on 1 March), April is v2's.
        var v2 = H.scheme(from: .day(2025, 3, 15))
        v2.commissionTiers = [.with { $0.lowerFen = 0; $0.rateBp = 4_000 }]
        let put = try await harness.putScheme(v2)
        #expect(put.created && put.scheme.version == 2)
        #expect(put.ended.map(\.version) == [1])
        #expect(put.ended.first?.effectiveUntil == .day(2025, 3, 15))
        let same = try await harness.putScheme(v2)
        #expect(!same.created && same.scheme.version == 2)
        let listed = try await harness.call(Crm_Compensation_V1_Compensation.listSchemes, Crm_Compensation_V1_ListSchemesRequest.with { $0.grade = "G1" }, token: "m1")
        #expect(listed.schemes.map(\.version) == [1, 2])

        try await harness.record([
            H.trade(1, customer: "C1", on: (2025, 3, 20), commission: 1_000, fees: 0, amount: 0),  // v1: 200
            H.trade(2, customer: "C1", on: (2025, 4, 20), commission: 1_000, fees: 0, amount: 0),  // v2: 400
        ])
        try await harness.settle("2025-03")
        try await harness.settle("2025-04")
        let march = try await harness.statement("M1", "2025-03").statement
        let april = try await harness.statement("M1", "2025-04").statement
        #expect(march.ruleVersion.version == 1 && march.totalFen == 200)
        #expect(april.ruleVersion.version == 2 && april.totalFen == 400)
        #expect(april.lines.map(\.ruleVersion.version) == [2])
        try await harness.stop()
    }
}
