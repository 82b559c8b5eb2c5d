/// The thresholds of the built-in classification schemes, with the firm's defaults.
///
/// Load it from a flat settings dictionary with ``init(settings:)``. The keys, each optional (a
/// missing key keeps the default), values comma-separated and strictly increasing:
///
/// | key | values | default |
/// |---|---|---|
/// | `asset_tier.thresholds` | 4 amounts in fen of `avg_assets_90d`: silver, gold, platinum, diamond from | `10000000,50000000,200000000,1000000000` (100k, 500k, 2M, 10M yuan) |
/// | `position_level.thresholds` | 4 ratios of `position_ratio`: light, medium, heavy, full from | `0.1,0.4,0.7,0.9` |
/// | `account_age_band.thresholds` | 4 day counts of `account_age_days`: junior, established, senior, veteran from | `180,365,1095,3650` |
/// | `trading_style.thresholds` | 3 values of `turnover_rate_90d`: moderate, active, hyperactive from | `0.25,1,3` |
/// | `investment_preference.dominance` | 1 ratio in (0.5, 1]: the share of invested assets that makes a family dominant | `0.6` |
/// | `lifecycle_stage.new_days` | days an account stays `new` | `90` |
/// | `lifecycle_stage.active_days` | a trade or transfer within this many days makes a customer `active` | `90` |
/// | `lifecycle_stage.lost_days` | no activity for this many days (and assets below `lost_assets`) makes one `lost`; more than `active_days` | `365` |
/// | `lifecycle_stage.lost_assets` | fen | `10000` (100 yuan) |
/// | `contribution_tier.thresholds` | 4 amounts in fen of `contribution_365d`: low, medium, high, top from | `1,100000,1000000,10000000` |
/// | `margin_use.thresholds` | 2 ratios of `margin_utilisation`: moderate, heavy from | `0.3,0.7` |
/// | `maintenance_level.thresholds` | 3 values of `maintenance_ratio`: below_warning, adequate, ample from | `1.3,1.5,3` |
/// | `product_holding_style.thresholds` | 2 ratios of `products_ratio`: balanced, product_focused from | `0.2,0.5` |
/// | `age_group.thresholds` | 3 ages in years of `age_years`: prime, mature, senior from | `30,45,60` |
///
/// A threshold is the lowest value of the class above it: with asset-tier thresholds `a,b,c,d`,
/// `avg_assets_90d < a` is basic, `a ≤ v < b` silver, …, `v ≥ d` diamond. Other keys of the
/// dictionary are ignored, except unknown keys under these schemes' prefixes, which are refused as
/// likely typos.
public struct ClassificationConfiguration: Sendable, Hashable, Codable {
    public var assetTierThresholdsFen: [Int64] = [10_000_000, 50_000_000, 200_000_000, 1_000_000_000]
    public var positionLevelThresholds: [Double] = [0.1, 0.4, 0.7, 0.9]
    public var accountAgeThresholdsDays: [Int64] = [180, 365, 1_095, 3_650]
    public var tradingStyleThresholds: [Double] = [0.25, 1, 3]
    public var investmentPreferenceDominance: Double = 0.6
    public var lifecycleNewDays: Int64 = 90
    public var lifecycleActiveDays: Int64 = 90
    public var lifecycleLostDays: Int64 = 365
    public var lifecycleLostAssetsFen: Int64 = 10_000
    public var contributionTierThresholdsFen: [Int64] = [1, 100_000, 1_000_000, 10_000_000]
    public var marginUseThresholds: [Double] = [0.3, 0.7]
    public var maintenanceLevelThresholds: [Double] = [1.3, 1.5, 3]
    public var productHoldingThresholds: [Double] = [0.2, 0.5]
    public var ageGroupThresholds: [Int64] = [30, 45, 60]

    /// The defaults.
    public init() {}

    /// The defaults overridden by the scheme keys of `settings` (see the type's documentation),
    /// validated.
    public init(settings: [String: String]) throws(ClassificationConfigurationError) {
        self.init()
        let prefixes = Set(Self.keys.map { $0.split(separator: ".")[0] })
        for key in settings.keys.sorted() {
            guard let dot = key.firstIndex(of: "."), prefixes.contains(key[..<dot]) else { continue }
            guard Self.keys.contains(key) else {
                throw ClassificationConfigurationError(key: key, message: "is not a setting; known: \(Self.keys.filter { $0.hasPrefix(key[...dot]) }.joined(separator: ", "))")
            }
        }
        func integers(_ key: String, _ target: inout [Int64]) throws(ClassificationConfigurationError) {
            if let text = settings[key] { target = try Self.parse(text, key: key) { Int64($0) } }
        }
        func reals(_ key: String, _ target: inout [Double]) throws(ClassificationConfigurationError) {
            if let text = settings[key] { target = try Self.parse(text, key: key) { Double($0).flatMap { $0.isFinite ? $0 : nil } } }
        }
        func integer(_ key: String, _ target: inout Int64) throws(ClassificationConfigurationError) {
            guard let text = settings[key] else { return }
            let values = try Self.parse(text, key: key) { Int64($0) }
            guard values.count == 1 else { throw ClassificationConfigurationError(key: key, message: "expects one value, got \(values.count)") }
            target = values[0]
        }
        try integers("asset_tier.thresholds", &assetTierThresholdsFen)
        try reals("position_level.thresholds", &positionLevelThresholds)
        try integers("account_age_band.thresholds", &accountAgeThresholdsDays)
        try reals("trading_style.thresholds", &tradingStyleThresholds)
        if let text = settings["investment_preference.dominance"] {
            let values = try Self.parse(text, key: "investment_preference.dominance") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
            guard values.count == 1 else {
                throw ClassificationConfigurationError(key: "investment_preference.dominance", message: "expects one value, got \(values.count)")
            }
            investmentPreferenceDominance = values[0]
        }
        try integer("lifecycle_stage.new_days", &lifecycleNewDays)
        try integer("lifecycle_stage.active_days", &lifecycleActiveDays)
        try integer("lifecycle_stage.lost_days", &lifecycleLostDays)
        try integer("lifecycle_stage.lost_assets", &lifecycleLostAssetsFen)
        try integers("contribution_tier.thresholds", &contributionTierThresholdsFen)
        try reals("margin_use.thresholds", &marginUseThresholds)
        try reals("maintenance_level.thresholds", &maintenanceLevelThresholds)
        try reals("product_holding_style.thresholds", &productHoldingThresholds)
        try integers("age_group.thresholds", &ageGroupThresholds)
        try validate()
    }

    /// Every key ``init(settings:)`` reads.
    public static let keys: [String] = [
        "asset_tier.thresholds", "position_level.thresholds", "account_age_band.thresholds", "trading_style.thresholds",
        "investment_preference.dominance", "lifecycle_stage.new_days", "lifecycle_stage.active_days", "lifecycle_stage.lost_days",
        "lifecycle_stage.lost_assets", "contribution_tier.thresholds", "margin_use.thresholds", "maintenance_level.thresholds",
        "product_holding_style.thresholds", "age_group.thresholds",
    ]

    /// Refuses thresholds a scheme cannot use: the wrong number of values, values not strictly
    /// increasing, negative values, or lifecycle days out of order.
    public func validate() throws(ClassificationConfigurationError) {
        try Self.check("asset_tier.thresholds", assetTierThresholdsFen.map(Double.init), count: 4, minimum: 0)
        try Self.check("position_level.thresholds", positionLevelThresholds, count: 4, minimum: 0)
        try Self.check("account_age_band.thresholds", accountAgeThresholdsDays.map(Double.init), count: 4, minimum: 0)
        try Self.check("trading_style.thresholds", tradingStyleThresholds, count: 3, minimum: 0)
        guard investmentPreferenceDominance > 0.5, investmentPreferenceDominance <= 1 else {
            throw ClassificationConfigurationError(
                key: "investment_preference.dominance",
                message: "must be above 0.5 and at most 1 (so that at most one family dominates), got \(investmentPreferenceDominance)"
            )
        }
        for (key, value) in [("lifecycle_stage.new_days", lifecycleNewDays), ("lifecycle_stage.active_days", lifecycleActiveDays),
                             ("lifecycle_stage.lost_days", lifecycleLostDays), ("lifecycle_stage.lost_assets", lifecycleLostAssetsFen)]
        where value < 0 {
            throw ClassificationConfigurationError(key: key, message: "must not be negative, got \(value)")
        }
        guard lifecycleActiveDays < lifecycleLostDays else {
            throw ClassificationConfigurationError(
                key: "lifecycle_stage.lost_days",
                message: "must be greater than lifecycle_stage.active_days (\(lifecycleActiveDays)), got \(lifecycleLostDays)"
            )
        }
        try Self.check("contribution_tier.thresholds", contributionTierThresholdsFen.map(Double.init), count: 4, minimum: nil)
        try Self.check("margin_use.thresholds", marginUseThresholds, count: 2, minimum: 0)
        try Self.check("maintenance_level.thresholds", maintenanceLevelThresholds, count: 3, minimum: 0)
        try Self.check("product_holding_style.thresholds", productHoldingThresholds, count: 2, minimum: 0)
        try Self.check("age_group.thresholds", ageGroupThresholds.map(Double.init), count: 3, minimum: 0)
    }

    private static func check(_ key: String, _ values: [Double], count: Int, minimum: Double?) throws(ClassificationConfigurationError) {
        guard values.count == count else {
            throw ClassificationConfigurationError(key: key, message: "expects \(count) values, got \(values.count)")
        }
        for value in values where !value.isFinite {
            throw ClassificationConfigurationError(key: key, message: "\(value) is not a finite number")
        }
        if let minimum, let first = values.first, first < minimum {
            throw ClassificationConfigurationError(key: key, message: "must not be negative, got \(text(first))")
        }
        for index in values.indices.dropFirst() where values[index] <= values[index - 1] {
            throw ClassificationConfigurationError(
                key: key,
                message: "thresholds must be strictly increasing, but \(text(values[index])) follows \(text(values[index - 1]))"
            )
        }
    }

    /// Integral values without a trailing ".0".
    static func text(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    private static func parse<T>(_ text: String, key: String, _ convert: (String) -> T?) throws(ClassificationConfigurationError) -> [T] {
        var values: [T] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = String(part.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
            guard !trimmed.isEmpty else {
                throw ClassificationConfigurationError(key: key, message: "has an empty value in \"\(text)\"")
            }
            guard let value = convert(trimmed.replacingUnderscores()) else {
                throw ClassificationConfigurationError(key: key, message: "\"\(trimmed)\" is not a number")
            }
            values.append(value)
        }
        return values
    }
}

/// A classification setting that cannot be used, naming the key.
public struct ClassificationConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The settings key, e.g. `asset_tier.thresholds`.
    public let key: String
    public let message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

private extension String {
    /// The text without digit-group underscores (`10_000_000`).
    func replacingUnderscores() -> String {
        String(filter { $0 != "_" })
    }
}
