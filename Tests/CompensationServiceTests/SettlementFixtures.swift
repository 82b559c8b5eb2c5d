import CompensationService

/// Days, months, schemes and items for the settlement tests. Force unwraps are fine here: the dates
/// are literals.
enum Fixture {
    static func day(_ year: Int, _ month: Int, _ day: Int) -> CalendarDay {
        CalendarDay(year: year, month: month, day: day)!
    }

    static func month(_ year: Int, _ month: Int) -> CalendarMonth {
        CalendarMonth(year: year, month: month)!
    }

    static let march = month(2025, 3)
    static let april = month(2025, 4)
    static let may = month(2025, 5)

    /// 0–100 000 fen at 20 %, 100 000–500 000 at 25 %, above at 30 %.
    static let tiers = [
        CommissionTier(lowerFen: 0, upperFen: 100_000, rate: 2_000),
        CommissionTier(lowerFen: 100_000, upperFen: 500_000, rate: 2_500),
        CommissionTier(lowerFen: 500_000, upperFen: nil, rate: 3_000),
    ]

    /// Interest 10 %, product rebates 50 %, advisory fees 20 %; net commission also deducts "transfer".
    static let rates = SourceRates(marginInterest: 1_000, productRebate: 5_000, advisoryFee: 2_000)

    static let schemeM1 = CompensationScheme(
        grade: "M1", version: 1, effectiveFrom: day(2025, 1, 1),
        commissionTiers: tiers, rates: rates, deductedCosts: ["transfer"]
    )

    static func catalog(_ schemes: [CompensationScheme] = [schemeM1]) -> SchemeCatalog {
        try! SchemeCatalog(schemes)
    }

    static func trade(_ id: String, customer: String = "C1", on day: CalendarDay, account: TradeAccount = .cash, commission: Int64,
                      exchange: Int64 = 0, regulatory: Int64 = 0, costs: [NamedCost] = [], sequence: Int64 = 1) -> IncomeItem {
        IncomeItem(sourceEventID: id, customerID: customer, day: day,
                   kind: .trade(TradeCommission(account: account, commissionFen: commission, exchangeFeesFen: exchange,
                                                regulatoryFeesFen: regulatory, otherCosts: costs)),
                   ingestSequence: sequence)
    }

    static func interest(_ id: String, customer: String = "C1", on day: CalendarDay, fen: Int64, adjustment: Bool = false, sequence: Int64 = 1) -> IncomeItem {
        IncomeItem(sourceEventID: id, customerID: customer, day: day, kind: .marginInterest(interestFen: fen), isAdjustment: adjustment, ingestSequence: sequence)
    }

    static func sale(_ id: String, customer: String = "C1", on day: CalendarDay, amount: Int64, rebate: BasisPoints, adjustment: Bool = false,
                     sequence: Int64 = 1) -> IncomeItem {
        IncomeItem(sourceEventID: id, customerID: customer, day: day,
                   kind: .productSale(ProductSale(productCode: "FUND-A", amountFen: amount, rebateRate: rebate)),
                   isAdjustment: adjustment, ingestSequence: sequence)
    }

    static func advisory(_ id: String, customer: String = "C1", on day: CalendarDay, fee: Int64, sequence: Int64 = 1) -> IncomeItem {
        IncomeItem(sourceEventID: id, customerID: customer, day: day, kind: .advisoryFee(AdvisoryFee(packageID: "PKG-1", feeFen: fee)), ingestSequence: sequence)
    }

    /// Settles `month` for manager M1 (grade M1), the month having ended.
    static func settle(_ items: [IncomeItem], month: CalendarMonth = march, manager: String = "M1", book: SettlementBook = SettlementBook(),
                       throughSequence: Int64 = 1_000, coefficients: ManagerCoefficients = ManagerCoefficients()) throws -> ManagerStatement {
        let request = SettlementRequest(managerID: manager, grade: "M1", month: month, today: month.next.firstDay,
                                        throughSequence: throughSequence, coefficients: coefficients)
        return try Settlement.settle(request, items: items, schemes: catalog(), book: book)
    }
}
