@testable import CustomerDimensions
@testable import ProfilesService

/// Event builders and helpers for the dimension and classification tests. Amounts are fen.
enum Fixture {
    /// The business date of most tests: 2026-06-30.
    static let asOf: DayNumber = Days.day(year: 2026, month: 6, day: 30)

    /// An instant at `hour` o'clock Beijing time on `day`.
    static func millis(_ day: DayNumber, hour: Int64 = 10) -> Int64 {
        BusinessCalendar.startMillis(of: CalendarDay(daysSince1970: day)) + hour * 3_600_000
    }

    static func trade(_ day: DayNumber, _ side: Side = .buy, amount: Int64, commission: Int64 = 0, fees: Int64 = 0,
                      type: Instrument = .stock, sector: String = "banking", account: AccountKind = .cash,
                      key: String? = nil, hour: Int64 = 10) -> CustomerEvent {
        .trade(Trade(
            key: key ?? "t-\(day)-\(side)-\(amount)-\(type.name)-\(sector)-\(hour)", customerID: "c1", account: account, side: side,
            instrument: "600000", instrumentType: type, sector: sector, quantity: 100, price: "1.00",
            amountFen: amount, commissionFen: commission, feesFen: fees, tradedAtMillis: millis(day, hour: hour)
        ))
    }

    static func deposit(_ day: DayNumber, _ amount: Int64, key: String? = nil) -> CustomerEvent {
        .transfer(FundTransfer(key: key ?? "d-\(day)-\(amount)", customerID: "c1", isDeposit: true, amountFen: amount, atMillis: millis(day)))
    }

    static func withdrawal(_ day: DayNumber, _ amount: Int64, key: String? = nil) -> CustomerEvent {
        .transfer(FundTransfer(key: key ?? "w-\(day)-\(amount)", customerID: "c1", isDeposit: false, amountFen: amount, atMillis: millis(day)))
    }

    static func position(_ day: DayNumber, cash: Int64, holdings: [Holding] = [], products: [ProductPosition] = [],
                         key: String? = nil) -> CustomerEvent {
        .position(DailyPosition(key: key ?? "p-\(day)-\(cash)", customerID: "c1", day: day, cashFen: cash, holdings: holdings, products: products))
    }

    static func holding(_ code: String, _ type: Instrument = .stock, sector: String = "banking", value: Int64, cost: Int64,
                        quantity: Int64 = 100) -> Holding {
        Holding(instrument: code, instrumentType: type, sector: sector, quantity: quantity, marketValueFen: value, costFen: cost)
    }

    static func product(_ code: String, _ type: String, value: Int64, cost: Int64) -> ProductPosition {
        ProductPosition(productCode: code, productType: type, marketValueFen: value, costFen: cost)
    }

    static func margin(_ day: DayNumber, collateral: Int64, financing: Int64, borrowed: Int64 = 0, accrued: Int64 = 0,
                       limit: Int64, key: String? = nil) -> CustomerEvent {
        .margin(MarginSnapshot(
            key: key ?? "m-\(day)-\(financing)", customerID: "c1", day: day, collateralFen: collateral, financingFen: financing,
            securitiesBorrowedFen: borrowed, interestAccruedFen: accrued, creditLimitFen: limit
        ))
    }

    static func interest(_ day: DayNumber, _ amount: Int64, key: String? = nil) -> CustomerEvent {
        .interest(MarginInterest(key: key ?? "i-\(day)-\(amount)", customerID: "c1", amountFen: amount, atMillis: millis(day)))
    }

    static func contact(_ day: DayNumber, _ channel: ContactKind = .call, _ outcome: ContactResult = .reached, key: String? = nil) -> CustomerEvent {
        .contact(ServiceContact(
            key: key ?? "s-\(day)-\(channel)-\(outcome)", customerID: "c1", channel: channel, staffID: "staff1", topic: "review",
            outcome: outcome, atMillis: millis(day)
        ))
    }

    static func view(_ day: DayNumber, _ code: String, _ type: String = "FUND_BOND", key: String? = nil, hour: Int64 = 10) -> CustomerEvent {
        .view(ProductView(key: key ?? "v-\(day)-\(code)-\(hour)", customerID: "c1", productCode: code, productType: type, atMillis: millis(day, hour: hour)))
    }

    static func ledger(_ events: [CustomerEvent]) -> CustomerLedger {
        CustomerLedger(events: events)
    }

    static func compute(_ events: [CustomerEvent], facts: CustomerFacts = CustomerFacts(), asOf: DayNumber = Fixture.asOf) -> DimensionValues {
        DimensionEngine.compute(ledger: CustomerLedger(events: events), customer: facts, asOf: asOf)
    }

    /// A customer active in every group: the events of `activeEvents` with these facts.
    static let activeFacts = CustomerFacts(
        kind: .individual, status: .normal, openDay: asOf - 1_000, birthDay: Days.day(year: 1980, month: 3, day: 15),
        riskTolerance: 4, investorClass: .ordinary, assessmentExpiresDay: asOf + 200
    )

    static var activeEvents: [CustomerEvent] {
        var events: [CustomerEvent] = []
        for age in stride(from: Int32(400), through: 0, by: -1) {
            let day = asOf - age
            events.append(position(
                day, cash: 5_000_000 + Int64(age) * 1_000,
                holdings: [
                    holding("600000", .stock, sector: "banking", value: 3_000_000, cost: 2_500_000),
                    holding("000001", .stock, sector: "technology", value: 1_000_000, cost: 1_200_000),
                    holding("019547", .bond, sector: "government", value: 2_000_000, cost: 1_990_000),
                ],
                products: [product("F001", "FUND_BOND", value: 1_000_000, cost: 950_000), product("A001", "ASSET_MANAGEMENT", value: 500_000, cost: 500_000)]
            ))
            if age % 3 == 0 {
                events.append(trade(day, age % 2 == 0 ? .buy : .sell, amount: 200_000 + Int64(age), commission: 60, fees: 5, type: age % 4 == 0 ? .etf : .stock,
                                    sector: age % 5 == 0 ? "technology" : "banking", account: age % 6 == 0 ? .margin : .cash))
            }
            if age % 10 == 0 { events.append(deposit(day, 100_000)) }
            if age % 15 == 0 { events.append(withdrawal(day, 40_000)) }
            if age % 20 == 0 { events.append(contact(day, .call, age % 40 == 0 ? .complaint : .reached)) }
            if age % 7 == 0 { events.append(view(day, "P\(age % 4)", age % 2 == 0 ? "FUND_BOND" : "FUND_EQUITY")) }
            if age % 30 == 0 { events.append(interest(day, 1_500)) }
        }
        events.append(margin(asOf, collateral: 9_000_000, financing: 3_000_000, borrowed: 500_000, accrued: 20_000, limit: 10_000_000))
        return events
    }
}

extension DimensionValues {
    /// The value of a numeric dimension by name, NaN when missing; -1e300 when the name is unknown
    /// (so a typo fails loudly).
    func n(_ name: String) -> Double {
        guard let definition = DimensionCatalog.definition(named: name), definition.type.isNumeric else { return -1e300 }
        return numbers[definition.slot]
    }

    func c(_ name: String) -> String {
        category(name) ?? "<unknown dimension \(name)>"
    }
}

/// SplitMix64: a small seeded generator so random tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
