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

    public static func < (lhs: IncomeSource, rhs: IncomeSource) -> Bool { lhs.index < rhs.index }

    /// The position in ``allCases`` (statement order).
    var index: Int {
        switch self {
        case .cashCommission: return 0
        case .marginCommission: return 1
        case .marginInterest: return 2
        case .productRebate: return 3
        case .advisoryFee: return 4
        }
    }

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
    /// The first other cost, kept inline: most trades carry one (or none), and a month's millions of
    /// trades then need no allocation each. The rest are in `moreCosts`.
    private var firstCost: NamedCost?
    private var moreCosts: [NamedCost]

    public init(account: TradeAccount, commissionFen: Int64, exchangeFeesFen: Int64 = 0, regulatoryFeesFen: Int64 = 0, otherCosts: [NamedCost] = []) {
        self.account = account
        self.commissionFen = commissionFen
        self.exchangeFeesFen = exchangeFeesFen
        self.regulatoryFeesFen = regulatoryFeesFen
        self.firstCost = otherCosts.first
        self.moreCosts = Array(otherCosts.dropFirst())
    }

    /// A trade whose other costs are `first` then `more` (no intermediate array).
    init(account: TradeAccount, commissionFen: Int64, exchangeFeesFen: Int64, regulatoryFeesFen: Int64, firstCost: NamedCost?, moreCosts: [NamedCost]) {
        self.account = account
        self.commissionFen = commissionFen
        self.exchangeFeesFen = exchangeFeesFen
        self.regulatoryFeesFen = regulatoryFeesFen
        self.firstCost = firstCost ?? moreCosts.first
        self.moreCosts = firstCost == nil ? Array(moreCosts.dropFirst()) : moreCosts
    }

    /// Other costs; only those the scheme lists are deducted.
    public var otherCosts: [NamedCost] {
        get { firstCost.map { [$0] + moreCosts } ?? [] }
        set {
            firstCost = newValue.first
            moreCosts = Array(newValue.dropFirst())
        }
    }

    /// Whether every other cost has a name.
    var costsAreNamed: Bool {
        guard let firstCost else { return true }
        return !firstCost.name.isEmpty && moreCosts.allSatisfy { !$0.name.isEmpty }
    }

    /// The other costs whose names are in `listed`.
    public func listedCostsFen(_ listed: Set<String>) -> Int64 {
        guard let firstCost else { return 0 }
        var total = listed.contains(firstCost.name) ? firstCost.fen : 0
        for cost in moreCosts where listed.contains(cost.name) { total = Fen.sum(total, cost.fen) }
        return total
    }

    /// Net commission = commission − exchange fees − regulatory fees − the listed other costs. Exact
    /// (all terms are fen), so it needs no rounding.
    public func netCommissionFen(deducting listed: Set<String>) -> Int64 {
        let fees = Fen.sum(exchangeFeesFen, regulatoryFeesFen)
        let deductions = Fen.sum(fees, listedCostsFen(listed))
        return Fen.difference(commissionFen, deductions)
    }

    private enum CodingKeys: String, CodingKey {
        case account, commissionFen, exchangeFeesFen, regulatoryFeesFen, otherCosts
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            account: try container.decode(TradeAccount.self, forKey: .account),
            commissionFen: try container.decode(Int64.self, forKey: .commissionFen),
            exchangeFeesFen: try container.decode(Int64.self, forKey: .exchangeFeesFen),
            regulatoryFeesFen: try container.decode(Int64.self, forKey: .regulatoryFeesFen),
            otherCosts: try container.decode([NamedCost].self, forKey: .otherCosts)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(account, forKey: .account)
        try container.encode(commissionFen, forKey: .commissionFen)
        try container.encode(exchangeFeesFen, forKey: .exchangeFeesFen)
        try container.encode(regulatoryFeesFen, forKey: .regulatoryFeesFen)
        try container.encode(otherCosts, forKey: .otherCosts)
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
    /// The manager the source credits with the income (an order's manager), who then gets it instead
    /// of the manager in charge of the customer that day; nil for most items.
    public var creditedManagerID: String?

    public init(sourceEventID: String, customerID: String, day: CalendarDay, occurredAtMillis: Int64? = nil, kind: IncomeKind,
                isAdjustment: Bool = false, ingestSequence: Int64 = 0, creditedManagerID: String? = nil) {
        self.sourceEventID = sourceEventID
        self.customerID = customerID
        self.day = day
        self.occurredAtMillis = occurredAtMillis
        self.kind = kind
        self.isAdjustment = isAdjustment
        self.ingestSequence = ingestSequence
        self.creditedManagerID = creditedManagerID
    }

    public var source: IncomeSource { kind.source }

    /// Statement order: by day, then in the order the service recorded the items (ingest sequence),
    /// then by source event id compared byte by byte (UTF-8): total, locale-free, and the order the
    /// store already reads a month in, so millions of items need no sorting.
    public static func statementOrder(_ a: IncomeItem, _ b: IncomeItem) -> Bool {
        if a.day != b.day { return a.day < b.day }
        if a.ingestSequence != b.ingestSequence { return a.ingestSequence < b.ingestSequence }
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

    /// Whether ``violations(prefix:)`` is empty, without building any text (the per-item check on
    /// millions of items).
    public var isValid: Bool {
        guard !sourceEventID.isEmpty, !customerID.isEmpty else { return false }
        switch kind {
        case .trade(let trade): return trade.costsAreNamed
        case .productSale(let sale): return !sale.productCode.isEmpty && sale.rebateRate.isAllowed
        case .marginInterest, .advisoryFee: return true
        }
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
