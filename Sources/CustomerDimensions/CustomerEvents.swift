import CRMPrimitives

/// The events the profiles service ingests, as plain validated values: money in fen, days as
/// day numbers, instants in Unix milliseconds. The RPC layer converts the wire messages into these
/// (and refuses bad ones); the store persists them; the dimension engine folds them. No I/O here.

/// A calendar day as the number of days since 1970-01-01 (can be negative).
public typealias DayNumber = Int32

public enum Side: UInt8, Sendable, Hashable, Codable {
    case buy = 1
    case sell = 2
}

public enum AccountKind: UInt8, Sendable, Hashable, Codable {
    case cash = 1
    case margin = 2
}

/// Mirrors crm.profiles.v1.InstrumentType.
public enum Instrument: UInt8, Sendable, Hashable, Codable, CaseIterable {
    case stock = 1, bond, fund, etf, repo, warrant, other

    public var name: String {
        switch self {
        case .stock: return "stock"
        case .bond: return "bond"
        case .fund: return "fund"
        case .etf: return "etf"
        case .repo: return "repo"
        case .warrant: return "warrant"
        case .other: return "other"
        }
    }
}

public struct Trade: Sendable, Hashable, Codable {
    public var key: String
    public var customerID: String
    public var account: AccountKind
    public var side: Side
    public var instrument: String
    public var instrumentType: Instrument
    public var sector: String
    public var quantity: Int64
    public var price: String
    public var amountFen: Int64
    public var commissionFen: Int64
    public var feesFen: Int64
    public var tradedAtMillis: Int64

    public init(key: String, customerID: String, account: AccountKind, side: Side, instrument: String, instrumentType: Instrument,
                sector: String, quantity: Int64, price: String, amountFen: Int64, commissionFen: Int64, feesFen: Int64, tradedAtMillis: Int64) {
        self.key = key
        self.customerID = customerID
        self.account = account
        self.side = side
        self.instrument = instrument
        self.instrumentType = instrumentType
        self.sector = sector
        self.quantity = quantity
        self.price = price
        self.amountFen = amountFen
        self.commissionFen = commissionFen
        self.feesFen = feesFen
        self.tradedAtMillis = tradedAtMillis
    }
}

public struct FundTransfer: Sendable, Hashable, Codable {
    public var key: String
    public var customerID: String
    public var isDeposit: Bool
    public var amountFen: Int64
    public var atMillis: Int64

    public init(key: String, customerID: String, isDeposit: Bool, amountFen: Int64, atMillis: Int64) {
        self.key = key
        self.customerID = customerID
        self.isDeposit = isDeposit
        self.amountFen = amountFen
        self.atMillis = atMillis
    }
}

public struct Holding: Sendable, Hashable, Codable {
    public var instrument: String
    public var instrumentType: Instrument
    public var sector: String
    public var quantity: Int64
    public var marketValueFen: Int64
    public var costFen: Int64

    public init(instrument: String, instrumentType: Instrument, sector: String, quantity: Int64, marketValueFen: Int64, costFen: Int64) {
        self.instrument = instrument
        self.instrumentType = instrumentType
        self.sector = sector
        self.quantity = quantity
        self.marketValueFen = marketValueFen
        self.costFen = costFen
    }
}

public struct ProductPosition: Sendable, Hashable, Codable {
    public var productCode: String
    public var productType: String
    public var marketValueFen: Int64
    public var costFen: Int64

    public init(productCode: String, productType: String, marketValueFen: Int64, costFen: Int64) {
        self.productCode = productCode
        self.productType = productType
        self.marketValueFen = marketValueFen
        self.costFen = costFen
    }
}

/// End of day: cash, securities and financial products. Total assets = cash + holdings' market
/// value + products' market value.
public struct DailyPosition: Sendable, Hashable, Codable {
    public var key: String
    public var customerID: String
    public var day: DayNumber
    public var cashFen: Int64
    public var holdings: [Holding]
    public var products: [ProductPosition]

    public init(key: String, customerID: String, day: DayNumber, cashFen: Int64, holdings: [Holding], products: [ProductPosition]) {
        self.key = key
        self.customerID = customerID
        self.day = day
        self.cashFen = cashFen
        self.holdings = holdings
        self.products = products
    }

    public var securitiesFen: Int64 { holdings.reduce(0) { $0 + $1.marketValueFen } }
    public var productsFen: Int64 { products.reduce(0) { $0 + $1.marketValueFen } }
    public var totalAssetsFen: Int64 { cashFen + securitiesFen + productsFen }
}

/// End of day: the margin (credit) account.
public struct MarginSnapshot: Sendable, Hashable, Codable {
    public var key: String
    public var customerID: String
    public var day: DayNumber
    public var collateralFen: Int64
    public var financingFen: Int64
    public var securitiesBorrowedFen: Int64
    public var interestAccruedFen: Int64
    public var creditLimitFen: Int64

    public init(key: String, customerID: String, day: DayNumber, collateralFen: Int64, financingFen: Int64,
                securitiesBorrowedFen: Int64, interestAccruedFen: Int64, creditLimitFen: Int64) {
        self.key = key
        self.customerID = customerID
        self.day = day
        self.collateralFen = collateralFen
        self.financingFen = financingFen
        self.securitiesBorrowedFen = securitiesBorrowedFen
        self.interestAccruedFen = interestAccruedFen
        self.creditLimitFen = creditLimitFen
    }

    /// Everything owed on the account.
    public var liabilityFen: Int64 { financingFen + securitiesBorrowedFen + interestAccruedFen }

    /// Collateral over liabilities in basis points (the maintenance guarantee ratio), 0 when
    /// nothing is owed. Integer arithmetic, rounded down.
    public var maintenanceRatioBP: Int64 {
        liabilityFen > 0 ? collateralFen * 10_000 / liabilityFen : 0
    }
}

public struct MarginInterest: Sendable, Hashable, Codable {
    public var key: String
    public var customerID: String
    public var amountFen: Int64
    public var atMillis: Int64

    public init(key: String, customerID: String, amountFen: Int64, atMillis: Int64) {
        self.key = key
        self.customerID = customerID
        self.amountFen = amountFen
        self.atMillis = atMillis
    }
}

public enum ContactKind: UInt8, Sendable, Hashable, Codable {
    case call = 1, visit, message
}

public enum ContactResult: UInt8, Sendable, Hashable, Codable {
    case reached = 1, notReached, interested, declined, complaint
}

public struct ServiceContact: Sendable, Hashable, Codable {
    public var key: String
    public var customerID: String
    public var channel: ContactKind
    public var staffID: String
    public var topic: String
    public var outcome: ContactResult
    public var atMillis: Int64

    public init(key: String, customerID: String, channel: ContactKind, staffID: String, topic: String, outcome: ContactResult, atMillis: Int64) {
        self.key = key
        self.customerID = customerID
        self.channel = channel
        self.staffID = staffID
        self.topic = topic
        self.outcome = outcome
        self.atMillis = atMillis
    }
}

public struct ProductView: Sendable, Hashable, Codable {
    public var key: String
    public var customerID: String
    public var productCode: String
    public var productType: String
    public var atMillis: Int64

    public init(key: String, customerID: String, productCode: String, productType: String, atMillis: Int64) {
        self.key = key
        self.customerID = customerID
        self.productCode = productCode
        self.productType = productType
        self.atMillis = atMillis
    }
}

/// Any one ingested event, in the order the service applies them.
public enum CustomerEvent: Sendable, Hashable, Codable {
    case trade(Trade)
    case transfer(FundTransfer)
    case position(DailyPosition)
    case margin(MarginSnapshot)
    case interest(MarginInterest)
    case contact(ServiceContact)
    case view(ProductView)

    public var customerID: String {
        switch self {
        case let .trade(event): return event.customerID
        case let .transfer(event): return event.customerID
        case let .position(event): return event.customerID
        case let .margin(event): return event.customerID
        case let .interest(event): return event.customerID
        case let .contact(event): return event.customerID
        case let .view(event): return event.customerID
        }
    }

    /// The calendar day (UTC+8, the exchange's time zone) the event belongs to.
    public var day: DayNumber {
        switch self {
        case let .trade(event): return Days.day(ofMillis: event.tradedAtMillis)
        case let .transfer(event): return Days.day(ofMillis: event.atMillis)
        case let .position(event): return event.day
        case let .margin(event): return event.day
        case let .interest(event): return Days.day(ofMillis: event.atMillis)
        case let .contact(event): return Days.day(ofMillis: event.atMillis)
        case let .view(event): return Days.day(ofMillis: event.atMillis)
        }
    }
}

/// Day numbers in the firm's business time (Beijing, ``BusinessCalendar``), as the ledger and the
/// dimensions keep them: plain `Int32` days since 1970-01-01.
public enum Days {
    public static let millisPerDay = BusinessCalendar.millisPerDay

    public static func day(ofMillis millis: Int64) -> DayNumber {
        BusinessCalendar.day(ofUnixMillis: millis).daysSince1970
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    public static func day(year: Int32, month: Int32, day: Int32) -> DayNumber {
        DayNumber(CalendarDay.days(year: Int(year), month: Int(month), day: Int(day)))
    }

    /// The calendar date of a day number.
    public static func civil(_ dayNumber: DayNumber) -> (year: Int32, month: Int32, day: Int32) {
        let parts = CalendarDay(daysSince1970: dayNumber).components
        return (Int32(parts.year), Int32(parts.month), Int32(parts.day))
    }
}
