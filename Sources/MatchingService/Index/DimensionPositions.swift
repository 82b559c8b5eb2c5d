import CRMProtos

/// Profiles' data dictionary as positions: the feed and the snapshot send numeric dimensions by
/// their index in `ListDimensions` (`number_positions`), older feed entries by name. This maps
/// both to one numbering, so the copy stores and merges values by position and the index finds a
/// column by array lookup rather than hashing 238 names per change.
struct DimensionPositions: Sendable {
    /// Every dimension's name, in the dictionary's order.
    private(set) var names: [String] = []
    /// Whether the dimension at each position is numeric (the positional form carries only those).
    private(set) var isNumeric: [Bool] = []
    private var positionByName: [String: Int] = [:]

    init() {}

    init(_ dimensions: [Crm_Profiles_V1_DimensionDefinition]) {
        names = dimensions.map(\.name)
        isNumeric = dimensions.map { $0.type != .category }
        positionByName = Dictionary(dimensions.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    var count: Int { names.count }

    func position(of name: String) -> Int? { positionByName[name] }

    /// The highest position a message refers to, or -1: a position past ``count`` means the
    /// dictionary grew and must be read again before the message is applied.
    static func highestPosition(in dimensions: Crm_Profiles_V1_CustomerDimensions) -> Int {
        dimensions.numberPositions.max().map(Int.init) ?? -1
    }

    /// The numeric values a message carries, by position, whichever form it uses: `(position,
    /// value)` pairs, NaN meaning "now missing". Names the dictionary does not know are skipped.
    func numericEntries(of dimensions: Crm_Profiles_V1_CustomerDimensions, _ visit: (Int, Double) -> Void) {
        let values = dimensions.numberValues
        for (index, position) in dimensions.numberPositions.enumerated() where index < values.count {
            visit(Int(position), values[index])
        }
        for (name, value) in dimensions.numbers {
            if let position = positionByName[name] { visit(position, value) }
        }
    }
}
