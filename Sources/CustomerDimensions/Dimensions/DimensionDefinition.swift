import CRMRules

/// What a dimension's value is, mirroring crm.profiles.v1.DimensionType.
public enum DimensionType: String, Sendable, Hashable, Codable, CaseIterable {
    /// A real number (may be negative when its definition says so).
    case number
    /// Minor units (fen), exact: computed as `Int64` and exposed as a `Double`, exact below 2^53.
    case money
    /// A whole number.
    case count
    /// A fraction, 0…1 unless its definition says otherwise.
    case ratio
    /// A number of days.
    case days
    /// Text from a known set.
    case category

    /// True for every type except ``category``: the value lives in ``DimensionValues/numbers``.
    public var isNumeric: Bool { self != .category }
}

/// The area of the customer a dimension describes, as the proto's `group` field spells it.
public enum DimensionGroup: String, Sendable, Hashable, Codable, CaseIterable {
    case basic, assets, holdings, trading, flows, products, margin, service, contribution
}

/// One named dimension of the catalog: what it is, and where its value sits in ``DimensionValues``.
///
/// Two definitions are equal when their descriptive fields are; the computation is not compared.
public struct DimensionDefinition: Sendable, Hashable, CustomStringConvertible {
    /// snake_case, unique in the catalog, e.g. `avg_assets_90d`.
    public let name: String
    public let type: DimensionType
    /// fen, days, trades, ratio, …
    public let unit: String
    public let group: DimensionGroup
    /// One line for people.
    public let definition: String
    /// The place of the value: in ``DimensionValues/numbers`` for numeric types, in
    /// ``DimensionValues/categories`` for ``DimensionType/category``.
    public let slot: Int
    /// The values a category dimension can take, when the set is closed; nil for open sets (sectors).
    public let categoryValues: [String]?

    let evaluate: Evaluator

    enum Evaluator: Sendable {
        case number(@Sendable (DimensionInputs) -> Double)
        case category(@Sendable (DimensionInputs) -> String)
    }

    init(name: String, type: DimensionType, unit: String, group: DimensionGroup, definition: String, slot: Int,
         categoryValues: [String]?, evaluate: Evaluator) {
        self.name = name
        self.type = type
        self.unit = unit
        self.group = group
        self.definition = definition
        self.slot = slot
        self.categoryValues = categoryValues
        self.evaluate = evaluate
    }

    /// The field type under which the rule language sees this dimension.
    public var ruleType: FieldType {
        switch type {
        case .category: return categoryValues.map { .categories(Set($0)) } ?? .anyCategory
        default: return .number
        }
    }

    public var description: String { name }

    public static func == (lhs: DimensionDefinition, rhs: DimensionDefinition) -> Bool {
        lhs.name == rhs.name && lhs.type == rhs.type && lhs.unit == rhs.unit && lhs.group == rhs.group
            && lhs.definition == rhs.definition && lhs.slot == rhs.slot && lhs.categoryValues == rhs.categoryValues
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
    }
}

/// The trailing windows of the window dimensions: the window of N days ends at the business date
/// `asOf` and starts at `asOf − N + 1`, so an event exactly N days before `asOf` is outside it.
public enum DimensionWindow: Int, Sendable, CaseIterable {
    case d7, d30, d90, d180, d365

    /// The window's length in days.
    public var days: Int64 {
        switch self {
        case .d7: return 7
        case .d30: return 30
        case .d90: return 90
        case .d180: return 180
        case .d365: return 365
        }
    }

    /// The name suffix, e.g. `_90d`.
    public var suffix: String { "_\(days)d" }

    /// The longest window: the ledger must keep at least this many days.
    public static let longest: DimensionWindow = .d365
}
