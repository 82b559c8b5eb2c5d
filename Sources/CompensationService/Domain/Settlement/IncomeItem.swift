/// The income sources compensation pays on, in the order statements list them.
public enum IncomeSource: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    /// Net commission on cash-account trades.
    case cashCommission = "cash_commission"
    /// Net commission on margin-account trades.
    case marginCommission = "margin_commission"
    /// Margin financing interest charged to the customer.
    case marginInterest = "margin_interest"
    /// The firm's rebate on a product sale (sale amount × the product's rebate rate).
    case productRebate = "product_rebate"
    /// An advisory package fee.
    case advisoryFee = "advisory_fee"

    /// Whether this source is net commission, paid through the scheme's marginal tiers.
    public var isCommission: Bool { self == .cashCommission || self == .marginCommission }

    public static func < (lhs: IncomeSource, rhs: IncomeSource) -> Bool { lhs.order < rhs.order }

    private var order: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public var description: String { rawValue }
}

/// The account a trade went through.
public enum TradeAccount: String, Sendable, Hashable, Codable {
    case cash
    case margin
}

/// A named cost on a trade besides exchange and regulatory fees (e.g. "transfer", "channel"). The
/// scheme lists which of them net commission deducts.
public struct NamedCost: Sendable, Hashable, Codable {
    public var name: String
    public var fen: Int64

    public init(name: String, fen: Int64) {
        self.name = name
        self.fen = fen
    }
}

/// The commission side of one trade.
public struct TradeCommission: Sendable, Hashable, Codable {
    public var account: TradeAccount
    /// Gross commission charged to the customer.
    public var commissionFen: Int64
    public var exchangeFeesFen: Int64
    public var regulatoryFeesFen: Int64
    /// Other costs; only those the scheme lists are deducted.
    public var otherCosts: [NamedCost]

    public init(account: TradeAccount, commissionFen: Int64, exchangeFeesFen: Int64 = 0, regulatoryFeesFen: Int64 = 0, otherCosts: [NamedCost] = []) {
        self.account = account
        self.commissionFen = commissionFen
        self.exchangeFeesFen = exchangeFeesFen
        self.regulatoryFeesFen = regulatoryFeesFen
        self.otherCosts = otherCosts
    }

    /// The other costs whose names are in `listed`.
    public func listedCostsFen(_ listed: Set<String>) -> Int64 {
        FenArithmetic.total(otherCosts.lazy.filter { listed.contains($0.name) }.map(\.fen))
    }

    /// Net commission = commission − exchange fees − regulatory fees − the listed other costs. Exact
    /// (all terms are fen), so it needs no rounding.
    public func netCommissionFen(deducting listed: Set<String>) -> Int64 {
        let fees = FenArithmetic.sum(exchangeFeesFen, regulatoryFeesFen)
        let deductions = FenArithmetic.sum(fees, listedCostsFen(listed))
        return FenArithmetic.difference(commissionFen, deductions)
    }
}

/// A financial product sold to a customer; the firm earns `amount × rebateRate`.
public struct ProductSale: Sendable, Hashable, Codable {
    public var productCode: String
    /// The sale amount (negative for a refund or cancellation).
    public var amountFen: Int64
    /// The product's rebate rate, 0–10 000 bp.
    public var rebateRate: BasisPoints

    public init(productCode: String, amountFen: Int64, rebateRate: BasisPoints) {
        self.productCode = productCode
        self.amountFen = amountFen
        self.rebateRate = rebateRate
    }

    /// The firm's rebate income, one line item rounded once (half-up).
    public var rebateFen: Int64 { FenArithmetic.apply(rebateRate, to: amountFen) }
}

/// An advisory package fee charged to a customer.
public struct AdvisoryFee: Sendable, Hashable, Codable {
    public var packageID: String
    public var feeFen: Int64

    public init(packageID: String, feeFen: Int64) {
        self.packageID = packageID
        self.feeFen = feeFen
    }
}

/// What an income item is.
public enum IncomeKind: Sendable, Hashable, Codable {
    case trade(TradeCommission)
    case marginInterest(interestFen: Int64)
    case productSale(ProductSale)
    case advisoryFee(AdvisoryFee)

    public var source: IncomeSource {
        switch self {
        case .trade(let trade): return trade.account == .cash ? .cashCommission : .marginCommission
        case .marginInterest: return .marginInterest
        case .productSale: return .productRebate
        case .advisoryFee: return .advisoryFee
        }
    }
}

/// One income event as the service builds it from the profiles and products change feeds: the
/// unit of attribution (to the manager in charge on its day) and of traceability (every statement
/// line names its `sourceEventID`).
public struct IncomeItem: Sendable, Hashable, Codable {
    /// The feed event's id; each is counted once.
    public var sourceEventID: String
    public var customerID: String
    /// The business day the income belongs to; decides the manager and the month.
    public var day: CalendarDay
    /// The event's instant in Unix milliseconds, kept for display; `day` decides everything.
    public var occurredAtMillis: Int64?
    public var kind: IncomeKind
    /// Set by the source when the event corrects an earlier one (a cancelled trade, a refunded sale).
    /// Items that arrive after their month closed are flagged on their statement line regardless.
    public var isAdjustment: Bool
    /// Where the compensation service recorded the item (its own store's insertion order, increasing
    /// across both feeds). A month is closed "through" a sequence; an item recorded later is late.
    public var ingestSequence: Int64

    public init(sourceEventID: String, customerID: String, day: CalendarDay, occurredAtMillis: Int64? = nil, kind: IncomeKind,
                isAdjustment: Bool = false, ingestSequence: Int64 = 0) {
        self.sourceEventID = sourceEventID
        self.customerID = customerID
        self.day = day
        self.occurredAtMillis = occurredAtMillis
        self.kind = kind
        self.isAdjustment = isAdjustment
        self.ingestSequence = ingestSequence
    }

    public var source: IncomeSource { kind.source }

    /// Statement order: by day, then by source event id compared byte by byte (UTF-8), which is
    /// total, locale-free and much cheaper than `String`'s Unicode ordering on millions of items.
    public static func statementOrder(_ a: IncomeItem, _ b: IncomeItem) -> Bool {
        if a.day != b.day { return a.day < b.day }
        return a.sourceEventID.utf8.lexicographicallyPrecedes(b.sourceEventID.utf8)
    }

    /// Puts `items` in statement order; already ordered input (as attribution returns it) is left as is.
    static func putInStatementOrder(_ items: inout [IncomeItem]) {
        let ordered = zip(items, items.dropFirst()).allSatisfy { !statementOrder($1, $0) }
        guard !ordered else { return }
        // Sorting positions instead of the items moves 8-byte integers rather than whole items.
        let source = items
        let order = source.indices.sorted { statementOrder(source[$0], source[$1]) }
        items = order.map { source[$0] }
    }

    /// Every violated field of this item, named under `prefix`.
    public func violations(prefix: String = "item") -> [SettlementViolation] {
        var violations: [SettlementViolation] = []
        if sourceEventID.isEmpty {
            violations.append(SettlementViolation(field: "\(prefix).source_event_id", description: "is required"))
        }
        if customerID.isEmpty {
            violations.append(SettlementViolation(field: "\(prefix).customer_id", description: "is required"))
        }
        switch kind {
        case .trade(let trade):
            for (index, cost) in trade.otherCosts.enumerated() where cost.name.isEmpty {
                violations.append(SettlementViolation(field: "\(prefix).other_costs[\(index)].name", description: "is required"))
            }
        case .productSale(let sale):
            if sale.productCode.isEmpty {
                violations.append(SettlementViolation(field: "\(prefix).product_code", description: "is required"))
            }
            if !sale.rebateRate.isAllowed {
                violations.append(SettlementViolation(field: "\(prefix).rebate_rate", description: "\(sale.rebateRate) is outside 0–10000 bp"))
            }
        case .marginInterest, .advisoryFee:
            break
        }
        return violations
    }
}
