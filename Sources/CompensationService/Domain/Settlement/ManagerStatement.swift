/// The figures behind one income line, per kind of item, so a reader can redo the arithmetic.
public enum IncomeBasis: Sendable, Hashable, Codable {
    /// Net commission = commission − exchange fees − regulatory fees − listed costs.
    case trade(account: TradeAccount, commissionFen: Int64, exchangeFeesFen: Int64, regulatoryFeesFen: Int64, listedCostsFen: Int64)
    case marginInterest
    /// Rebate income = sale amount × the product's rebate rate.
    case productSale(productCode: String, saleAmountFen: Int64, rebateRate: BasisPoints)
    case advisoryFee(packageID: String)
}

/// One income item on a statement: the income it brought and, for non-commission sources, the pay
/// it earned at the scheme's rate. Commission items show their net commission; their pay is in the
/// statement's commission bands.
public struct IncomeLine: Sendable, Hashable, Codable {
    public var sourceEventID: String
    public var customerID: String
    public var day: CalendarDay
    public var source: IncomeSource
    /// The month the item belongs to (earlier than the statement's month for a late item).
    public var originalMonth: CalendarMonth
    /// The item arrived after `originalMonth` closed and is carried into this statement.
    public var isCarriedForward: Bool
    /// An adjustment: carried forward, or flagged as a correction by its source.
    public var isAdjustment: Bool
    public var ruleVersion: RuleVersion
    public var basis: IncomeBasis
    /// The income: net commission, interest, rebate income (rounded once) or advisory fee.
    public var incomeFen: Int64
    /// The scheme's rate for the source; nil for commission (paid through the bands).
    public var rate: BasisPoints?
    /// The pay this line earns, rounded once; nil for commission (paid through the bands).
    public var payFen: Int64?
    /// A sale that named another manager than the statement's (one who had left by the sale's day,
    /// so the customer's manager in charge is credited): that manager, for the statement to say why.
    public var namedManagerID: String?

    public init(sourceEventID: String, customerID: String, day: CalendarDay, source: IncomeSource, originalMonth: CalendarMonth,
                isCarriedForward: Bool, isAdjustment: Bool, ruleVersion: RuleVersion, basis: IncomeBasis, incomeFen: Int64,
                rate: BasisPoints?, payFen: Int64?, namedManagerID: String? = nil) {
        self.namedManagerID = namedManagerID
        self.sourceEventID = sourceEventID
        self.customerID = customerID
        self.day = day
        self.source = source
        self.originalMonth = originalMonth
        self.isCarriedForward = isCarriedForward
        self.isAdjustment = isAdjustment
        self.ruleVersion = ruleVersion
        self.basis = basis
        self.incomeFen = incomeFen
        self.rate = rate
        self.payFen = payFen
    }
}

/// One band of the tiered commission: the part of the month's net commission inside the band and
/// its pay at the band's rate, rounded once.
public struct CommissionBandLine: Sendable, Hashable, Codable {
    public var tierIndex: Int
    public var lowerFen: Int64
    public var upperFen: Int64?
    public var rate: BasisPoints
    /// The part of the month's net commission inside the band.
    public var portionFen: Int64
    public var payFen: Int64
    public var ruleVersion: RuleVersion

    public init(tierIndex: Int, lowerFen: Int64, upperFen: Int64?, rate: BasisPoints, portionFen: Int64, payFen: Int64, ruleVersion: RuleVersion) {
        self.tierIndex = tierIndex
        self.lowerFen = lowerFen
        self.upperFen = upperFen
        self.rate = rate
        self.portionFen = portionFen
        self.payFen = payFen
        self.ruleVersion = ruleVersion
    }
}

/// Which coefficient a coefficient line applies.
public enum CoefficientKind: String, Sendable, Hashable, Codable, CaseIterable {
    case assessment
    case compliance
}

/// A coefficient applied to the running total, shown as its own line: `amount = base × (c − 1)`,
/// rounded once, so `base + amount` is the base scaled by the coefficient.
public struct CoefficientLine: Sendable, Hashable, Codable {
    public var kind: CoefficientKind
    public var coefficient: Coefficient
    /// The running total the coefficient applies to.
    public var baseFen: Int64
    /// The change it makes (negative below 1).
    public var amountFen: Int64

    public init(kind: CoefficientKind, coefficient: Coefficient, baseFen: Int64, amountFen: Int64) {
        self.kind = kind
        self.coefficient = coefficient
        self.baseFen = baseFen
        self.amountFen = amountFen
    }
}

/// Per-source sums of the lines (never rounded again).
public struct SourceTotal: Sendable, Hashable, Codable {
    public var source: IncomeSource
    public var itemCount: Int
    public var incomeFen: Int64
    /// The sum of the lines' pay; nil for commission sources (see the bands) and unassigned income.
    public var payFen: Int64?

    public init(source: IncomeSource, itemCount: Int, incomeFen: Int64, payFen: Int64?) {
        self.source = source
        self.itemCount = itemCount
        self.incomeFen = incomeFen
        self.payFen = payFen
    }
}

/// One manager's settled month. Every figure is a rounded line or a sum of them:
///
///     subtotal = Σ income lines' pay + Σ commission bands' pay
///     total    = subtotal + assessment line + compliance line
public struct ManagerStatement: Sendable, Hashable, Codable {
    public var managerID: String
    public var grade: String
    public var month: CalendarMonth
    /// The scheme version that produced every line.
    public var ruleVersion: RuleVersion
    /// The statement covers items recorded up to this ingest sequence; closing records it.
    public var throughSequence: Int64
    /// One line per income item, in statement order: by day, then as recorded (ingest sequence).
    public var incomeLines: [IncomeLine]
    /// Per-source totals for the sources with lines, in ``IncomeSource`` order.
    public var sourceTotals: [SourceTotal]
    /// The month's net commission (cash and margin, including carried items): the tier base.
    public var netCommissionFen: Int64
    /// The tiers the net commission reaches, band by band.
    public var commissionBands: [CommissionBandLine]
    public var commissionPayFen: Int64
    public var subtotalFen: Int64
    /// Assessment then compliance.
    public var coefficientLines: [CoefficientLine]
    public var totalFen: Int64

    public init(managerID: String, grade: String, month: CalendarMonth, ruleVersion: RuleVersion, throughSequence: Int64,
                incomeLines: [IncomeLine], sourceTotals: [SourceTotal], netCommissionFen: Int64, commissionBands: [CommissionBandLine],
                commissionPayFen: Int64, subtotalFen: Int64, coefficientLines: [CoefficientLine], totalFen: Int64) {
        self.managerID = managerID
        self.grade = grade
        self.month = month
        self.ruleVersion = ruleVersion
        self.throughSequence = throughSequence
        self.incomeLines = incomeLines
        self.sourceTotals = sourceTotals
        self.netCommissionFen = netCommissionFen
        self.commissionBands = commissionBands
        self.commissionPayFen = commissionPayFen
        self.subtotalFen = subtotalFen
        self.coefficientLines = coefficientLines
        self.totalFen = totalFen
    }

    /// The source event ids settled by this statement, in line order (the store marks them).
    public var sourceEventIDs: [String] { incomeLines.map(\.sourceEventID) }

    /// The adjustment lines: carried forward from closed months, or corrections flagged by their source.
    public var adjustments: [IncomeLine] { incomeLines.filter(\.isAdjustment) }
}
