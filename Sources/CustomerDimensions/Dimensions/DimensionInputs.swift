import CRMPrimitives
/// The figures every dimension is read from, computed in one pass over a ledger for one business
/// date: per-window totals, 365-day mixes, lifetime facts as of the date, and the breakdown of the
/// latest position and margin snapshot. The catalog's dimensions are then one-line reads of it.
///
/// The figures are built in a struct (``DimensionFigures``) and frozen in a final class with a `let`,
/// so the catalog's hundreds of evaluations share one instance (no copies) and read it without
/// exclusivity checks.
@dynamicMemberLookup
final class DimensionInputs {
    let figures: DimensionFigures

    init(ledger: CustomerLedger, facts: CustomerFacts, asOf: DayNumber) {
        figures = DimensionFigures(ledger: ledger, facts: facts, asOf: asOf)
    }

    @inline(__always)
    subscript<T>(dynamicMember path: KeyPath<DimensionFigures, T>) -> T { figures[keyPath: path] }

    @inline(__always)
    subscript(window: DimensionWindow) -> DimensionFigures.WindowTotals { figures.windows[window.rawValue] }

    func daysSince(_ day: DayNumber?) -> Double { figures.daysSince(day) }
}

/// The figures of ``DimensionInputs``, computed by folding a ledger's series.
struct DimensionFigures {
    /// Additive totals over one trailing window.
    struct WindowTotals {
        var tradeCount: Int64 = 0
        var buyCount: Int64 = 0
        var sellCount: Int64 = 0
        var marginTradeCount: Int64 = 0
        var buyFen: Int64 = 0
        var sellFen: Int64 = 0
        var marginTradeFen: Int64 = 0
        var commissionFen: Int64 = 0
        var feesFen: Int64 = 0
        var activeTradingDays: Int64 = 0
        var depositCount: Int64 = 0
        var withdrawalCount: Int64 = 0
        var depositFen: Int64 = 0
        var withdrawalFen: Int64 = 0
        var interestFen: Int64 = 0
        var contacts: Int64 = 0
        var reachedContacts: Int64 = 0
        var interestedContacts: Int64 = 0
        var complaints: Int64 = 0
        var calls: Int64 = 0
        var visits: Int64 = 0
        var messages: Int64 = 0
        var views: Int64 = 0
        var distinctProductsViewed: Int64 = 0
        var distinctProductTypesViewed: Int64 = 0
        // Carried-forward end-of-day total assets over the window's calendar days.
        var avgAssetsFen: Int64 = 0
        var maxAssetsFen: Int64 = 0
        var minAssetsFen: Int64 = 0
        /// The assets at the end of the day before the window starts.
        var startAssetsFen: Int64 = 0

        var tradeFen: Int64 { Fen.sum(buyFen, sellFen) }
        var netCommissionFen: Int64 { Fen.difference(commissionFen, feesFen) }
        var contributionFen: Int64 { Fen.sum(netCommissionFen, interestFen) }
        var netDepositFen: Int64 { Fen.difference(depositFen, withdrawalFen) }
        /// Traded amount over average assets; 0 when the average is not positive.
        var turnover: Double { avgAssetsFen > 0 ? Double(tradeFen) / Double(avgAssetsFen) : 0 }
    }

    let asOf: DayNumber
    let facts: CustomerFacts
    let position: DailyPosition?
    let marginSnapshot: MarginSnapshot?
    let everTradedOnMargin: Bool
    let firstTradeDay: DayNumber?
    let firstActivityDay: DayNumber?

    private(set) var windows = [WindowTotals](repeating: WindowTotals(), count: DimensionWindow.allCases.count)
    /// Assets in force at the end of `asOf`.
    private(set) var currentAssetsFen: Int64 = 0

    // 365-day mixes.
    private(set) var tradeFenByInstrument = [Int64](repeating: 0, count: 8)
    private(set) var preferredInstrument = "none"
    private(set) var preferredSector = "none"
    private(set) var tradedSectorCount365: Int64 = 0
    private(set) var mostViewedProductType90 = "none"

    // Last days on or before asOf, and lifetime sums as of asOf.
    private(set) var lastTradeDay: DayNumber?
    private(set) var lastDepositDay: DayNumber?
    private(set) var lastWithdrawalDay: DayNumber?
    private(set) var lastContactDay: DayNumber?
    private(set) var lastComplaintDay: DayNumber?
    private(set) var lastViewDay: DayNumber?
    private(set) var lifetimeTradeCount: Int64 = 0
    private(set) var lifetimeTradeFen: Int64 = 0
    private(set) var lifetimeCommissionFen: Int64 = 0
    private(set) var lifetimeFeesFen: Int64 = 0
    private(set) var lifetimeInterestFen: Int64 = 0

    // The latest position.
    private(set) var cashFen: Int64 = 0
    private(set) var securitiesFen: Int64 = 0
    private(set) var productsFen: Int64 = 0
    private(set) var holdingsCostFen: Int64 = 0
    private(set) var productsCostFen: Int64 = 0
    private(set) var holdingsCount: Int64 = 0
    private(set) var losingHoldings: Int64 = 0
    private(set) var profitableHoldings: Int64 = 0
    private(set) var holdingSectorCount: Int64 = 0
    private(set) var holdingFenByInstrument = [Int64](repeating: 0, count: 8)
    private(set) var topHoldingFen: Int64 = 0
    private(set) var top3HoldingsFen: Int64 = 0
    private(set) var topSectorFen: Int64 = 0
    private(set) var holdingHHI: Double = 0
    private(set) var largestHoldingSector = "none"
    private(set) var dominantHoldingType = "none"
    private(set) var productCount: Int64 = 0
    private(set) var productTypeCount: Int64 = 0
    private(set) var productFenByFamily = [Int64](repeating: 0, count: ProductFamily.allCases.count)
    private(set) var largestProductFamily = "none"

    init(ledger: CustomerLedger, facts: CustomerFacts, asOf: DayNumber) {
        self.asOf = asOf
        self.facts = facts
        self.position = ledger.position
        self.marginSnapshot = ledger.margin
        self.everTradedOnMargin = ledger.everTradedOnMargin
        self.firstTradeDay = ledger.firstTradeDay
        self.firstActivityDay = ledger.firstActivityDay
        foldTrades(ledger)
        foldMixes(ledger)
        foldFlows(ledger)
        foldContacts(ledger)
        foldViews(ledger)
        foldAssets(ledger)
        if let position = ledger.position { foldPosition(position) }
    }

    subscript(window: DimensionWindow) -> WindowTotals { windows[window.rawValue] }

    /// The first window (by index) containing a day `age` days before asOf, or nil when it is after
    /// asOf or before the longest window.
    @inline(__always)
    private static func firstWindow(age: Int64) -> Int? {
        guard age >= 0 else { return nil }
        if age < 7 { return 0 }
        if age < 30 { return 1 }
        if age < 90 { return 2 }
        if age < 180 { return 3 }
        if age < 365 { return 4 }
        return nil
    }

    /// Calls `body` with each window containing `day`.
    @inline(__always)
    private mutating func forEachWindow(containing day: DayNumber, _ body: (inout WindowTotals) -> Void) {
        guard let first = Self.firstWindow(age: DimensionMath.age(of: day, asOf: asOf)) else { return }
        for index in first..<windows.count { body(&windows[index]) }
    }

    private mutating func foldTrades(_ ledger: CustomerLedger) {
        let carried = ledger.carried
        lifetimeTradeCount = carried.tradeCount
        lifetimeTradeFen = carried.tradeFen
        lifetimeCommissionFen = carried.commissionFen
        lifetimeFeesFen = carried.feesFen
        lifetimeInterestFen = carried.interestFen
        lastTradeDay = carried.lastTradeDay.flatMap { $0 <= asOf ? $0 : nil }
        for day in ledger.trades where day.day <= asOf {
            lifetimeTradeCount = Fen.sum(lifetimeTradeCount, Int64(day.count))
            lifetimeTradeFen = Fen.sum(lifetimeTradeFen, day.amountFen)
            lifetimeCommissionFen = Fen.sum(lifetimeCommissionFen, day.commissionFen)
            lifetimeFeesFen = Fen.sum(lifetimeFeesFen, day.feesFen)
            lastTradeDay = day.day
            forEachWindow(containing: day.day) { totals in
                totals.tradeCount += Int64(day.count)
                totals.buyCount += Int64(day.buyCount)
                totals.sellCount += Int64(day.sellCount)
                totals.marginTradeCount += Int64(day.marginCount)
                totals.buyFen = Fen.sum(totals.buyFen, day.buyFen)
                totals.sellFen = Fen.sum(totals.sellFen, day.sellFen)
                totals.marginTradeFen = Fen.sum(totals.marginTradeFen, day.marginFen)
                totals.commissionFen = Fen.sum(totals.commissionFen, day.commissionFen)
                totals.feesFen = Fen.sum(totals.feesFen, day.feesFen)
                totals.activeTradingDays += 1
            }
        }
        for day in ledger.interest where day.day <= asOf {
            lifetimeInterestFen = Fen.sum(lifetimeInterestFen, day.fen)
            forEachWindow(containing: day.day) { $0.interestFen = Fen.sum($0.interestFen, day.fen) }
        }
    }

    private static func inLongestWindow(_ day: DayNumber, asOf: DayNumber) -> Bool {
        let age = DimensionMath.age(of: day, asOf: asOf)
        return age >= 0 && age < DimensionWindow.longest.days
    }

    private mutating func foldMixes(_ ledger: CustomerLedger) {
        for entry in ledger.instrumentMix where Self.inLongestWindow(entry.day, asOf: asOf) {
            let slot = Int(entry.instrument.rawValue)
            tradeFenByInstrument[slot] = Fen.sum(tradeFenByInstrument[slot], entry.fen)
        }
        var best: (fen: Int64, name: String)?
        for instrument in Instrument.allCases {
            let fen = tradeFenByInstrument[Int(instrument.rawValue)]
            guard fen > 0 else { continue }
            // Ties go to the type listed first (stock before bond …): allCases has a fixed order.
            if best == nil || fen > best?.fen ?? 0 { best = (fen, instrument.name) }
        }
        preferredInstrument = best?.name ?? "none"

        var bySector = SmallTally()
        for entry in ledger.sectorMix where Self.inLongestWindow(entry.day, asOf: asOf) {
            bySector.add(entry.sector, entry.fen)
        }
        tradedSectorCount365 = Int64(bySector.count)
        preferredSector = bySector.largest ?? "none"
    }

    private mutating func foldFlows(_ ledger: CustomerLedger) {
        let carried = ledger.carried
        lastDepositDay = carried.lastDepositDay.flatMap { $0 <= asOf ? $0 : nil }
        lastWithdrawalDay = carried.lastWithdrawalDay.flatMap { $0 <= asOf ? $0 : nil }
        for day in ledger.flows where day.day <= asOf {
            if day.depositCount > 0 { lastDepositDay = day.day }
            if day.withdrawalCount > 0 { lastWithdrawalDay = day.day }
            forEachWindow(containing: day.day) { totals in
                totals.depositCount += Int64(day.depositCount)
                totals.withdrawalCount += Int64(day.withdrawalCount)
                totals.depositFen = Fen.sum(totals.depositFen, day.depositFen)
                totals.withdrawalFen = Fen.sum(totals.withdrawalFen, day.withdrawalFen)
            }
        }
    }

    private mutating func foldContacts(_ ledger: CustomerLedger) {
        let carried = ledger.carried
        lastContactDay = carried.lastContactDay.flatMap { $0 <= asOf ? $0 : nil }
        lastComplaintDay = carried.lastComplaintDay.flatMap { $0 <= asOf ? $0 : nil }
        for day in ledger.contacts where day.day <= asOf {
            if day.count > 0 { lastContactDay = day.day }
            if day.complaints > 0 { lastComplaintDay = day.day }
            forEachWindow(containing: day.day) { totals in
                totals.contacts += Int64(day.count)
                totals.reachedContacts += Int64(day.reached)
                totals.interestedContacts += Int64(day.interested)
                totals.complaints += Int64(day.complaints)
                totals.calls += Int64(day.calls)
                totals.visits += Int64(day.visits)
                totals.messages += Int64(day.messages)
            }
        }
    }

    private mutating func foldViews(_ ledger: CustomerLedger) {
        lastViewDay = ledger.carried.lastViewDay.flatMap { $0 <= asOf ? $0 : nil }
        // The youngest age at which each product (and product type) was viewed.
        var productAge = SmallTally()
        var typeAge = SmallTally()
        var typeViews90 = SmallTally()
        for view in ledger.views where view.day <= asOf {
            lastViewDay = view.day
            let age = DimensionMath.age(of: view.day, asOf: asOf)
            guard age < DimensionWindow.longest.days else { continue }
            forEachWindow(containing: view.day) { $0.views += Int64(view.count) }
            productAge.keepMinimum(view.productCode, age)
            typeAge.keepMinimum(view.productType, age)
            if age < DimensionWindow.d90.days { typeViews90.add(view.productType, Int64(view.count)) }
        }
        for window in DimensionWindow.allCases {
            windows[window.rawValue].distinctProductsViewed = Int64(productAge.values.count(where: { $0 < window.days }))
            windows[window.rawValue].distinctProductTypesViewed = Int64(typeAge.values.count(where: { $0 < window.days }))
        }
        mostViewedProductType90 = typeViews90.largest ?? "none"
    }

    private mutating func foldAssets(_ ledger: CustomerLedger) {
        let points = ledger.assets
        let carried = ledger.carried.assets
        // The points as one sorted sequence: the carried point (older than every retained one) first.
        let offset = carried == nil ? 0 : 1
        let total = points.count + offset
        func point(_ index: Int) -> AssetPoint {
            if index < offset, let carried { return carried }
            return points[index - offset]
        }
        let asOf = Int64(self.asOf)
        for window in DimensionWindow.allCases {
            let start = asOf - window.days + 1
            // The first point on or after the window's start.
            var low = 0
            var high = total
            while low < high {
                let middle = (low + high) / 2
                if Int64(point(middle).day) < start { low = middle + 1 } else { high = middle }
            }
            var value: Int64 = low > 0 ? point(low - 1).totalFen : 0
            let startValue = value
            var current = start
            var sum: Int64 = 0
            var maximum = Int64.min
            var minimum = Int64.max
            var index = low
            while index < total {
                let next = point(index)
                let day = Int64(next.day)
                guard day <= asOf else { break }
                if day > current {
                    sum = Fen.sum(sum, Fen.product(value, day - current))
                    maximum = max(maximum, value)
                    minimum = min(minimum, value)
                }
                value = next.totalFen
                current = day
                index += 1
            }
            sum = Fen.sum(sum, Fen.product(value, asOf + 1 - current))
            maximum = max(maximum, value)
            minimum = min(minimum, value)
            windows[window.rawValue].avgAssetsFen = Fen.roundedQuotient(sum, window.days)
            windows[window.rawValue].maxAssetsFen = maximum
            windows[window.rawValue].minAssetsFen = minimum
            windows[window.rawValue].startAssetsFen = startValue
            currentAssetsFen = value
        }
    }

    private mutating func foldPosition(_ position: DailyPosition) {
        cashFen = position.cashFen
        var byInstrumentCode = SmallTally()
        var bySector = SmallTally()
        for holding in position.holdings {
            securitiesFen = Fen.sum(securitiesFen, holding.marketValueFen)
            holdingsCostFen = Fen.sum(holdingsCostFen, holding.costFen)
            let slot = Int(holding.instrumentType.rawValue)
            holdingFenByInstrument[slot] = Fen.sum(holdingFenByInstrument[slot], holding.marketValueFen)
            if holding.quantity > 0 { holdingsCount += 1 }
            if holding.marketValueFen < holding.costFen { losingHoldings += 1 }
            if holding.marketValueFen > holding.costFen { profitableHoldings += 1 }
            byInstrumentCode.add(holding.instrument, holding.marketValueFen)
            if !holding.sector.isEmpty { bySector.add(holding.sector, holding.marketValueFen) }
        }
        let values = byInstrumentCode.values.filter { $0 > 0 }.sorted(by: >)
        topHoldingFen = values.first ?? 0
        top3HoldingsFen = Fen.total(values.prefix(3))
        let positiveTotal = Fen.total(values)
        if positiveTotal > 0 {
            holdingHHI = values.reduce(0.0) { sum, value in
                let weight = Double(value) / Double(positiveTotal)
                return sum + weight * weight
            }
        }
        holdingSectorCount = Int64(bySector.count)
        largestHoldingSector = bySector.largest ?? "none"
        topSectorFen = bySector.largest.map { bySector.value($0) } ?? 0
        var dominant: (fen: Int64, name: String)?
        for instrument in Instrument.allCases {
            let fen = holdingFenByInstrument[Int(instrument.rawValue)]
            if fen > 0, fen > dominant?.fen ?? 0 { dominant = (fen, instrument.name) }
        }
        dominantHoldingType = dominant?.name ?? "none"

        var codes = SmallTally()
        var types = SmallTally()
        for product in position.products {
            productsFen = Fen.sum(productsFen, product.marketValueFen)
            productsCostFen = Fen.sum(productsCostFen, product.costFen)
            let family = ProductFamily(productType: product.productType).rawValue
            productFenByFamily[family] = Fen.sum(productFenByFamily[family], product.marketValueFen)
            codes.add(product.productCode, 1)
            types.add(product.productType, 1)
        }
        productCount = Int64(codes.count)
        productTypeCount = Int64(types.count)
        var largestFamily: (fen: Int64, name: String)?
        for family in ProductFamily.allCases {
            let fen = productFenByFamily[family.rawValue]
            if fen > 0, fen > largestFamily?.fen ?? 0 { largestFamily = (fen, family.name) }
        }
        largestProductFamily = largestFamily?.name ?? "none"
    }

    // MARK: Reads shared by several dimensions

    /// Total assets of the latest position.
    var totalAssetsFen: Int64 { Fen.sum(cashFen, Fen.sum(securitiesFen, productsFen)) }

    var unrealisedProfitFen: Int64 {
        Fen.sum(Fen.difference(securitiesFen, holdingsCostFen), Fen.difference(productsFen, productsCostFen))
    }

    /// Days from `day` to asOf, or NaN when unknown or after asOf.
    func daysSince(_ day: DayNumber?) -> Double {
        guard let day, day <= asOf else { return .nan }
        return Double(DimensionMath.age(of: day, asOf: asOf))
    }

    /// The last trade or fund transfer on or before asOf.
    var lastActivityDay: DayNumber? {
        [lastTradeDay, lastDepositDay, lastWithdrawalDay].compactMap { $0 }.max()
    }

    var hasMarginAccount: Bool { marginSnapshot != nil || everTradedOnMargin }

    var marginLiabilityFen: Int64 {
        guard let margin = marginSnapshot else { return 0 }
        return Fen.sum(margin.financingFen, Fen.sum(margin.securitiesBorrowedFen, margin.interestAccruedFen))
    }
}
