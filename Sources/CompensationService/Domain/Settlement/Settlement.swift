/// # Settlement
///
/// The pure arithmetic of monthly compensation: income items (built from the change feeds) are
/// attributed to the manager in charge on each item's day (``IncomeAttribution`` over an
/// ``AssignmentTimeline``), and one manager-month is settled into a ``ManagerStatement`` under the scheme
/// version in force on the month's first day (``SchemeCatalog``). A ``SettlementBook`` records the
/// closed months, refuses to settle them again and routes late items into the next open month.
/// Assessment figures (``Assessment``) aggregate the same inputs per manager, team, branch and head
/// office. No I/O: the store loads the values, the handlers call these functions.
///
/// Money is `Int64` fen; see ``FenArithmetic`` for the one rounding rule.

/// The per-manager, per-month inputs that are not income: coefficients default to 1.
public struct ManagerCoefficients: Sendable, Hashable, Codable {
    /// From the month's performance assessment.
    public var assessment: Coefficient
    /// 0 in a month with a confirmed compliance breach, for example.
    public var compliance: Coefficient

    public init(assessment: Coefficient = .one, compliance: Coefficient = .one) {
        self.assessment = assessment
        self.compliance = compliance
    }
}

/// What to settle: one manager's month.
public struct SettlementRequest: Sendable, Hashable, Codable {
    public var managerID: String
    /// The manager's grade for the month; picks the scheme.
    public var grade: String
    public var month: CalendarMonth
    /// The current business day; the month must have ended before it.
    public var today: CalendarDay
    /// The highest ingest sequence recorded when settling starts; items recorded after it wait for a
    /// later statement. Required: closing records it, and it is what makes a later item "late".
    public var throughSequence: Int64
    public var coefficients: ManagerCoefficients

    public init(managerID: String, grade: String, month: CalendarMonth, today: CalendarDay, throughSequence: Int64,
                coefficients: ManagerCoefficients = ManagerCoefficients()) {
        self.managerID = managerID
        self.grade = grade
        self.month = month
        self.today = today
        self.throughSequence = throughSequence
        self.coefficients = coefficients
    }
}

/// Settles manager-months. Deterministic: the same inputs, in any order, give an identical
/// statement.
public enum Settlement {
    /// Settles `request.month` for `request.managerID`.
    ///
    /// `items` are the manager's attributed items (``IncomeAttribution/items(for:)``); any month may
    /// be among them. The statement takes exactly those whose statement month
    /// (``SettlementBook/statementMonth(ofItemIn:ingestSequence:managerID:)``) is this month and
    /// that were recorded through `request.throughSequence`: the month's own items, and late items
    /// of closed earlier months as flagged adjustments. Items already settled in a closed month,
    /// items of later months, and items of earlier months that are still open are left out.
    ///
    /// Lines are in statement order (``IncomeItem/statementOrder(_:_:)``); items already in that
    /// order (as the store reads a month: by day, then ingest sequence) are not re-sorted.
    ///
    /// Refuses: a closed month; a month not ended on `request.today`; a grade with no scheme in
    /// force; a missing manager id or grade, a coefficient outside 0–10, a bad item, or the same
    /// source event id twice (each event is counted once).
    public static func settle(
        _ request: SettlementRequest, items: [IncomeItem], schemes: SchemeCatalog, book: SettlementBook
    ) throws(SettlementError) -> ManagerStatement {
        var violations: [SettlementViolation] = []
        if request.managerID.isEmpty { violations.append(SettlementViolation(field: "manager_id", description: "is required")) }
        if request.grade.isEmpty { violations.append(SettlementViolation(field: "grade", description: "is required")) }
        for (kind, coefficient) in [(CoefficientKind.assessment, request.coefficients.assessment), (.compliance, request.coefficients.compliance)]
            where !coefficient.isAllowed {
            violations.append(SettlementViolation(field: "coefficients.\(kind.rawValue)", description: "\(coefficient) is outside 0–10"))
        }
        var seen: [String: Int] = [:]
        seen.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            if !item.isValid { violations += item.violations(prefix: "items[\(index)]") }
            if let first = seen.updateValue(index, forKey: item.sourceEventID) {
                seen[item.sourceEventID] = first
                violations.append(SettlementViolation(field: "items[\(index)].source_event_id", description: "\(item.sourceEventID) is also items[\(first)]; each event counts once"))
            }
        }
        guard violations.isEmpty else { throw .invalid(violations) }
        guard request.month.lastDay < request.today else { throw .monthNotEnded(month: request.month, today: request.today) }
        guard !book.isClosed(request.month, managerID: request.managerID) else {
            throw .monthClosed(managerID: request.managerID, month: request.month)
        }
        let scheme = try schemes.scheme(grade: request.grade, month: request.month)

        return statement(request, items: statementItems(items, month: request.month, throughSequence: request.throughSequence,
                                                        managerID: request.managerID, book: book), scheme: scheme)
    }

    /// The items of `items` that belong on `managerID`'s statement for `month` (an open month), in
    /// statement order: those recorded through `throughSequence` whose statement month
    /// (``SettlementBook/statementMonth(ofItemIn:ingestSequence:managerID:)``) is `month`.
    public static func statementItems(_ items: [IncomeItem], month: CalendarMonth, throughSequence: Int64, managerID: String,
                                      book: SettlementBook) -> [IncomeItem] {
        let belongs = { (item: IncomeItem) in
            belongsOnStatement(item, month: month, throughSequence: throughSequence, managerID: managerID, book: book)
        }
        // Items already chosen (the usual case for the service) are not copied.
        var included = items.allSatisfy(belongs) ? items : items.filter(belongs)
        IncomeItem.putInStatementOrder(&included)
        return included
    }

    /// Whether `item` belongs on `managerID`'s statement for the open `month`: recorded through
    /// `throughSequence`, and its statement month is `month`. The month being open, its own items
    /// belong to it; only earlier items need the book's walk through the closed months.
    @inline(__always)
    public static func belongsOnStatement(_ item: IncomeItem, month: CalendarMonth, throughSequence: Int64, managerID: String,
                                          book: SettlementBook) -> Bool {
        guard item.ingestSequence <= throughSequence, item.day <= month.lastDay else { return false }
        return item.day >= month.firstDay
            || book.statementMonth(ofItemIn: item.day.month, ingestSequence: item.ingestSequence, managerID: managerID) == month
    }

    /// The statement of `items` (already chosen and sorted) under `scheme`.
    static func statement(_ request: SettlementRequest, items: [IncomeItem], scheme: CompensationScheme) -> ManagerStatement {
        let version = scheme.ruleVersion
        let listedCosts = scheme.deductedCostSet
        let lines = items.map { incomeLine($0, managerID: request.managerID, month: request.month, scheme: scheme, listedCosts: listedCosts) }

        // One pass: per-source counts and sums (in IncomeSource order), net commission, line pay.
        var counts = [Int](repeating: 0, count: IncomeSource.allCases.count)
        var incomes = [Int64](repeating: 0, count: IncomeSource.allCases.count)
        var pays = [Int64](repeating: 0, count: IncomeSource.allCases.count)
        var netCommission: Int64 = 0
        var linePay: Int64 = 0
        for line in lines {
            let slot = line.source.index
            counts[slot] += 1
            incomes[slot] = Fen.sum(incomes[slot], line.incomeFen)
            if line.source.isCommission { netCommission = Fen.sum(netCommission, line.incomeFen) }
            if let pay = line.payFen {
                pays[slot] = Fen.sum(pays[slot], pay)
                linePay = Fen.sum(linePay, pay)
            }
        }
        let sourceTotals = IncomeSource.allCases.compactMap { source -> SourceTotal? in
            let slot = source.index
            guard counts[slot] > 0 else { return nil }
            return SourceTotal(source: source, itemCount: counts[slot], incomeFen: incomes[slot], payFen: source.isCommission ? nil : pays[slot])
        }

        let bands = commissionBands(netCommissionFen: netCommission, tiers: scheme.commissionTiers, version: version)
        let commissionPay = Fen.total(bands.map(\.payFen))
        let subtotal = Fen.sum(linePay, commissionPay)

        var running = subtotal
        var coefficientLines: [CoefficientLine] = []
        for (kind, coefficient) in [(CoefficientKind.assessment, request.coefficients.assessment), (.compliance, request.coefficients.compliance)] {
            let change = Coefficient(partsPerMillion: coefficient.partsPerMillion - Coefficient.scale)
            let amount = FenArithmetic.apply(change, to: running)
            coefficientLines.append(CoefficientLine(kind: kind, coefficient: coefficient, baseFen: running, amountFen: amount))
            running = Fen.sum(running, amount)
        }

        return ManagerStatement(
            managerID: request.managerID, grade: request.grade, month: request.month, ruleVersion: version,
            throughSequence: request.throughSequence, incomeLines: lines, sourceTotals: sourceTotals,
            netCommissionFen: netCommission, commissionBands: bands, commissionPayFen: commissionPay,
            subtotalFen: subtotal, coefficientLines: coefficientLines, totalFen: running
        )
    }

    /// The bands `netCommissionFen` reaches, each `portion × rate` rounded once. A negative month
    /// (corrections exceeding new commission) is clawed back at the first tier's rate.
    public static func commissionBands(netCommissionFen: Int64, tiers: [CommissionTier], version: RuleVersion) -> [CommissionBandLine] {
        if netCommissionFen < 0, let first = tiers.first {
            return [CommissionBandLine(tierIndex: 0, lowerFen: first.lowerFen, upperFen: first.upperFen, rate: first.rate, portionFen: netCommissionFen,
                                       payFen: FenArithmetic.apply(first.rate, to: netCommissionFen), ruleVersion: version)]
        }
        return tiers.enumerated().compactMap { index, tier in
            let portion = tier.portion(of: netCommissionFen)
            guard portion > 0 else { return nil }
            return CommissionBandLine(tierIndex: index, lowerFen: tier.lowerFen, upperFen: tier.upperFen, rate: tier.rate, portionFen: portion,
                                      payFen: FenArithmetic.apply(tier.rate, to: portion), ruleVersion: version)
        }
    }

    /// The income an item brings: net commission (deducting `listedCosts`), interest, rebate
    /// income (rounded once) or advisory fee.
    public static func incomeFen(of item: IncomeItem, deducting listedCosts: Set<String>) -> Int64 {
        switch item.kind {
        case .trade(let trade): return trade.netCommissionFen(deducting: listedCosts)
        case .marginInterest(let interest): return interest
        case .productSale(let sale): return sale.rebateFen
        case .advisoryFee(let fee): return fee.feeFen
        }
    }

    private static func incomeLine(_ item: IncomeItem, managerID: String, month: CalendarMonth, scheme: CompensationScheme,
                                   listedCosts: Set<String>) -> IncomeLine {
        let rate = scheme.rates.rate(for: item.source)
        let basis: IncomeBasis
        let pay: Int64?
        switch item.kind {
        case .trade(let trade):
            basis = .trade(account: trade.account, commissionFen: trade.commissionFen, exchangeFeesFen: trade.exchangeFeesFen,
                           regulatoryFeesFen: trade.regulatoryFeesFen, listedCostsFen: trade.listedCostsFen(listedCosts))
            pay = nil
        case .marginInterest(let interest):
            basis = .marginInterest
            pay = rate.map { FenArithmetic.apply($0, to: interest) }
        case .productSale(let sale):
            basis = .productSale(productCode: sale.productCode, saleAmountFen: sale.amountFen, rebateRate: sale.rebateRate)
            // One rounding from the sale amount, not from the rounded rebate.
            pay = rate.map { FenArithmetic.apply(sale.rebateRate, $0, to: sale.amountFen) }
        case .advisoryFee(let fee):
            basis = .advisoryFee(packageID: fee.packageID)
            pay = rate.map { FenArithmetic.apply($0, to: fee.feeFen) }
        }
        let originalMonth = item.day.month
        let carried = originalMonth != month
        return IncomeLine(
            sourceEventID: item.sourceEventID, customerID: item.customerID, day: item.day, source: item.source,
            originalMonth: originalMonth, isCarriedForward: carried, isAdjustment: carried || item.isAdjustment,
            ruleVersion: scheme.ruleVersion, basis: basis, incomeFen: incomeFen(of: item, deducting: listedCosts), rate: rate, payFen: pay,
            // A sale on this statement that named someone else: that manager had left by its day.
            namedManagerID: item.creditedManagerID.flatMap { $0.isEmpty || $0 == managerID ? nil : $0 }
        )
    }
}
