import CRMProtos

/// What the profiles service shows of a customer at the end of a day, for the dimensions the
/// purchase law reads: each value is computed from the generated events exactly as the service's
/// dimension of the same name defines it (windows end on ``asOf`` and include it; a value that is
/// missing there is NaN here).
public struct ObservedState: Sendable {
    /// The business day the values are for (the last day of the month before the purchase month).
    public let asOf: WorldDay
    /// `most_viewed_product_type_90d`: the product type (`FUND_BOND` …) viewed most often in the
    /// 90 days to asOf; ties go to the smallest name; "none" without views.
    public let mostViewedProductType90d: String
    /// `days_since_last_view`.
    public let daysSinceLastView: Double
    /// `avg_assets_90d` in fen: end-of-day total assets carried forward over the 90 calendar days
    /// to asOf (0 before the first position), averaged and rounded half away from zero.
    public let avgAssets90d: Int64
    /// `trade_count_30d`: trades (cash and margin) in the 30 days to asOf.
    public let tradeCount30d: Int
    /// `risk_tolerance_level`: the current assessment's level, 1…5.
    public let riskToleranceLevel: Double
    /// `age_years`: completed years at asOf.
    public let ageYears: Double
    /// `largest_product_type`: the family (`bond_fund` …) with the largest market value on the
    /// latest position; "none" without products.
    public let largestProductType: String
    /// `product_holding_count`: distinct products on the latest position.
    public let productHoldingCount: Int
    /// `days_since_last_contact`.
    public let daysSinceLastContact: Double

    /// The family viewed most in the 90 days, if any (the family of ``mostViewedProductType90d``).
    public let mostViewedFamily: WorldFamily?
    /// The family of ``largestProductType``, if any.
    public let largestFamily: WorldFamily?

    /// A state from dimension values as the profiles service reports them (NaN for missing ones),
    /// e.g. to apply ``PurchaseLaw`` to what the service computed.
    public init(asOf: WorldDay, mostViewedProductType90d: String, daysSinceLastView: Double, avgAssets90d: Int64, tradeCount30d: Int,
                riskToleranceLevel: Double, ageYears: Double, largestProductType: String, productHoldingCount: Int,
                daysSinceLastContact: Double) {
        self.asOf = asOf
        self.mostViewedProductType90d = mostViewedProductType90d
        self.daysSinceLastView = daysSinceLastView
        self.avgAssets90d = avgAssets90d
        self.tradeCount30d = tradeCount30d
        self.riskToleranceLevel = riskToleranceLevel
        self.ageYears = ageYears
        self.largestProductType = largestProductType
        self.productHoldingCount = productHoldingCount
        self.daysSinceLastContact = daysSinceLastContact
        mostViewedFamily = WorldFamily.allCases.first { $0.productTypeName == mostViewedProductType90d }
        largestFamily = WorldFamily.allCases.first { $0.name == largestProductType }
    }

    /// The numeric dimensions by their profiles-service names.
    public var numbers: [String: Double] {
        [
            "days_since_last_view": daysSinceLastView,
            "avg_assets_90d": Double(avgAssets90d),
            "trade_count_30d": Double(tradeCount30d),
            "risk_tolerance_level": riskToleranceLevel,
            "age_years": ageYears,
            "product_holding_count": Double(productHoldingCount),
            "days_since_last_contact": daysSinceLastContact,
        ]
    }

    /// The category dimensions by their profiles-service names.
    public var categories: [String: String] {
        ["most_viewed_product_type_90d": mostViewedProductType90d, "largest_product_type": largestProductType]
    }

    /// The dimensions whose value in `served` (what profiles computed for the same day, by name)
    /// is not this state's, as `(name, law, served)`: numbers compared exactly, two missing values
    /// agreeing; a dimension `served` lacks counts as missing (number) or empty (category).
    public func differences(from served: Crm_Profiles_V1_CustomerDimensions) -> [(name: String, law: String, served: String)] {
        var found: [(name: String, law: String, served: String)] = []
        for (name, value) in numbers.sorted(by: { $0.key < $1.key }) {
            let shown = served.numbers[name] ?? .nan
            if !(shown == value || (shown.isNaN && value.isNaN)) { found.append((name, "\(value)", "\(shown)")) }
        }
        for (name, value) in categories.sorted(by: { $0.key < $1.key }) where (served.categories[name] ?? "") != value {
            found.append((name, value, served.categories[name] ?? ""))
        }
        return found
    }
}

/// The history the observable state is computed from, appended in time order as the simulation
/// emits events: views, trades, contacts and position snapshots.
struct ObservationTracker {
    private var viewDays: [WorldDay] = []
    private var viewFamilies: [UInt8] = []
    private var tradeDays: [WorldDay] = []
    private var lastContact: WorldDay?
    private var assetDays: [WorldDay] = []
    private var assetTotals: [Int64] = []
    /// The latest snapshot's distinct products and their value by family.
    private var latestProductCount = 0
    private var latestFamilyValues = [Int64](repeating: 0, count: WorldFamily.allCases.count)

    mutating func viewed(_ family: WorldFamily, on day: WorldDay) {
        viewDays.append(day)
        viewFamilies.append(UInt8(family.rawValue))
    }

    mutating func traded(on day: WorldDay) {
        tradeDays.append(day)
    }

    mutating func contacted(on day: WorldDay) {
        lastContact = max(lastContact ?? day, day)
    }

    /// A position snapshot: its total assets and its products (code, family, market value).
    mutating func snapshot(on day: WorldDay, totalFen: Int64, products: [(product: Int, family: WorldFamily, valueFen: Int64)]) {
        assetDays.append(day)
        assetTotals.append(totalFen)
        var codes: [Int] = []
        for index in latestFamilyValues.indices { latestFamilyValues[index] = 0 }
        for product in products {
            if !codes.contains(product.product) { codes.append(product.product) }
            latestFamilyValues[product.family.rawValue] += product.valueFen
        }
        latestProductCount = codes.count
    }

    /// The state at the end of `asOf`. Only valid while nothing after `asOf` has been recorded,
    /// which is how the simulation calls it (at each month's start).
    func state(asOf: WorldDay, riskTolerance: Int?, birthDay: WorldDay?) -> ObservedState {
        // most_viewed_product_type_90d and days_since_last_view.
        var counts = [Int](repeating: 0, count: WorldFamily.allCases.count)
        var lastView: WorldDay?
        for (index, day) in viewDays.enumerated() where day <= asOf {
            lastView = max(lastView ?? day, day)
            if asOf - day < 90 { counts[Int(viewFamilies[index])] += 1 }
        }
        var best: WorldFamily?
        for family in WorldFamily.byTypeName where counts[family.rawValue] > 0 {
            if counts[family.rawValue] > (best.map { counts[$0.rawValue] } ?? 0) { best = family }
        }

        let trades = tradeDays.reduce(0) { $0 + (($1 <= asOf && asOf - $1 < 30) ? 1 : 0) }

        var largest: WorldFamily?
        for family in WorldFamily.allCases where latestFamilyValues[family.rawValue] > 0 {
            if latestFamilyValues[family.rawValue] > (largest.map { latestFamilyValues[$0.rawValue] } ?? 0) { largest = family }
        }

        return ObservedState(
            asOf: asOf,
            mostViewedProductType90d: best?.productTypeName ?? "none",
            daysSinceLastView: lastView.map { Double(asOf - $0) } ?? .nan,
            avgAssets90d: averageAssets(asOf: asOf, windowDays: 90),
            tradeCount30d: trades,
            riskToleranceLevel: riskTolerance.map(Double.init) ?? .nan,
            ageYears: birthDay.map { Self.completedYears(born: $0, on: asOf) } ?? .nan,
            largestProductType: largest?.name ?? "none",
            productHoldingCount: latestProductCount,
            daysSinceLastContact: lastContact.map { Double(asOf - $0) } ?? .nan
        )
    }

    /// The service's carried-forward average: each calendar day of the window counts the total of
    /// the latest snapshot on or before it (0 before the first), summed and divided by the window,
    /// rounded half away from zero.
    func averageAssets(asOf: WorldDay, windowDays: Int64) -> Int64 {
        let end = Int64(asOf)
        let start = end - windowDays + 1
        var low = 0
        var high = assetDays.count
        while low < high {
            let middle = (low + high) / 2
            if Int64(assetDays[middle]) < start { low = middle + 1 } else { high = middle }
        }
        var value: Int64 = low > 0 ? assetTotals[low - 1] : 0
        var current = start
        var sum: Int64 = 0
        var index = low
        while index < assetDays.count {
            let day = Int64(assetDays[index])
            guard day <= end else { break }
            if day > current { sum += value * (day - current) }
            value = assetTotals[index]
            current = day
            index += 1
        }
        sum += value * (end + 1 - current)
        let (quotient, remainder) = sum.quotientAndRemainder(dividingBy: windowDays)
        guard remainder.magnitude * 2 >= UInt64(windowDays) else { return quotient }
        return sum < 0 ? quotient - 1 : quotient + 1
    }

    /// Completed years of age on `day` for someone born on `born`.
    static func completedYears(born: WorldDay, on day: WorldDay) -> Double {
        guard born <= day else { return .nan }
        let birth = WorldDays.civil(born)
        let now = WorldDays.civil(day)
        let hadBirthday = (now.month, now.day) >= (birth.month, birth.day)
        return Double(now.year - birth.year - (hadBirthday ? 0 : 1))
    }
}
