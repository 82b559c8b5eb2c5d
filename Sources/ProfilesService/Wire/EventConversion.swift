import CRMProtos
import CRMRPC
import CustomerDimensions
import Foundation

/// Turns batches of wire events into validated domain events, naming the first problem of every
/// bad event as `events[i].field`. A batch with any violation is refused whole.
enum EventConversion {
    static let maxBatch = 10_000
    static let maxKeyLength = 128

    /// Collects violations while converting; converts nothing when one is found.
    struct Checker {
        var violations: [FieldViolation] = []
        let index: Int
        /// The latest instant accepted, read once per batch.
        let latestMillis: Int64

        mutating func fail(_ field: String, _ description: String) {
            violations.append(FieldViolation(field: "events[\(index)].\(field)", description: description))
        }

        mutating func key(_ key: String) {
            if key.isEmpty { fail("idempotency_key", "is required") }
            else if key.count > EventConversion.maxKeyLength { fail("idempotency_key", "is longer than \(EventConversion.maxKeyLength) characters") }
        }

        mutating func customer(_ id: String) {
            if id.isEmpty { fail("customer_id", "is required") }
            else if id.count > CustomerValidation.maxIDLength { fail("customer_id", "is longer than \(CustomerValidation.maxIDLength) characters") }
        }

        mutating func positive(_ field: String, _ money: Crm_Common_V1_Money, present: Bool) -> Int64 {
            guard present else { fail(field, "is required"); return 0 }
            currency(field, money)
            if money.minorUnits <= 0 { fail(field, "must be greater than zero") }
            return money.minorUnits
        }

        mutating func nonNegative(_ field: String, _ money: Crm_Common_V1_Money, present: Bool) -> Int64 {
            guard present else { return 0 }
            currency(field, money)
            if money.minorUnits < 0 { fail(field, "must not be negative") }
            return money.minorUnits
        }

        mutating func currency(_ field: String, _ money: Crm_Common_V1_Money) {
            if !money.currency.isEmpty, money.currency != "CNY" { fail("\(field).currency", "must be CNY (or empty)") }
        }

        mutating func instant(_ field: String, _ timestamp: Crm_Common_V1_Timestamp, present: Bool) -> Int64 {
            // 2000-01-01 .. 2100-01-01: anything else is a unit mistake (seconds for millis).
            guard present else { fail(field, "is required"); return 0 }
            if timestamp.unixMillis < 946_684_800_000 || timestamp.unixMillis > 4_102_444_800_000 {
                fail(field, "must be Unix milliseconds between 2000 and 2100")
            } else if timestamp.unixMillis > latestMillis {
                // A far-future event would move the business date and age every window at once.
                fail(field, "is more than a day in the future")
            }
            return timestamp.unixMillis
        }

        mutating func day(_ field: String, _ date: Crm_Common_V1_Date, present: Bool) -> DayNumber {
            guard present else { fail(field, "is required"); return 0 }
            guard date.isValid else { fail(field, "is not a calendar date"); return 0 }
            let day = Days.day(year: date.year, month: date.month, day: date.day)
            if day > Days.day(ofMillis: latestMillis) { fail(field, "is more than a day in the future") }
            return day
        }

        mutating func instrumentType(_ field: String, _ type: Crm_Profiles_V1_InstrumentType) -> Instrument {
            guard let value = Instrument(rawValue: UInt8(clamping: type.rawValue)), type.rawValue > 0 else {
                fail(field, "must be one of STOCK, BOND, FUND, ETF, REPO, WARRANT, OTHER")
                return .other
            }
            return value
        }
    }

    /// Events may be stamped up to a day ahead of this machine's clock (time zones, clock skew).
    static func latestAcceptedMillis() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000) + Days.millisPerDay
    }

    static func checkSize(_ count: Int) throws {
        guard count > 0 else { throw RPCError.invalidArgument(field: "events", "must hold at least one event") }
        guard count <= maxBatch else { throw RPCError.invalidArgument(field: "events", "holds \(count) events; at most \(maxBatch) per call") }
    }

    /// Converts every event or throws INVALID_ARGUMENT listing the violations (at most 50).
    static func convert<Wire, Domain>(_ events: [Wire], _ one: (Wire, inout Checker) -> Domain) throws -> [Domain] {
        try checkSize(events.count)
        var converted: [Domain] = []
        converted.reserveCapacity(events.count)
        var violations: [FieldViolation] = []
        let latestMillis = latestAcceptedMillis()
        for (index, event) in events.enumerated() {
            var checker = Checker(index: index, latestMillis: latestMillis)
            let domain = one(event, &checker)
            if checker.violations.isEmpty {
                converted.append(domain)
            } else {
                violations += checker.violations
                if violations.count >= 50 { break }
            }
        }
        guard violations.isEmpty else { throw RPCError.invalidArguments(violations) }
        return converted
    }

    static func trades(_ request: Crm_Profiles_V1_IngestTradesRequest) throws -> [Trade] {
        try convert(request.events) { event, check in
            check.key(event.idempotencyKey)
            check.customer(event.customerID)
            let account: AccountKind
            switch event.account {
            case .cash: account = .cash
            case .margin: account = .margin
            default:
                check.fail("account", "must be CASH or MARGIN")
                account = .cash
            }
            let side: Side
            switch event.side {
            case .buy: side = .buy
            case .sell: side = .sell
            default:
                check.fail("side", "must be BUY or SELL")
                side = .buy
            }
            if event.instrument.isEmpty { check.fail("instrument", "is required") }
            let type = check.instrumentType("instrument_type", event.instrumentType)
            if event.quantity <= 0 { check.fail("quantity", "must be greater than zero") }
            if !event.price.isEmpty, !isDecimal(event.price) { check.fail("price", "must be a decimal number such as 12.345") }
            let amount = check.positive("amount", event.amount, present: event.hasAmount)
            let commission = check.nonNegative("commission", event.commission, present: event.hasCommission)
            let fees = check.nonNegative("fees", event.fees, present: event.hasFees)
            let at = check.instant("traded_at", event.tradedAt, present: event.hasTradedAt)
            return Trade(
                key: event.idempotencyKey, customerID: event.customerID, account: account, side: side,
                instrument: event.instrument, instrumentType: type, sector: event.sector, quantity: event.quantity,
                price: event.price, amountFen: amount, commissionFen: commission, feesFen: fees, tradedAtMillis: at
            )
        }
    }

    static func transfers(_ request: Crm_Profiles_V1_IngestFundTransfersRequest) throws -> [FundTransfer] {
        try convert(request.events) { event, check in
            check.key(event.idempotencyKey)
            check.customer(event.customerID)
            if event.direction != .deposit, event.direction != .withdrawal { check.fail("direction", "must be DEPOSIT or WITHDRAWAL") }
            let amount = check.positive("amount", event.amount, present: event.hasAmount)
            let at = check.instant("transferred_at", event.transferredAt, present: event.hasTransferredAt)
            return FundTransfer(key: event.idempotencyKey, customerID: event.customerID, isDeposit: event.direction == .deposit, amountFen: amount, atMillis: at)
        }
    }

    static func positions(_ request: Crm_Profiles_V1_IngestDailyPositionsRequest) throws -> [DailyPosition] {
        try convert(request.events) { event, check in
            check.key(event.idempotencyKey)
            check.customer(event.customerID)
            let day = check.day("trading_day", event.tradingDay, present: event.hasTradingDay)
            let cash = check.nonNegative("cash", event.cash, present: event.hasCash)
            var holdings: [Holding] = []
            for (index, holding) in event.holdings.enumerated() {
                if holding.instrument.isEmpty { check.fail("holdings[\(index)].instrument", "is required") }
                let type = check.instrumentType("holdings[\(index)].instrument_type", holding.instrumentType)
                if holding.quantity < 0 { check.fail("holdings[\(index)].quantity", "must not be negative") }
                let value = check.nonNegative("holdings[\(index)].market_value", holding.marketValue, present: holding.hasMarketValue)
                let cost = check.nonNegative("holdings[\(index)].cost", holding.cost, present: holding.hasCost)
                holdings.append(Holding(instrument: holding.instrument, instrumentType: type, sector: holding.sector, quantity: holding.quantity, marketValueFen: value, costFen: cost))
            }
            var products: [ProductPosition] = []
            for (index, product) in event.products.enumerated() {
                if product.productCode.isEmpty { check.fail("products[\(index)].product_code", "is required") }
                let value = check.nonNegative("products[\(index)].market_value", product.marketValue, present: product.hasMarketValue)
                let cost = check.nonNegative("products[\(index)].cost", product.cost, present: product.hasCost)
                products.append(ProductPosition(productCode: product.productCode, productType: product.productType, marketValueFen: value, costFen: cost))
            }
            return DailyPosition(key: event.idempotencyKey, customerID: event.customerID, day: day, cashFen: cash, holdings: holdings, products: products)
        }
    }

    static func marginAccounts(_ request: Crm_Profiles_V1_IngestMarginAccountsRequest) throws -> [MarginSnapshot] {
        try convert(request.events) { event, check in
            check.key(event.idempotencyKey)
            check.customer(event.customerID)
            let day = check.day("trading_day", event.tradingDay, present: event.hasTradingDay)
            return MarginSnapshot(
                key: event.idempotencyKey, customerID: event.customerID, day: day,
                collateralFen: check.nonNegative("collateral_value", event.collateralValue, present: event.hasCollateralValue),
                financingFen: check.nonNegative("financing_liability", event.financingLiability, present: event.hasFinancingLiability),
                securitiesBorrowedFen: check.nonNegative("securities_borrowed_value", event.securitiesBorrowedValue, present: event.hasSecuritiesBorrowedValue),
                interestAccruedFen: check.nonNegative("interest_accrued", event.interestAccrued, present: event.hasInterestAccrued),
                creditLimitFen: check.nonNegative("credit_limit", event.creditLimit, present: event.hasCreditLimit)
            )
        }
    }

    static func marginInterest(_ request: Crm_Profiles_V1_IngestMarginInterestRequest) throws -> [MarginInterest] {
        try convert(request.events) { event, check in
            check.key(event.idempotencyKey)
            check.customer(event.customerID)
            let amount = check.positive("amount", event.amount, present: event.hasAmount)
            let at = check.instant("charged_at", event.chargedAt, present: event.hasChargedAt)
            return MarginInterest(key: event.idempotencyKey, customerID: event.customerID, amountFen: amount, atMillis: at)
        }
    }

    static func contacts(_ request: Crm_Profiles_V1_IngestServiceContactsRequest) throws -> [ServiceContact] {
        try convert(request.events) { event, check in
            check.key(event.idempotencyKey)
            check.customer(event.customerID)
            let channel: ContactKind
            switch event.channel {
            case .call: channel = .call
            case .visit: channel = .visit
            case .message: channel = .message
            default:
                check.fail("channel", "must be CALL, VISIT or MESSAGE")
                channel = .call
            }
            let outcome = ContactResult(rawValue: UInt8(clamping: event.outcome.rawValue))
            if outcome == nil || event.outcome.rawValue == 0 { check.fail("outcome", "must be REACHED, NOT_REACHED, INTERESTED, DECLINED or COMPLAINT") }
            let at = check.instant("contacted_at", event.contactedAt, present: event.hasContactedAt)
            return ServiceContact(key: event.idempotencyKey, customerID: event.customerID, channel: channel, staffID: event.staffID,
                                  topic: event.topic, outcome: outcome ?? .reached, atMillis: at)
        }
    }

    static func views(_ request: Crm_Profiles_V1_IngestProductViewsRequest) throws -> [ProductView] {
        try convert(request.events) { event, check in
            check.key(event.idempotencyKey)
            check.customer(event.customerID)
            if event.productCode.isEmpty { check.fail("product_code", "is required") }
            let at = check.instant("viewed_at", event.viewedAt, present: event.hasViewedAt)
            return ProductView(key: event.idempotencyKey, customerID: event.customerID, productCode: event.productCode, productType: event.productType, atMillis: at)
        }
    }

    /// `12`, `12.345`, `0.5`: digits with at most one point, no sign, no exponent.
    static func isDecimal(_ text: String) -> Bool {
        var seenPoint = false
        var digits = 0
        for character in text.utf8 {
            if character == UInt8(ascii: ".") {
                if seenPoint { return false }
                seenPoint = true
            } else if character >= UInt8(ascii: "0"), character <= UInt8(ascii: "9") {
                digits += 1
            } else {
                return false
            }
        }
        return digits > 0 && text.utf8.last != UInt8(ascii: ".") && text.utf8.first != UInt8(ascii: ".")
    }
}
