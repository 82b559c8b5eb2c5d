import CRMProtos

/// Profiles' data dictionary as positions: the feed and the snapshot send dimensions by their index
/// in `ListDimensions` and classes by their scheme's index in `ListClassificationSchemes`; older
/// feed entries send name-keyed maps. This maps both forms to one numbering, so the copy stores and
/// merges values by position and the index finds a column by array lookup rather than hashing
/// some 260 names per change.
struct DimensionPositions: Sendable {
    /// Every dimension's name, in the dictionary's order.
    private(set) var names: [String] = []
    /// Whether the dimension at each position is numeric.
    private(set) var isNumeric: [Bool] = []
    /// The classification schemes' names, in their listed order.
    private(set) var schemes: [String] = []
    private var positionByName: [String: Int] = [:]
    private var schemeByName: [String: Int] = [:]

    init() {}

    init(_ dimensions: [Crm_Profiles_V1_DimensionDefinition], schemes: [String] = []) {
        names = dimensions.map(\.name)
        isNumeric = dimensions.map { $0.type != .category }
        positionByName = Dictionary(dimensions.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.schemes = schemes
        schemeByName = Dictionary(schemes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    var count: Int { names.count }

    /// Whether a message refers to a dimension or scheme past this dictionary: it grew, and must be
    /// read again before the message is applied.
    func isOutdated(for dimensions: Crm_Profiles_V1_CustomerDimensions) -> Bool {
        (dimensions.numberPositions.max().map(Int.init) ?? -1) >= names.count
            || (dimensions.categoryPositions.max().map(Int.init) ?? -1) >= names.count
            || (dimensions.classPositions.max().map(Int.init) ?? -1) >= schemes.count
    }

    /// The numeric values a message carries, whichever form it uses: `(position, value)`, NaN
    /// meaning "now missing". Names the dictionary does not know are skipped.
    func numericEntries(of dimensions: Crm_Profiles_V1_CustomerDimensions, _ visit: (Int, Double) -> Void) {
        Self.entries(dimensions.numberPositions, dimensions.numberValues, dimensions.numbers, positionByName, visit)
    }

    /// The category values a message carries: `(position, value)`, empty meaning "now missing".
    func categoryEntries(of dimensions: Crm_Profiles_V1_CustomerDimensions, _ visit: (Int, String) -> Void) {
        Self.entries(dimensions.categoryPositions, dimensions.categoryValues, dimensions.categories, positionByName, visit)
    }

    /// The classes a message carries: `(scheme position, class)`.
    func classEntries(of dimensions: Crm_Profiles_V1_CustomerDimensions, _ visit: (Int, String) -> Void) {
        Self.entries(dimensions.classPositions, dimensions.classValues, dimensions.classes, schemeByName, visit)
    }

    /// The positional pairs, then the name-keyed ones whose name has a position.
    private static func entries<Value>(_ positions: [UInt32], _ values: [Value], _ named: [String: Value], _ positionOf: [String: Int],
                                       _ visit: (Int, Value) -> Void) {
        pairs(positions, values, visit)
        for (name, value) in named {
            if let position = positionOf[name] { visit(position, value) }
        }
    }

    /// One positional form's `(position, value)` pairs (`number_positions` with `number_values`,
    /// and so on); positions without a value are ignored.
    static func pairs<Value>(_ positions: [UInt32], _ values: [Value], _ visit: (Int, Value) -> Void) {
        for (index, position) in positions.enumerated() where index < values.count {
            visit(Int(position), values[index])
        }
    }
}
