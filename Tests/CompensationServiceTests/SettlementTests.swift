import CompensationService
import Foundation
import Testing

@Suite struct SettlementTests {
    typealias F = Fixture

    // MARK: Tiers

    /// Cash trade: 80 000 − 2 000 exchange − 500 regulatory − 1 500 "transfer" (listed) = 76 000;
    /// the 700 "channel" cost is not listed, so not deducted.
    /// Margin trade: `marginCommission` − 800 − 200.
    func boundaryTrades(marginCommission: Int64) -> [IncomeItem] {
        [
            F.trade("T1", on: F.day(2025, 3, 3), commission: 80_000, exchange: 2_000, regulatory: 500,
                    costs: [NamedCost(name: "transfer", fen: 1_500), NamedCost(name: "channel", fen: 700)]),
            F.trade("T2", on: F.day(2025, 3, 4), account: .margin, commission: marginCommission, exchange: 800, regulatory: 200),
        ]
    }

    @Test func netCommissionExactlyOnTheFirstBoundaryStaysInTheFirstBand() throws {
        // 76 000 + (25 000 − 1 000) = 100 000 fen: all of it in band 0 at 20 % = 20 000; band 1 is not reached.
        let statement = try F.settle(boundaryTrades(marginCommission: 25_000))
        #expect(statement.netCommissionFen == 100_000)
        #expect(statement.incomeLines.map(\.incomeFen) == [76_000, 24_000])
        #expect(statement.incomeLines.map(\.payFen) == [nil, nil])
        #expect(statement.incomeLines[0].basis == .trade(account: .cash, commissionFen: 80_000, exchangeFeesFen: 2_000, regulatoryFeesFen: 500, listedCostsFen: 1_500))
        #expect(statement.commissionBands.map(\.tierIndex) == [0])
        #expect(statement.commissionBands.map(\.portionFen) == [100_000])
        #expect(statement.commissionBands.map(\.payFen) == [20_000])
        #expect(statement.commissionPayFen == 20_000)
        #expect(statement.totalFen == 20_000)
        #expect(statement.sourceTotals == [
            SourceTotal(source: .cashCommission, itemCount: 1, incomeFen: 76_000, payFen: nil),
            SourceTotal(source: .marginCommission, itemCount: 1, incomeFen: 24_000, payFen: nil),
        ])
    }

    @Test func oneFenOverTheBoundaryIsPaidAtTheNextRateRoundedOnce() throws {
        // 100 001 fen: band 0 100 000 × 20 % = 20 000; band 1 1 × 25 % = 0.25 → 0. Total 20 000.
        let oneOver = try F.settle(boundaryTrades(marginCommission: 25_001))
        #expect(oneOver.netCommissionFen == 100_001)
        #expect(oneOver.commissionBands.map(\.portionFen) == [100_000, 1])
        #expect(oneOver.commissionBands.map(\.payFen) == [20_000, 0])
        #expect(oneOver.commissionBands.map(\.rate) == [2_000, 2_500])
        #expect(oneOver.totalFen == 20_000)

        // 100 002 fen: band 1 2 × 25 % = 0.5 → 1 (half-up). Total 20 001.
        let twoOver = try F.settle(boundaryTrades(marginCommission: 25_002))
        #expect(twoOver.commissionBands.map(\.payFen) == [20_000, 1])
        #expect(twoOver.totalFen == 20_001)
    }

    @Test func everyBandIsPaidOnlyOnThePartInsideIt() throws {
        // 500 000 exactly: 100 000 × 20 % + 400 000 × 25 % = 20 000 + 100 000 = 120 000; band 2 not reached.
        let onSecond = try F.settle([F.trade("T1", on: F.day(2025, 3, 3), commission: 500_000)])
        #expect(onSecond.commissionBands.map(\.payFen) == [20_000, 100_000])
        #expect(onSecond.totalFen == 120_000)

        // 600 000: 20 000 + 100 000 + 100 000 × 30 % = 150 000 (not 600 000 × 30 % = 180 000).
        let above = try F.settle([F.trade("T1", on: F.day(2025, 3, 3), commission: 600_000)])
        #expect(above.commissionBands.map(\.portionFen) == [100_000, 400_000, 100_000])
        #expect(above.commissionBands.map(\.payFen) == [20_000, 100_000, 30_000])
        #expect(above.commissionBands.allSatisfy { $0.ruleVersion == RuleVersion(grade: "M1", version: 1) })
        #expect(above.totalFen == 150_000)
    }

    // MARK: Transfers

    @Test func aMidMonthTransferSplitsTheMonthByDate() throws {
        // C1: M1 until 16 March (exclusive), M2 from 16 March. C2: M1 from 10 March only.
        let timeline = try AssignmentTimeline([
            CustomerAssignment(customerID: "C1", managerID: "M1", effectiveFrom: F.day(2025, 1, 1), effectiveUntil: F.day(2025, 3, 16)),
            CustomerAssignment(customerID: "C1", managerID: "M2", effectiveFrom: F.day(2025, 3, 16)),
            CustomerAssignment(customerID: "C2", managerID: "M1", effectiveFrom: F.day(2025, 3, 10)),
        ])
        let items = [
            F.advisory("A1", customer: "C1", on: F.day(2025, 3, 15), fee: 10_000),
            F.advisory("A2", customer: "C1", on: F.day(2025, 3, 16), fee: 30_000),
            F.advisory("A3", customer: "C2", on: F.day(2025, 3, 5), fee: 4_000),
            F.advisory("A4", customer: "C2", on: F.day(2025, 3, 10), fee: 5_000),
        ]
        let attribution = IncomeAttribution(items: items, timeline: timeline)
        // Attribution keeps input order; the statement sorts by day.
        #expect(attribution.items(for: "M1").map(\.sourceEventID) == ["A1", "A4"])
        #expect(attribution.items(for: "M2").map(\.sourceEventID) == ["A2"])
        #expect(attribution.unassigned.map(\.sourceEventID) == ["A3"])
        #expect(attribution.unassignedTotals(in: F.march, deducting: []) == [
            SourceTotal(source: .advisoryFee, itemCount: 1, incomeFen: 4_000, payFen: nil),
        ])

        // M1: 5 000 × 20 % + 10 000 × 20 % = 1 000 + 2 000 = 3 000. M2: 30 000 × 20 % = 6 000.
        let m1 = try F.settle(attribution.items(for: "M1"), manager: "M1")
        let m2 = try F.settle(attribution.items(for: "M2"), manager: "M2")
        #expect(m1.incomeLines.map(\.sourceEventID) == ["A4", "A1"])
        #expect(m1.incomeLines.map(\.payFen) == [1_000, 2_000])
        #expect(m1.totalFen == 3_000)
        #expect(m2.incomeLines.map(\.sourceEventID) == ["A2"])
        #expect(m2.totalFen == 6_000)
    }

    // MARK: Closing and late items

    @Test func aLateTradeAfterCloseLandsAsAnAdjustmentInTheNextOpenMonth() throws {
        let t1 = F.trade("T1", on: F.day(2025, 3, 20), commission: 50_000, sequence: 5)
        // Recorded (sequence 12) after March was closed through sequence 10.
        let late = F.trade("T2", on: F.day(2025, 3, 31), commission: 30_000, sequence: 12)
        let t3 = F.trade("T3", on: F.day(2025, 4, 2), commission: 60_000, sequence: 15)

        // March, settled through 10: only T1. 50 000 × 20 % = 10 000.
        let march = try F.settle([t1, late, t3], month: F.march, throughSequence: 10)
        #expect(march.incomeLines.map(\.sourceEventID) == ["T1"])
        #expect(march.totalFen == 10_000)

        var book = SettlementBook()
        try book.close(march)
        #expect(throws: SettlementError.monthClosed(managerID: "M1", month: F.march)) {
            try F.settle([t1], month: F.march, book: book)
        }
        #expect(throws: SettlementError.monthClosed(managerID: "M1", month: F.march)) {
            try book.close(march)
        }
        #expect(book.statementMonth(ofItemIn: F.march, ingestSequence: 5, managerID: "M1") == F.march)
        #expect(book.statementMonth(ofItemIn: F.march, ingestSequence: 12, managerID: "M1") == F.april)
        #expect(book.statementMonth(ofItemIn: F.march, ingestSequence: 12, managerID: "M2") == F.march)

        // April gets T2 (carried from March, flagged) and T3; T1 stays settled in March.
        // Net commission 30 000 + 60 000 = 90 000, all in band 0: 90 000 × 20 % = 18 000.
        let april = try F.settle([t1, late, t3], month: F.april, book: book, throughSequence: 20)
        #expect(april.incomeLines.map(\.sourceEventID) == ["T2", "T3"])
        #expect(april.incomeLines.map(\.isCarriedForward) == [true, false])
        #expect(april.incomeLines.map(\.isAdjustment) == [true, false])
        #expect(april.incomeLines.map(\.originalMonth) == [F.march, F.april])
        #expect(april.adjustments.map(\.sourceEventID) == ["T2"])
        #expect(april.netCommissionFen == 90_000)
        #expect(april.totalFen == 18_000)

        // Once April closes through 20, a March item recorded at 25 skips both closed months into May.
        try book.close(april)
        #expect(book.statementMonth(ofItemIn: F.march, ingestSequence: 25, managerID: "M1") == F.may)
        let evenLater = F.advisory("A9", on: F.day(2025, 3, 30), fee: 1_000, sequence: 25)
        let may = try F.settle([t1, late, t3, evenLater], month: F.may, book: book)
        #expect(may.incomeLines.map(\.sourceEventID) == ["A9"])
        #expect(may.incomeLines.first?.originalMonth == F.march)
        #expect(may.totalFen == 200)  // 1 000 × 20 %

        // The book persists as a sorted list and reads back equal.
        let decoded = try JSONDecoder().decode(SettlementBook.self, from: JSONEncoder().encode(book))
        #expect(decoded == book)
        #expect(decoded.closedMonths.map(\.throughSequence) == [10, 20])
    }

    @Test func aMonthThatHasNotEndedIsRefused() throws {
        let request = SettlementRequest(managerID: "M1", grade: "M1", month: F.march, today: F.day(2025, 3, 31), throughSequence: 10)
        #expect(throws: SettlementError.monthNotEnded(month: F.march, today: F.day(2025, 3, 31))) {
            try Settlement.settle(request, items: [], schemes: F.catalog(), book: SettlementBook())
        }
    }

    // MARK: Margin and interest

    @Test func marginTradesAndInterest() throws {
        let items = [
            // Margin: 12 345 − 345 − 100 = 11 900.
            F.trade("T1", on: F.day(2025, 3, 10), account: .margin, commission: 12_345, exchange: 345, regulatory: 100),
            // Cash: 8 500 − 300 − 100 = 8 100.
            F.trade("T2", on: F.day(2025, 3, 10), commission: 8_500, exchange: 300, regulatory: 100),
            // 12 345 × 10 % = 1 234.5 → 1 235 (half-up).
            F.interest("I1", on: F.day(2025, 3, 31), fen: 12_345),
            // A correction: −105 × 10 % = −10.5 → −11 (away from zero).
            F.interest("I0", on: F.day(2025, 3, 31), fen: -105, adjustment: true),
        ]
        let statement = try F.settle(items)
        #expect(statement.incomeLines.map(\.sourceEventID) == ["T1", "T2", "I0", "I1"])
        #expect(statement.incomeLines.map(\.source) == [.marginCommission, .cashCommission, .marginInterest, .marginInterest])
        #expect(statement.incomeLines.map(\.payFen) == [nil, nil, -11, 1_235])
        #expect(statement.incomeLines.map(\.isAdjustment) == [false, false, true, false])
        #expect(statement.incomeLines.map(\.isCarriedForward) == [false, false, false, false])
        #expect(statement.sourceTotals == [
            SourceTotal(source: .cashCommission, itemCount: 1, incomeFen: 8_100, payFen: nil),
            SourceTotal(source: .marginCommission, itemCount: 1, incomeFen: 11_900, payFen: nil),
            // 12 345 − 105 = 12 240; 1 235 − 11 = 1 224.
            SourceTotal(source: .marginInterest, itemCount: 2, incomeFen: 12_240, payFen: 1_224),
        ])
        // (8 100 + 11 900) × 20 % = 4 000; subtotal 4 000 + 1 224 = 5 224.
        #expect(statement.commissionPayFen == 4_000)
        #expect(statement.subtotalFen == 5_224)
        #expect(statement.totalFen == 5_224)
    }

    // MARK: Product rebates

    @Test func productRebatesRoundHalfUpOnceFromTheSaleAmount() throws {
        let items = [
            // Rebate 10 100 × 1 % = 101; pay 10 100 × 1 % × 50 % = 50.5 → 51.
            F.sale("P1", on: F.day(2025, 3, 5), amount: 10_100, rebate: 100),
            // Rebate 10 090 × 1 % = 100.9 → 101; pay 10 090 × 1 % × 50 % = 50.45 → 50 (one rounding;
            // halving the rounded 101 would give 50.5 → 51).
            F.sale("P2", on: F.day(2025, 3, 6), amount: 10_090, rebate: 100),
            // A refund: rebate −101; pay −50.5 → −51 (away from zero).
            F.sale("P3", on: F.day(2025, 3, 7), amount: -10_100, rebate: 100, adjustment: true),
            // Rebate 250 × 0.2 % = 0.5 → 1; pay 250 × 0.2 % × 50 % = 0.25 → 0.
            F.sale("P4", on: F.day(2025, 3, 8), amount: 250, rebate: 20),
        ]
        let statement = try F.settle(items)
        #expect(statement.incomeLines.map(\.incomeFen) == [101, 101, -101, 1])
        #expect(statement.incomeLines.map(\.payFen) == [51, 50, -51, 0])
        #expect(statement.incomeLines.map(\.rate) == [5_000, 5_000, 5_000, 5_000])
        #expect(statement.incomeLines[1].basis == .productSale(productCode: "FUND-A", saleAmountFen: 10_090, rebateRate: 100))
        #expect(statement.adjustments.map(\.sourceEventID) == ["P3"])
        // Income 101 + 101 − 101 + 1 = 102; pay 51 + 50 − 51 + 0 = 50. No commission: no bands.
        #expect(statement.sourceTotals == [SourceTotal(source: .productRebate, itemCount: 4, incomeFen: 102, payFen: 50)])
        #expect(statement.commissionBands.isEmpty)
        #expect(statement.totalFen == 50)
    }

    // MARK: Coefficients

    @Test func coefficientsAreLinesOfTheirOwn() throws {
        let trades = boundaryTrades(marginCommission: 25_000)  // subtotal 20 000
        // Assessment 1.05: 20 000 × 0.05 = +1 000 → 21 000. Compliance 0 (breach): −21 000 → 0.
        let breach = try F.settle(trades, coefficients: ManagerCoefficients(assessment: Coefficient("1.05")!, compliance: .zero))
        #expect(breach.subtotalFen == 20_000)
        #expect(breach.coefficientLines == [
            CoefficientLine(kind: .assessment, coefficient: Coefficient("1.05")!, baseFen: 20_000, amountFen: 1_000),
            CoefficientLine(kind: .compliance, coefficient: .zero, baseFen: 21_000, amountFen: -21_000),
        ])
        #expect(breach.totalFen == 0)

        // Advisory 15 005 × 20 % = 3 001. Assessment 0.955: 3 001 × −0.045 = −135.045 → −135 → 2 866.
        let fee = [F.advisory("A1", on: F.day(2025, 3, 2), fee: 15_005)]
        let scaled = try F.settle(fee, coefficients: ManagerCoefficients(assessment: Coefficient("0.955")!))
        #expect(scaled.subtotalFen == 3_001)
        #expect(scaled.coefficientLines.map(\.amountFen) == [-135, 0])
        #expect(scaled.totalFen == 2_866)
    }

    // MARK: Determinism and refusals

    @Test func settlingTheSameInputsTwiceGivesIdenticalStatements() throws {
        let items = boundaryTrades(marginCommission: 30_000) + [
            F.interest("I1", on: F.day(2025, 3, 4), fen: 999),
            F.sale("P1", on: F.day(2025, 3, 1), amount: 123_457, rebate: 35),
            F.advisory("A1", on: F.day(2025, 3, 4), fee: 777),
        ]
        let first = try F.settle(items)
        let again = try F.settle(items)
        let shuffled = try F.settle(items.reversed())
        #expect(first == again)
        #expect(first == shuffled)
        // Day, then source event id: P1 (1st), T1 (3rd), A1, I1, T2 (4th).
        #expect(first.incomeLines.map(\.sourceEventID) == ["P1", "T1", "A1", "I1", "T2"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(try encoder.encode(first) == encoder.encode(shuffled))
        #expect(try JSONDecoder().decode(ManagerStatement.self, from: encoder.encode(first)) == first)
    }

    @Test func eachEventCountsOnceAndBadInputNamesTheField() throws {
        let items = [
            F.advisory("A1", on: F.day(2025, 3, 2), fee: 100),
            F.advisory("A1", on: F.day(2025, 3, 3), fee: 100),
            F.sale("P1", on: F.day(2025, 3, 3), amount: 100, rebate: 10_001),
        ]
        #expect(throws: SettlementError.invalid([
            SettlementViolation(field: "coefficients.compliance", description: "11 is outside 0–10"),
            SettlementViolation(field: "items[1].source_event_id", description: "A1 is also items[0]; each event counts once"),
            SettlementViolation(field: "items[2].rebate_rate", description: "10001 bp is outside 0–10000 bp"),
        ])) {
            try F.settle(items, coefficients: ManagerCoefficients(compliance: Coefficient("11")!))
        }
    }
}
