/// One client manager's settled month as plain figures (what compensation's GetStatement says,
/// with the manager's name and customers), so the walkthrough's text is a pure function tested
/// without services. Money is fen throughout; nothing is recomputed, only added up to check.
public struct StatementFigures: Sendable, Equatable, Codable {
    /// One income source's lines, summed.
    public struct Source: Sendable, Equatable, Codable {
        /// e.g. "cash commission (net)".
        public var name: String
        public var items: Int
        public var incomeFen: Int64
        /// The scheme's rate in basis points; nil for commission, which is paid through the bands.
        public var rateBp: Int?
        /// The lines' pay; nil for commission (see ``StatementFigures/bands``).
        public var payFen: Int64?

        public init(name: String, items: Int, incomeFen: Int64, rateBp: Int?, payFen: Int64?) {
            self.name = name
            self.items = items
            self.incomeFen = incomeFen
            self.rateBp = rateBp
            self.payFen = payFen
        }
    }

    /// One marginal band of the commission schedule reached this month.
    public struct Band: Sendable, Equatable, Codable {
        public var lowerFen: Int64
        /// Nil for the open top band.
        public var upperFen: Int64?
        public var rateBp: Int
        public var portionFen: Int64
        public var payFen: Int64

        public init(lowerFen: Int64, upperFen: Int64?, rateBp: Int, portionFen: Int64, payFen: Int64) {
            self.lowerFen = lowerFen
            self.upperFen = upperFen
            self.rateBp = rateBp
            self.portionFen = portionFen
            self.payFen = payFen
        }
    }

    /// A coefficient applied to the running total: `amount = base × (coefficient − 1)`.
    public struct CoefficientLine: Sendable, Equatable, Codable {
        /// "assessment" or "compliance".
        public var kind: String
        /// As the service keeps it, e.g. "1.05".
        public var coefficient: String
        public var baseFen: Int64
        public var amountFen: Int64

        public init(kind: String, coefficient: String, baseFen: Int64, amountFen: Int64) {
            self.kind = kind
            self.coefficient = coefficient
            self.baseFen = baseFen
            self.amountFen = amountFen
        }
    }

    public var managerID: String
    public var name: String
    public var grade: String
    /// e.g. "B001 上海世纪大道证券营业部".
    public var branch: String
    public var team: String
    /// "2026-10".
    public var month: String
    /// "M3 v1": the scheme version of every line.
    public var ruleVersion: String
    public var lineCount: Int
    public var adjustmentCount: Int
    /// Customers in the manager's charge on the month's last day; nil when unknown.
    public var customersAtMonthEnd: Int?
    /// Distinct customers with an income line this month.
    public var customersWithIncome: Int
    public var sources: [Source]
    /// The month's net commission (cash and margin): what the bands divide.
    public var netCommissionFen: Int64
    public var bands: [Band]
    public var commissionPayFen: Int64
    /// Gross pay before the coefficients: the lines' pay plus the bands' pay.
    public var subtotalFen: Int64
    public var coefficients: [CoefficientLine]
    public var totalFen: Int64

    public init(managerID: String, name: String, grade: String, branch: String, team: String, month: String, ruleVersion: String,
                lineCount: Int, adjustmentCount: Int, customersAtMonthEnd: Int?, customersWithIncome: Int, sources: [Source],
                netCommissionFen: Int64, bands: [Band], commissionPayFen: Int64, subtotalFen: Int64, coefficients: [CoefficientLine], totalFen: Int64) {
        self.managerID = managerID
        self.name = name
        self.grade = grade
        self.branch = branch
        self.team = team
        self.month = month
        self.ruleVersion = ruleVersion
        self.lineCount = lineCount
        self.adjustmentCount = adjustmentCount
        self.customersAtMonthEnd = customersAtMonthEnd
        self.customersWithIncome = customersWithIncome
        self.sources = sources
        self.netCommissionFen = netCommissionFen
        self.bands = bands
        self.commissionPayFen = commissionPayFen
        self.subtotalFen = subtotalFen
        self.coefficients = coefficients
        self.totalFen = totalFen
    }

    /// Where the statement does not add up (empty when it does): the bands' pay against the
    /// commission pay, the bands' portions against the net commission, the lines' and bands' pay
    /// against the subtotal, each coefficient line's base against the running total, and the
    /// total against the subtotal plus the coefficient lines. The service guarantees these; the
    /// walkthrough checks them in front of the reader rather than asking to be trusted.
    public var discrepancies: [String] {
        var problems: [String] = []
        let bandPay = bands.reduce(Int64(0)) { $0 + $1.payFen }
        if bandPay != commissionPayFen {
            problems.append("the bands' pay \(Format.yuan(fen: bandPay)) is not the commission pay \(Format.yuan(fen: commissionPayFen))")
        }
        let portions = bands.reduce(Int64(0)) { $0 + $1.portionFen }
        if !bands.isEmpty, portions != netCommissionFen {
            problems.append("the bands' portions \(Format.yuan(fen: portions)) are not the net commission \(Format.yuan(fen: netCommissionFen))")
        }
        let linePay = sources.reduce(Int64(0)) { $0 + ($1.payFen ?? 0) }
        if linePay + commissionPayFen != subtotalFen {
            problems.append("lines \(Format.yuan(fen: linePay)) + bands \(Format.yuan(fen: commissionPayFen)) is not the subtotal \(Format.yuan(fen: subtotalFen))")
        }
        var running = subtotalFen
        for line in coefficients {
            if line.baseFen != running {
                problems.append("the \(line.kind) coefficient applies to \(Format.yuan(fen: line.baseFen)), not the running total \(Format.yuan(fen: running))")
            }
            running += line.amountFen
        }
        if running != totalFen {
            problems.append("subtotal and coefficient lines come to \(Format.yuan(fen: running)), not the total \(Format.yuan(fen: totalFen))")
        }
        let items = sources.reduce(0) { $0 + $1.items }
        if items != lineCount {
            problems.append("the sources hold \(items) lines, the statement \(lineCount)")
        }
        return problems
    }
}

/// The walkthrough's text of a manager's monthly statement: who and which month, the income by
/// source, the commission bands, then gross pay, the coefficient lines and the total, every
/// amount in yuan to the fen, aligned like the walkthrough's other tables.
public enum StatementText {
    public static func render(_ statement: StatementFigures) -> String {
        var out: [String] = []
        var header = KeyValueList()
        header.append("客户经理 Manager", "\(statement.managerID) \(statement.name) · grade \(statement.grade) · scheme \(statement.ruleVersion)")
        header.append("归属 Branch", statement.team.isEmpty ? statement.branch : "\(statement.branch) · team \(statement.team)")
        var customers = "\(Format.count(statement.customersWithIncome)) with income this month"
        if let atEnd = statement.customersAtMonthEnd { customers = "\(Format.count(atEnd)) in charge at month end · " + customers }
        header.append("客户 Customers", customers)
        header.append("结算月 Month", "\(statement.month) · \(Format.count(statement.lineCount)) income lines"
                      + (statement.adjustmentCount > 0 ? " (\(Format.count(statement.adjustmentCount)) adjustment\(statement.adjustmentCount == 1 ? "" : "s"))" : ""))
        out.append(header.render())

        var sources = TextTable([.init("收入来源 Income source"), .init("Lines", .right), .init("Income", .right), .init("Rate", .right), .init("Pay", .right)])
        for source in statement.sources {
            sources.append([source.name, Format.count(source.items), Format.yuan(fen: source.incomeFen),
                            source.rateBp.map(Format.basisPoints) ?? "bands", source.payFen.map { Format.yuan(fen: $0) } ?? "↓"])
        }
        out.append("")
        out.append(sources.rows.isEmpty ? "  no income this month" : sources.render())

        var bands = TextTable([.init("佣金分档 Commission band (net commission \(Format.yuan(fen: statement.netCommissionFen)))"),
                               .init("Portion", .right), .init("Rate", .right), .init("Pay", .right)])
        for band in statement.bands {
            let range = band.upperFen.map { "\(Format.yuan(fen: band.lowerFen)) – \(Format.yuan(fen: $0))" } ?? "\(Format.yuan(fen: band.lowerFen)) and above"
            bands.append([range, Format.yuan(fen: band.portionFen), Format.basisPoints(band.rateBp), Format.yuan(fen: band.payFen)])
        }
        if !bands.rows.isEmpty {
            out.append("")
            out.append(bands.render())
        }

        let linePay = statement.sources.reduce(Int64(0)) { $0 + ($1.payFen ?? 0) }
        var totals = TextTable([.init("汇总 Pay"), .init("Amount", .right)])
        totals.append(["commission, through the bands", Format.yuan(fen: statement.commissionPayFen)])
        totals.append(["interest, rebates and fees, at their rates", Format.yuan(fen: linePay)])
        totals.append(["gross (subtotal)", Format.yuan(fen: statement.subtotalFen)])
        for line in statement.coefficients {
            totals.append(["× \(line.kind) coefficient \(line.coefficient)", signed(line.amountFen)])
        }
        totals.append(["total 应发合计", Format.yuan(fen: statement.totalFen)])
        out.append("")
        out.append(totals.render())
        return out.joined(separator: "\n")
    }

    /// An amount with its sign always shown ("+¥1.00", "-¥1.00", "¥0.00"): a change to a total.
    static func signed(_ fen: Int64) -> String {
        fen > 0 ? "+" + Format.yuan(fen: fen) : Format.yuan(fen: fen)
    }
}
