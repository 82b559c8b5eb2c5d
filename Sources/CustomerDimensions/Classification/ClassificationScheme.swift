import CRMRules

/// A way of putting every customer into exactly one class, as ListClassificationSchemes shows it.
///
/// Classes are listed lowest first. ``ordered`` holds the classes that have an order (asset tiers
/// basic < silver < gold < platinum < diamond); a scheme may also have classes outside that order
/// for customers it cannot place on it for lack of data or applicability (`unassessed`,
/// `no_liability`), which come first in ``classes``.
public struct ClassificationScheme: Sendable, Hashable {
    public let name: String
    public let description: String
    /// The dimension it bands by, or empty when it combines several.
    public let dimension: String
    /// Every class, lowest first, the classes outside the order first.
    public let classes: [String]
    /// The ordered classes, lowest first; nil when the classes have no order.
    public let ordered: [String]?
    /// The configured boundaries as text (`name=value` when a scheme has several named settings).
    public let thresholds: [String]

    init(name: String, description: String, dimension: String, classes: [String], ordered: [String]?, thresholds: [String]) {
        self.name = name
        self.description = description
        self.dimension = dimension
        self.classes = classes
        self.ordered = ordered
        self.thresholds = thresholds
    }

    /// The field type under which the rule language sees the scheme: its classes, ordered when the
    /// scheme is, so `asset_tier >= gold` works.
    public var ruleType: FieldType {
        .category(values: Set(classes), ordered: ordered)
    }
}

/// The built-in schemes, in the order the classifier reports them.
public enum SchemeName: String, Sendable, Hashable, CaseIterable {
    case riskTolerance = "risk_tolerance"
    case assetTier = "asset_tier"
    case positionLevel = "position_level"
    case accountAgeBand = "account_age_band"
    case investmentPreference = "investment_preference"
    case tradingStyle = "trading_style"
    case lifecycleStage = "lifecycle_stage"
    case contributionTier = "contribution_tier"
    case marginUse = "margin_use"
    case maintenanceLevel = "maintenance_level"
    case productHoldingStyle = "product_holding_style"
    case ageGroup = "age_group"
}

extension ClassificationScheme {
    /// The built-in schemes with the thresholds of `configuration`, in ``SchemeName`` order.
    static func builtIns(_ configuration: ClassificationConfiguration) -> [ClassificationScheme] {
        let c = configuration
        func texts(_ values: [Int64]) -> [String] { values.map { String($0) } }
        func texts(_ values: [Double]) -> [String] { values.map(ClassificationConfiguration.text) }
        return SchemeName.allCases.map { name in
            switch name {
            case .riskTolerance:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "The current suitability assessment's risk tolerance, C1 (most cautious) to C5; unassessed without one",
                    dimension: "risk_tolerance_level",
                    classes: ["unassessed"] + Classifier.riskClasses, ordered: Classifier.riskClasses, thresholds: []
                )
            case .assetTier:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "Tier by 90-day average total assets (fen)",
                    dimension: "avg_assets_90d", classes: Classifier.assetTiers, ordered: Classifier.assetTiers,
                    thresholds: texts(c.assetTierThresholdsFen)
                )
            case .positionLevel:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "How invested the customer is: securities and products over total assets; no_assets without a position or with nothing in it",
                    dimension: "position_ratio", classes: ["no_assets"] + Classifier.positionLevels, ordered: Classifier.positionLevels,
                    thresholds: texts(c.positionLevelThresholds)
                )
            case .accountAgeBand:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "Time since the account was opened (days); not_opened for prospects",
                    dimension: "account_age_days", classes: ["not_opened"] + Classifier.accountAges, ordered: Classifier.accountAges,
                    thresholds: texts(c.accountAgeThresholdsDays)
                )
            case .investmentPreference:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "The family of investments that dominates securities and products held (equities, funds, fixed income, wealth management) or balanced; without holdings, the family of the instrument type most traded over 365 days; cash_only when neither",
                    dimension: "", classes: Classifier.preferences, ordered: nil,
                    thresholds: ["dominance=" + ClassificationConfiguration.text(c.investmentPreferenceDominance)]
                )
            case .tradingStyle:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "Trading intensity by 90-day turnover (amount traded over average assets); inactive without trades in 90 days",
                    dimension: "turnover_rate_90d", classes: Classifier.tradingStyles, ordered: Classifier.tradingStyles,
                    thresholds: texts(c.tradingStyleThresholds)
                )
            case .lifecycleStage:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "prospect and closed by account status; new while the account is young; active with a recent trade or transfer; lost after a long silence with almost no assets; dormant otherwise",
                    dimension: "", classes: Classifier.lifecycleStages, ordered: nil,
                    thresholds: ["new_days=\(c.lifecycleNewDays)", "active_days=\(c.lifecycleActiveDays)",
                                 "lost_days=\(c.lifecycleLostDays)", "lost_assets=\(c.lifecycleLostAssetsFen)"]
                )
            case .contributionTier:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "Tier by 365-day contribution: net commission plus margin interest (fen)",
                    dimension: "contribution_365d", classes: Classifier.contributionTiers, ordered: Classifier.contributionTiers,
                    thresholds: texts(c.contributionTierThresholdsFen)
                )
            case .marginUse:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "Use of margin financing: no_margin without a margin account, idle with nothing financed, else by financing over credit limit",
                    dimension: "margin_utilisation", classes: Classifier.marginUses, ordered: Classifier.marginUses,
                    thresholds: texts(c.marginUseThresholds)
                )
            case .maintenanceLevel:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "The margin account's maintenance guarantee ratio against the close-out and warning lines; no_liability when nothing is owed",
                    dimension: "maintenance_ratio", classes: ["no_liability"] + Classifier.maintenanceLevels, ordered: Classifier.maintenanceLevels,
                    thresholds: texts(c.maintenanceLevelThresholds)
                )
            case .productHoldingStyle:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "Place of financial products in the customer's assets: no_products, else by products over total assets",
                    dimension: "products_ratio", classes: Classifier.productStyles, ordered: Classifier.productStyles,
                    thresholds: texts(c.productHoldingThresholds)
                )
            case .ageGroup:
                return ClassificationScheme(
                    name: name.rawValue,
                    description: "Individuals' age band (years); institution for institutions, undisclosed without a birth date",
                    dimension: "age_years", classes: ["institution", "undisclosed"] + Classifier.ageGroups, ordered: Classifier.ageGroups,
                    thresholds: texts(c.ageGroupThresholds)
                )
            }
        }
    }
}
