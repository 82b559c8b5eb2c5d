import CRMProtos
@testable import CompensationService
import Foundation
import Testing

/// The pure pieces the service adds around settlement: firm-wide closings, credited sales, trade
/// costs, advisory billing, business days.
@Suite struct DomainExtensionTests {
    typealias F = Fixture

    @Test func aMonthClosedForEveryoneRoutesLateItemsAndOpensTheBooks() throws {
        var book = SettlementBook()
        try book.closeForEveryone(month: F.march, throughSequence: 10)
        #expect(book.isClosed(F.march, managerID: "M1"))
        #expect(book.isClosed(F.march, managerID: "anyone"))
        #expect(!book.isClosed(F.april, managerID: "M1"))
        // A March item recorded after the close lands in April, for every manager.
        #expect(book.statementMonth(ofItemIn: F.march, ingestSequence: 11, managerID: "M7") == F.april)
        #expect(book.statementMonth(ofItemIn: F.march, ingestSequence: 10, managerID: "M7") == F.march)
        // The books opened with March: a February (or older) item recorded later is late too.
        #expect(book.isClosed(F.month(2025, 2), managerID: "M1"))
        #expect(book.statementMonth(ofItemIn: F.month(2024, 11), ingestSequence: 11, managerID: "M1") == F.april)
        #expect(book.lastClosedForEveryone == F.march)
        try book.closeForEveryone(month: F.april, throughSequence: 20)
        // Recorded before April closed: it was in April's statement; after: it waits for May.
        #expect(book.statementMonth(ofItemIn: F.month(2024, 11), ingestSequence: 15, managerID: "M1") == F.april)
        #expect(book.statementMonth(ofItemIn: F.month(2024, 11), ingestSequence: 21, managerID: "M1") == F.may)
        #expect(throws: SettlementError.monthClosed(managerID: SettlementBook.everyone, month: F.april)) {
            try book.closeForEveryone(month: F.april, throughSequence: 30)
        }
        // It persists like per-manager closings.
        let decoded = try JSONDecoder().decode(SettlementBook.self, from: JSONEncoder().encode(book))
        #expect(decoded == book)
        #expect(decoded.statementMonth(ofItemIn: F.month(2024, 11), ingestSequence: 21, managerID: "M1") == F.may)

        // Settled through the book: the late February sale lands in May's statement, flagged.
        let late = F.sale("P9", on: F.day(2025, 2, 27), amount: 10_000, rebate: 100, sequence: 25)
        let may = try F.settle([late, F.trade("T1", on: F.day(2025, 5, 2), commission: 1_000, sequence: 24)], month: F.may, book: book)
        #expect(may.incomeLines.map(\.sourceEventID) == ["P9", "T1"])
        #expect(may.incomeLines.map(\.isCarriedForward) == [true, false])
    }

    @Test func aSaleCreditedToAManagerGoesToThemIfOnTheRoster() throws {
        let timeline = try AssignmentTimeline([CustomerAssignment(customerID: "C1", managerID: "M1", effectiveFrom: F.day(2025, 1, 1))])
        var credited = F.sale("O1", on: F.day(2025, 3, 3), amount: 1_000, rebate: 100)
        credited.creditedManagerID = "M2"
        var stranger = F.sale("O2", on: F.day(2025, 3, 4), amount: 1_000, rebate: 100)
        stranger.creditedManagerID = "M9"
        let attribution = IncomeAttribution(items: [credited, stranger], timeline: timeline,
                                            roster: CreditRoster(managers: [("M1", nil), ("M2", nil)]))
        #expect(attribution.items(for: "M2").map(\.sourceEventID) == ["O1"])
        #expect(attribution.items(for: "M1").map(\.sourceEventID) == ["O2"])  // M9 is no manager: the one in charge
    }

    @Test func aSaleNamingAManagerWhoHadLeftGoesToTheManagerInCharge() throws {
        let timeline = try AssignmentTimeline([CustomerAssignment(customerID: "C1", managerID: "M1", effectiveFrom: F.day(2025, 1, 1))])
        let roster = CreditRoster(managers: [("M1", nil), ("M11", F.day(2025, 3, 16))])
        func sale(_ id: String, on day: CalendarDay) -> IncomeItem {
            var item = F.sale(id, on: day, amount: 1_000, rebate: 100)
            item.creditedManagerID = "M11"
            return item
        }
        // Through the last working day the sale is theirs; the day after, the customer's manager's.
        let attribution = IncomeAttribution(items: [sale("O1", on: F.day(2025, 3, 16)), sale("O2", on: F.day(2025, 3, 17))],
                                            timeline: timeline, roster: roster)
        #expect(attribution.items(for: "M11").map(\.sourceEventID) == ["O1"])
        #expect(attribution.items(for: "M1").map(\.sourceEventID) == ["O2"])
        #expect(roster.honours("M11", on: F.day(2025, 3, 16)) && !roster.honours("M11", on: F.day(2025, 3, 17)))
        #expect(!roster.honours("M9", on: F.day(2025, 3, 1)) && CreditRoster.anyone.honours("M9", on: F.day(2025, 3, 1)))
    }

    @Test func tradeCostsAreRatesOfTheAmountRoundedOnce() throws {
        let schedule = try TradeCostSchedule.parse("transfer=0.1, channel=2.5").get()
        #expect(schedule.rates.map(\.partsPerHundredMillion) == [1_000, 25_000])
        // 1 234 567 × 0.001 % = 12.34567 → 12; × 0.025 % = 308.64 → 309.
        #expect(schedule.costs(ofTradeAmount: 1_234_567) == [NamedCost(name: "transfer", fen: 12), NamedCost(name: "channel", fen: 309)])
        // 5 000 × 0.001 % = 0.05 → 0: left out.
        #expect(schedule.costs(ofTradeAmount: 5_000) == [NamedCost(name: "channel", fen: 1)])
        #expect(schedule.description == "transfer=0.1 bp, channel=2.5 bp")
        for bad in ["transfer", "transfer=abc", "transfer=0.12345", "a=1,a=2", "=1", "x=10001"] {
            #expect(throws: SettlementError.self, "\(bad)") { try TradeCostSchedule.parse(bad).get() }
        }
        #expect(try TradeCostSchedule.parse("").get().rates.isEmpty)
    }

    @Test func advisoryFeesAreBilledMonthlyOnTheLastDay() {
        let fixed = AdvisorySubscription(customerID: "C1", packageCode: "PK1", fee: .monthly(fen: 30_000), startDay: F.day(2025, 3, 31))
        #expect(AdvisoryBilling.months(of: fixed, through: F.may) == [F.march, F.april, F.may])
        #expect(AdvisoryBilling.months(of: fixed, through: F.month(2025, 2)).isEmpty)
        let march = AdvisoryBilling.fee(of: fixed, in: F.march, monthEndAssetsFen: 0)
        #expect(march?.sourceEventID == "pkg:C1:PK1:2025-03")
        #expect(march?.day == F.day(2025, 3, 31))
        #expect(march?.kind == .advisoryFee(AdvisoryFee(packageID: "PK1", feeFen: 30_000)))
        // 1 % a year of 1 234 567 at month end: 1 234 567 × 100 / 10 000 / 12 = 1 028.81 → 1 029.
        let percentage = AdvisorySubscription(customerID: "C1", packageCode: "PK2", fee: .assetPercentage(100), startDay: F.day(2025, 3, 1))
        #expect(AdvisoryBilling.fee(of: percentage, in: F.march, monthEndAssetsFen: 1_234_567)?.kind == .advisoryFee(AdvisoryFee(packageID: "PK2", feeFen: 1_029)))
        #expect(AdvisoryBilling.fee(of: percentage, in: F.month(2025, 2), monthEndAssetsFen: 1_000) == nil)
    }

    @Test func instantsBecomeBeijingBusinessDays() {
        // 2025-03-31 16:00 UTC is 1 April 00:00 in Beijing.
        let midnight: Int64 = 1_743_436_800_000
        #expect(BusinessCalendar.day(ofUnixMillis: midnight) == F.day(2025, 4, 1))
        #expect(BusinessCalendar.day(ofUnixMillis: midnight - 1) == F.day(2025, 3, 31))
        #expect(BusinessCalendar.startMillis(of: F.day(2025, 4, 1)) == midnight)
        #expect(BusinessCalendar.day(ofUnixMillis: -1) == F.day(1970, 1, 1))
    }
}

/// The hand-written encoder of statement lines writes exactly what swift-protobuf writes.
@Suite struct StatementLineEncodingTests {
    typealias F = Fixture

    @Test func linesEncodeByteForByteAsTheGeneratedCode() throws {
        let version = RuleVersion(grade: "G1", version: 3)
        var lines: [IncomeLine] = [
            IncomeLine(sourceEventID: "pe:1", customerID: "C1", day: F.day(2025, 3, 3), source: .cashCommission, originalMonth: F.march,
                       isCarriedForward: false, isAdjustment: false, ruleVersion: version,
                       basis: .trade(account: .cash, commissionFen: 300_000, exchangeFeesFen: 2_000, regulatoryFeesFen: 5, listedCostsFen: 0),
                       incomeFen: 297_995, rate: nil, payFen: nil),
            IncomeLine(sourceEventID: "pe:2", customerID: "C2", day: F.day(2025, 2, 28), source: .marginCommission, originalMonth: F.month(2025, 2),
                       isCarriedForward: true, isAdjustment: true, ruleVersion: version,
                       basis: .trade(account: .margin, commissionFen: -5, exchangeFeesFen: 0, regulatoryFeesFen: 0, listedCostsFen: 7),
                       incomeFen: -12, rate: nil, payFen: nil),
            IncomeLine(sourceEventID: "pe:3", customerID: "C2", day: F.day(2025, 3, 31), source: .marginInterest, originalMonth: F.march,
                       isCarriedForward: false, isAdjustment: true, ruleVersion: version, basis: .marginInterest,
                       incomeFen: -105, rate: 1_000, payFen: -11),
            IncomeLine(sourceEventID: "order:O-é", customerID: "客户1", day: F.day(2025, 3, 5), source: .productRebate, originalMonth: F.march,
                       isCarriedForward: false, isAdjustment: false, ruleVersion: RuleVersion(grade: "", version: 0),
                       basis: .productSale(productCode: "", saleAmountFen: 0, rebateRate: 0), incomeFen: 0, rate: 0, payFen: 0),
            IncomeLine(sourceEventID: "", customerID: "", day: F.day(1970, 1, 1), source: .advisoryFee, originalMonth: F.month(1970, 1),
                       isCarriedForward: false, isAdjustment: false, ruleVersion: version,
                       basis: .advisoryFee(packageID: ""), incomeFen: Int64.max, rate: 10_000, payFen: Int64.min),
        ]
        for index in 0..<200 {
            lines.append(IncomeLine(
                sourceEventID: "pe:\(index * 7_919)", customerID: "C\(index)", day: F.day(2025, 1 + index % 12, 1 + index % 28), source: .productRebate,
                originalMonth: F.march, isCarriedForward: index % 3 == 0, isAdjustment: index % 5 == 0, ruleVersion: version,
                basis: .productSale(productCode: "P\(index)", saleAmountFen: Int64(index) * 1_234_567 - 50_000, rebateRate: BasisPoints(index)),
                incomeFen: Int64(index) * 1_000 - 3_000, rate: BasisPoints(index * 50), payFen: Int64(index) - 100,
                namedManagerID: index % 4 == 0 ? "M\(index)-已离职" : nil
            ))
        }
        var encoder = StatementLineEncoder()
        for line in lines { encoder.append(line) }
        var reference = Crm_Compensation_V1_Statement()
        reference.lines = lines.map(\.wire)
        #expect(encoder.bytes == [UInt8](try reference.serializedData()))
        #expect(try Crm_Compensation_V1_Statement(serializedBytes: encoder.bytes).lines == reference.lines)
    }
}

/// How a trade's other costs are kept and stored.
@Suite struct TradeCostStorageTests {
    @Test func otherCostsRoundTripThroughTheCompactFormAndTheStore() throws {
        let costs = [NamedCost(name: "transfer", fen: 12), NamedCost(name: "channel", fen: -3), NamedCost(name: "x", fen: 0)]
        var trade = TradeCommission(account: .cash, commissionFen: 100, otherCosts: costs)
        #expect(trade.otherCosts == costs)
        #expect(trade.listedCostsFen(["transfer", "channel"]) == 9)
        #expect(trade.netCommissionFen(deducting: ["channel"]) == 103)
        let decoded = try JSONDecoder().decode(TradeCommission.self, from: JSONEncoder().encode(trade))
        #expect(decoded == trade && decoded.otherCosts == costs)
        trade.otherCosts = []
        #expect(trade.otherCosts.isEmpty && trade.listedCostsFen(["transfer"]) == 0)
        #expect(trade == TradeCommission(account: .cash, commissionFen: 100))

        let parsed = IncomeStore.parseCosts("transfer=12;channel=-3;x=0")
        #expect(parsed.first == costs[0] && parsed.more == Array(costs.dropFirst()))
        #expect(IncomeStore.parseCosts("").first == nil)
        #expect(IncomeStore.parseCosts("broken;transfer=").first == nil)
        #expect(IncomeStore.parseCosts("broken;fee=7").first == NamedCost(name: "fee", fen: 7))
    }
}
