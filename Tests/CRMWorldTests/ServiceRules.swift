import CRMProtos
import Foundation

/// The services' validation rules, restated from their sources (profiles: CustomerValidation,
/// AssessmentValidation, StatusRules, EventConversion and EventStore's trading-status check;
/// products: ProductValidation, ContractValidation, OrderValidation, SaleRules; compensation:
/// ManagerValidation), so that the generated messages can be checked without the services.
/// Each function returns the violated fields; empty means the service would accept the message.
enum ServiceRules {
    /// Events may be stamped at most a day after "now"; the world's present is its `today`.
    static func latestMillis(today: Int32) -> Int64 {
        Int64(today + 1) * 86_400_000 - 8 * 3_600_000 + 86_400_000
    }

    static let earliestMillis: Int64 = 946_684_800_000

    // MARK: Profiles

    static func customer(_ customer: Crm_Profiles_V1_Customer) -> [String] {
        var problems: [String] = []
        if customer.customerID.isEmpty || customer.customerID.count > 64 { problems.append("customer_id") }
        if customer.kind != .individual, customer.kind != .institution { problems.append("kind") }
        if customer.name.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("name") }
        if !(1...5).contains(customer.status.rawValue) { problems.append("status") }
        if customer.hasOpenDate, !customer.openDate.isValid { problems.append("open_date") }
        if customer.status != .prospect, !customer.hasOpenDate { problems.append("open_date required") }
        return problems
    }

    static func assessment(_ assessment: Crm_Profiles_V1_SuitabilityAssessment) -> [String] {
        var problems: [String] = []
        if assessment.investorClass != .ordinary, assessment.investorClass != .professional { problems.append("investor_class") }
        if !(1...5).contains(assessment.riskTolerance.rawValue) { problems.append("risk_tolerance") }
        if assessment.lowestCategory, assessment.riskTolerance != .c1 { problems.append("lowest_category") }
        if !assessment.hasAssessedOn || !assessment.assessedOn.isValid { problems.append("assessed_on") }
        if assessment.hasExpiresOn, !assessment.expiresOn.isValid || assessment.expiresOn.isoString <= assessment.assessedOn.isoString {
            problems.append("expires_on")
        }
        if !(1...4).contains(assessment.horizon.rawValue) { problems.append("horizon") }
        if assessment.varieties.isEmpty || assessment.varieties.contains(where: { !(1...8).contains($0.rawValue) }) { problems.append("varieties") }
        if !(-10_000...100_000).contains(assessment.expectedReturnBp) { problems.append("expected_return_bp") }
        return problems
    }

    static let allowedChanges: [Crm_Profiles_V1_AccountStatus: Set<Crm_Profiles_V1_AccountStatus>] = [
        .prospect: [.normal, .closed], .normal: [.frozen, .reportedLost, .closed], .frozen: [.normal, .closed],
        .reportedLost: [.normal, .closed], .closed: [],
    ]

    static func key(_ key: String) -> [String] {
        key.isEmpty || key.count > 128 ? ["idempotency_key"] : []
    }

    static func customerID(_ id: String) -> [String] {
        id.isEmpty || id.count > 64 ? ["customer_id"] : []
    }

    static func instant(_ timestamp: Crm_Common_V1_Timestamp, present: Bool, today: Int32) -> [String] {
        present && timestamp.unixMillis >= earliestMillis && timestamp.unixMillis <= latestMillis(today: today) ? [] : ["instant"]
    }

    static func day(_ date: Crm_Common_V1_Date, present: Bool, today: Int32) -> [String] {
        guard present, date.isValid else { return ["day"] }
        return WorldDaysForTests.day(date) <= today + 1 ? [] : ["day in the future"]
    }

    static func positive(_ money: Crm_Common_V1_Money, present: Bool) -> [String] {
        present && money.minorUnits > 0 && (money.currency.isEmpty || money.currency == "CNY") ? [] : ["positive amount"]
    }

    static func nonNegative(_ money: Crm_Common_V1_Money, present: Bool) -> [String] {
        !present || (money.minorUnits >= 0 && (money.currency.isEmpty || money.currency == "CNY")) ? [] : ["non-negative amount"]
    }

    /// `12`, `12.345`: digits with at most one point, not first or last.
    static func isDecimal(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return false }
        return true
    }

    static func trade(_ event: Crm_Profiles_V1_TradeEvent, today: Int32) -> [String] {
        var problems = key(event.idempotencyKey) + customerID(event.customerID)
        if event.account != .cash, event.account != .margin { problems.append("account") }
        if event.side != .buy, event.side != .sell { problems.append("side") }
        if event.instrument.isEmpty { problems.append("instrument") }
        if !(1...7).contains(event.instrumentType.rawValue) { problems.append("instrument_type") }
        if event.quantity <= 0 { problems.append("quantity") }
        if !event.price.isEmpty, !isDecimal(event.price) { problems.append("price") }
        problems += positive(event.amount, present: event.hasAmount)
        problems += nonNegative(event.commission, present: event.hasCommission)
        problems += nonNegative(event.fees, present: event.hasFees)
        problems += instant(event.tradedAt, present: event.hasTradedAt, today: today)
        return problems
    }

    static func transfer(_ event: Crm_Profiles_V1_FundTransferEvent, today: Int32) -> [String] {
        var problems = key(event.idempotencyKey) + customerID(event.customerID)
        if event.direction != .deposit, event.direction != .withdrawal { problems.append("direction") }
        problems += positive(event.amount, present: event.hasAmount)
        problems += instant(event.transferredAt, present: event.hasTransferredAt, today: today)
        return problems
    }

    static func position(_ event: Crm_Profiles_V1_DailyPositionEvent, today: Int32) -> [String] {
        var problems = key(event.idempotencyKey) + customerID(event.customerID)
        problems += day(event.tradingDay, present: event.hasTradingDay, today: today)
        problems += nonNegative(event.cash, present: event.hasCash)
        for holding in event.holdings {
            if holding.instrument.isEmpty { problems.append("holdings.instrument") }
            if !(1...7).contains(holding.instrumentType.rawValue) { problems.append("holdings.instrument_type") }
            if holding.quantity < 0 { problems.append("holdings.quantity") }
            problems += nonNegative(holding.marketValue, present: holding.hasMarketValue)
            problems += nonNegative(holding.cost, present: holding.hasCost)
        }
        for product in event.products {
            if product.productCode.isEmpty { problems.append("products.product_code") }
            problems += nonNegative(product.marketValue, present: product.hasMarketValue)
            problems += nonNegative(product.cost, present: product.hasCost)
        }
        return problems
    }

    static func margin(_ event: Crm_Profiles_V1_MarginAccountEvent, today: Int32) -> [String] {
        key(event.idempotencyKey) + customerID(event.customerID) + day(event.tradingDay, present: event.hasTradingDay, today: today)
            + nonNegative(event.collateralValue, present: event.hasCollateralValue)
            + nonNegative(event.financingLiability, present: event.hasFinancingLiability)
            + nonNegative(event.securitiesBorrowedValue, present: event.hasSecuritiesBorrowedValue)
            + nonNegative(event.interestAccrued, present: event.hasInterestAccrued)
            + nonNegative(event.creditLimit, present: event.hasCreditLimit)
    }

    static func interest(_ event: Crm_Profiles_V1_MarginInterestEvent, today: Int32) -> [String] {
        key(event.idempotencyKey) + customerID(event.customerID) + positive(event.amount, present: event.hasAmount)
            + instant(event.chargedAt, present: event.hasChargedAt, today: today)
    }

    static func contact(_ event: Crm_Profiles_V1_ServiceContactEvent, today: Int32) -> [String] {
        var problems = key(event.idempotencyKey) + customerID(event.customerID)
        if !(1...3).contains(event.channel.rawValue) { problems.append("channel") }
        if !(1...5).contains(event.outcome.rawValue) { problems.append("outcome") }
        return problems + instant(event.contactedAt, present: event.hasContactedAt, today: today)
    }

    static func view(_ event: Crm_Profiles_V1_ProductViewEvent, today: Int32) -> [String] {
        var problems = key(event.idempotencyKey) + customerID(event.customerID)
        if event.productCode.isEmpty { problems.append("product_code") }
        return problems + instant(event.viewedAt, present: event.hasViewedAt, today: today)
    }

    // MARK: Products

    static func product(_ product: Crm_Products_V1_Product) -> [String] {
        var problems: [String] = []
        if product.productCode.isEmpty || product.productCode.count > 32 { problems.append("product_code") }
        if product.name.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("name") }
        if !(1...10).contains(product.type.rawValue) { problems.append("type") }
        if !(1...5).contains(product.riskLevel.rawValue) { problems.append("risk_level") }
        if !(1...5).contains(product.status.rawValue) { problems.append("status") }
        if !(0...4).contains(product.horizon.rawValue) { problems.append("horizon") }
        if !(0...8).contains(product.variety.rawValue) { problems.append("variety") }
        if product.minimumPurchase.minorUnits < 0 { problems.append("minimum_purchase") }
        if product.hasExpectedReturn {
            let range = product.expectedReturn
            if !(-10_000...100_000).contains(range.lowBp) || !(-10_000...100_000).contains(range.highBp) || range.lowBp > range.highBp {
                problems.append("expected_return")
            }
        }
        let fees = product.fees
        if [fees.subscriptionBp, fees.redemptionBp, fees.managementBp, fees.custodyBp, product.salesRebateBp].contains(where: { $0 > 10_000 }) {
            problems.append("rates")
        }
        if product.hasSalesWindow {
            let window = product.salesWindow
            if window.hasStart, !window.start.isValid { problems.append("sales_window.start") }
            if window.hasEnd, !window.end.isValid { problems.append("sales_window.end") }
            if window.hasStart, window.hasEnd, window.start.isoString > window.end.isoString { problems.append("sales_window") }
        }
        if product.tags.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) { problems.append("tags") }
        return problems
    }

    static func template(_ template: Crm_Products_V1_ContractTemplate) -> [String] {
        var problems: [String] = []
        if template.productCode.isEmpty || template.productCode.count > 32 { problems.append("product_code") }
        if template.title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { problems.append("title") }
        if template.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { problems.append("body") }
        let ids = template.disclosures.map(\.disclosureID)
        if ids.contains(where: { $0.isEmpty || $0.count > 32 }) || Set(ids).count != ids.count { problems.append("disclosure_id") }
        if template.disclosures.contains(where: { $0.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) { problems.append("disclosure text") }
        return problems
    }

    static func order(_ order: Crm_Products_V1_Order) -> [String] {
        var problems: [String] = []
        if order.orderID.isEmpty || order.orderID.count > 64 { problems.append("order_id") }
        if order.customerID.isEmpty { problems.append("customer_id") }
        if order.productCode.isEmpty || order.productCode.count > 32 { problems.append("product_code") }
        if order.side != .subscription, order.side != .redemption { problems.append("side") }
        if !order.hasAmount || order.amount.minorUnits <= 0 { problems.append("amount") }
        if !(1...4).contains(order.channel.rawValue) { problems.append("channel") }
        if order.channel == .clientManager, order.managerID.isEmpty { problems.append("manager_id") }
        return problems
    }

    /// SaleRules: ON_SALE, `day` within the window (both ends), amount ≥ the minimum purchase.
    static func sale(_ order: Crm_Products_V1_Order, of product: Crm_Products_V1_Product, on day: Crm_Common_V1_Date) -> [String] {
        var problems: [String] = []
        if product.status != .onSale { problems.append("not on sale") }
        if product.hasSalesWindow {
            if product.salesWindow.hasStart, day.isoString < product.salesWindow.start.isoString { problems.append("before the window") }
            if product.salesWindow.hasEnd, day.isoString > product.salesWindow.end.isoString { problems.append("after the window") }
        }
        if order.side == .subscription, order.amount.minorUnits < product.minimumPurchase.minorUnits { problems.append("below the minimum") }
        return problems
    }

    // MARK: Compensation

    static func manager(_ manager: Crm_Compensation_V1_ClientManager) -> [String] {
        var problems: [String] = []
        if manager.managerID.isEmpty || manager.managerID.count > 64 { problems.append("manager_id") }
        if manager.name.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("name") }
        if manager.branchID.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("branch_id") }
        if !(1...3).contains(manager.status.rawValue) { problems.append("status") }
        return problems
    }
}

/// Day numbers for the rules above (the world's own arithmetic is what is being tested elsewhere).
enum WorldDaysForTests {
    static func day(_ date: Crm_Common_V1_Date) -> Int32 {
        var components = DateComponents()
        components.year = Int(date.year)
        components.month = Int(date.month)
        components.day = Int(date.day)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        guard let instant = calendar.date(from: components) else { return .max }
        return Int32((instant.timeIntervalSince1970 / 86_400).rounded(.down))
    }
}
