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
        let values = dimensions.numberValues
        for (index, position) in dimensions.numberPositions.enumerated() where index < values.count {
            visit(Int(position), values[index])
        }
        for (name, value) in dimensions.numbers {
            if let position = positionByName[name] { visit(position, value) }
        }
    }

    /// The category values a message carries: `(position, value)`, empty meaning "now missing".
    func categoryEntries(of dimensions: Crm_Profiles_V1_CustomerDimensions, _ visit: (Int, String) -> Void) {
        let values = dimensions.categoryValues
        for (index, position) in dimensions.categoryPositions.enumerated() where index < values.count {
            visit(Int(position), values[index])
        }
        for (name, value) in dimensions.categories {
            if let position = positionByName[name] { visit(position, value) }
        }
    }

    /// The classes a message carries: `(scheme position, class)`.
    func classEntries(of dimensions: Crm_Profiles_V1_CustomerDimensions, _ visit: (Int, String) -> Void) {
        let values = dimensions.classValues
        for (index, position) in dimensions.classPositions.enumerated() where index < values.count {
            visit(Int(position), values[index])
        }
        for (name, value) in dimensions.classes {
            if let position = schemeByName[name] { visit(position, value) }
        }
    }
}
