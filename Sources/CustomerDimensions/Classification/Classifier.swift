/// Puts a customer in exactly one class of each built-in scheme, from its dimension values and
/// facts, with the thresholds of a ``ClassificationConfiguration``.
///
/// ```swift
/// let classifier = try Classifier(configuration: ClassificationConfiguration(settings: settings))
/// let values = DimensionEngine.compute(ledger: ledger, customer: facts, asOf: today)
/// let classes = classifier.classify(values, customer: facts)   // ["asset_tier": "gold", …]
/// ```
public struct Classifier: Sendable {
    public let configuration: ClassificationConfiguration
    /// The schemes, in ``SchemeName`` order; ``classes(_:customer:)`` answers in the same order.
    public let schemes: [ClassificationScheme]

    /// A classifier with validated thresholds.
    public init(configuration: ClassificationConfiguration = ClassificationConfiguration()) throws(ClassificationConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.schemes = ClassificationScheme.builtIns(configuration)
    }

    /// The scheme with this name, or nil.
    public func scheme(named name: String) -> ClassificationScheme? {
        schemes.first { $0.name == name }
    }

    /// Scheme name → class, for every scheme.
    public func classify(_ values: DimensionValues, customer: CustomerFacts) -> [String: String] {
        Dictionary(uniqueKeysWithValues: zip(schemes.map(\.name), classes(values, customer: customer)))
    }

    /// The customer's class in each scheme, aligned with ``schemes``.
    public func classes(_ values: DimensionValues, customer: CustomerFacts) -> [String] {
        SchemeName.allCases.map { classify($0, values, customer) }
    }

    /// The customer's class in one scheme.
    public func classify(_ scheme: SchemeName, _ values: DimensionValues, _ customer: CustomerFacts) -> String {
        let c = configuration
        let read = Reader(values: values)
        switch scheme {
        case .riskTolerance:
            return customer.validRiskTolerance.map { Self.riskClasses[$0 - 1] } ?? "unassessed"
        case .assetTier:
            return Self.band(read.avgAssets90, c.assetTierThresholdsFen.map(Double.init), Self.assetTiers)
        case .positionLevel:
            guard !read.daysSincePosition.isNaN, read.totalAssets > 0 else { return "no_assets" }
            return Self.band(read.positionRatio, c.positionLevelThresholds, Self.positionLevels)
        case .accountAgeBand:
            guard customer.status != .prospect, !read.accountAgeDays.isNaN else { return "not_opened" }
            return Self.band(read.accountAgeDays, c.accountAgeThresholdsDays.map(Double.init), Self.accountAges)
        case .investmentPreference:
            return investmentPreference(read)
        case .tradingStyle:
            guard read.tradeCount90 > 0 else { return "inactive" }
            return Self.band(read.turnover90, c.tradingStyleThresholds, Array(Self.tradingStyles.dropFirst()))
        case .lifecycleStage:
            switch customer.status {
            case .prospect: return "prospect"
            case .closed: return "closed"
            case .normal, .frozen, .reportedLost: break
            }
            if !read.accountAgeDays.isNaN, read.accountAgeDays < Double(c.lifecycleNewDays) { return "new" }
            let silence = read.daysSinceLastActivity
            if !silence.isNaN, silence < Double(c.lifecycleActiveDays) { return "active" }
            let silentLong = silence.isNaN || silence >= Double(c.lifecycleLostDays)
            if silentLong, read.totalAssets < Double(c.lifecycleLostAssetsFen) { return "lost" }
            return "dormant"
        case .contributionTier:
            return Self.band(read.contribution365, c.contributionTierThresholdsFen.map(Double.init), Self.contributionTiers)
        case .marginUse:
            guard read.hasMarginAccount > 0 else { return "no_margin" }
            guard read.marginFinancing > 0 else { return "idle" }
            return Self.band(read.marginUtilisation, c.marginUseThresholds, Array(Self.marginUses.dropFirst(2)))
        case .maintenanceLevel:
            guard !read.maintenanceRatio.isNaN else { return "no_liability" }
            return Self.band(read.maintenanceRatio, c.maintenanceLevelThresholds, Self.maintenanceLevels)
        case .productHoldingStyle:
            guard read.productHoldingCount > 0 else { return "no_products" }
            return Self.band(read.productsRatio, c.productHoldingThresholds, Array(Self.productStyles.dropFirst()))
        case .ageGroup:
            guard customer.kind == .individual else { return "institution" }
            guard !read.ageYears.isNaN else { return "undisclosed" }
            return Self.band(read.ageYears, c.ageGroupThresholds.map(Double.init), Self.ageGroups)
        }
    }

    private func investmentPreference(_ read: Reader) -> String {
        let families = [
            ("equities", read.sum(Self.equityReads)),
            ("funds", read.sum(Self.fundReads)),
            ("fixed_income", read.sum(Self.fixedIncomeReads)),
            ("wealth_management", read.sum(Self.wealthReads)),
        ]
        let invested = read.securitiesValue + read.productsValue
        if invested > 0 {
            for (name, value) in families where value / invested >= configuration.investmentPreferenceDominance {
                return name
            }
            return "balanced"
        }
        switch read.preferredInstrumentType {
        case Instrument.stock.name, Instrument.warrant.name: return "equities"
        case Instrument.fund.name, Instrument.etf.name: return "funds"
        case Instrument.bond.name, Instrument.repo.name: return "fixed_income"
        case Instrument.other.name: return "balanced"
        default: return "cash_only"
        }
    }

    /// The class of `value` among classes separated by increasing `thresholds` (one fewer than
    /// classes): below the first threshold the first class, at or above the last the last. NaN
    /// falls in the first class.
    static func band(_ value: Double, _ thresholds: [Double], _ classes: [String]) -> String {
        var index = 0
        while index < thresholds.count, index + 1 < classes.count, value >= thresholds[index] { index += 1 }
        return classes[index]
    }

    // MARK: Class names, lowest first

    static let riskClasses = ["C1", "C2", "C3", "C4", "C5"]
    static let assetTiers = ["basic", "silver", "gold", "platinum", "diamond"]
    static let positionLevels = ["empty", "light", "medium", "heavy", "full"]
    static let accountAges = ["newcomer", "junior", "established", "senior", "veteran"]
    static let preferences = ["cash_only", "fixed_income", "funds", "equities", "wealth_management", "balanced"]
    static let tradingStyles = ["inactive", "conservative", "moderate", "active", "hyperactive"]
    static let lifecycleStages = ["prospect", "new", "active", "dormant", "lost", "closed"]
    static let contributionTiers = ["none", "low", "medium", "high", "top"]
    static let marginUses = ["no_margin", "idle", "light", "moderate", "heavy"]
    static let maintenanceLevels = ["below_closeout", "below_warning", "adequate", "ample"]
    static let productStyles = ["no_products", "supplementary", "balanced", "product_focused"]
    static let ageGroups = ["young", "prime", "mature", "senior"]

    // MARK: Dimension reads

    static let equityReads = ["holding_value_stock", "holding_value_warrant"].map(Reader.slot)
    static let fundReads = ["holding_value_fund", "holding_value_etf", "product_value_equity_funds"].map(Reader.slot)
    static let fixedIncomeReads = ["holding_value_bond", "holding_value_repo", "product_value_fixed_income"].map(Reader.slot)
    static let wealthReads = ["product_value_asset_management", "product_value_structured_note", "product_value_advisory_package"].map(Reader.slot)

    /// Reads dimension values by catalog slot, resolved once; an absent dimension reads as NaN.
    struct Reader {
        let values: DimensionValues

        static func slot(_ name: String) -> Int? {
            guard let definition = DimensionCatalog.definition(named: name), definition.type.isNumeric else { return nil }
            return definition.slot
        }

        static func categorySlot(_ name: String) -> Int? {
            guard let definition = DimensionCatalog.definition(named: name), definition.type == .category else { return nil }
            return definition.slot
        }

        static let slots = (
            avgAssets90: slot("avg_assets_90d"), totalAssets: slot("total_assets"), positionRatio: slot("position_ratio"),
            daysSincePosition: slot("days_since_position"), accountAgeDays: slot("account_age_days"),
            tradeCount90: slot("trade_count_90d"), turnover90: slot("turnover_rate_90d"),
            daysSinceLastActivity: slot("days_since_last_activity"), contribution365: slot("contribution_365d"),
            hasMarginAccount: slot("has_margin_account"), marginFinancing: slot("margin_financing"),
            marginUtilisation: slot("margin_utilisation"), maintenanceRatio: slot("maintenance_ratio"),
            productHoldingCount: slot("product_holding_count"), productsRatio: slot("products_ratio"), ageYears: slot("age_years"),
            securitiesValue: slot("securities_value"), productsValue: slot("products_value"),
            preferredInstrumentType: categorySlot("preferred_instrument_type")
        )

        func number(_ slot: Int?) -> Double {
            guard let slot, slot < values.numbers.count else { return .nan }
            return values.numbers[slot]
        }

        func sum(_ slots: [Int?]) -> Double {
            slots.reduce(0) { $0 + max(0, number($1)) }
        }

        var avgAssets90: Double { number(Self.slots.avgAssets90) }
        var totalAssets: Double { number(Self.slots.totalAssets) }
        var positionRatio: Double { number(Self.slots.positionRatio) }
        var daysSincePosition: Double { number(Self.slots.daysSincePosition) }
        var accountAgeDays: Double { number(Self.slots.accountAgeDays) }
        var tradeCount90: Double { number(Self.slots.tradeCount90) }
        var turnover90: Double { number(Self.slots.turnover90) }
        var daysSinceLastActivity: Double { number(Self.slots.daysSinceLastActivity) }
        var contribution365: Double { number(Self.slots.contribution365) }
        var hasMarginAccount: Double { number(Self.slots.hasMarginAccount) }
        var marginFinancing: Double { number(Self.slots.marginFinancing) }
        var marginUtilisation: Double { number(Self.slots.marginUtilisation) }
        var maintenanceRatio: Double { number(Self.slots.maintenanceRatio) }
        var productHoldingCount: Double { number(Self.slots.productHoldingCount) }
        var productsRatio: Double { number(Self.slots.productsRatio) }
        var ageYears: Double { number(Self.slots.ageYears) }
        var securitiesValue: Double { max(0, number(Self.slots.securitiesValue)) }
        var productsValue: Double { max(0, number(Self.slots.productsValue)) }
        var preferredInstrumentType: String {
            guard let slot = Self.slots.preferredInstrumentType, slot < values.categories.count else { return "none" }
            return values.categories[slot]
        }
    }
}
