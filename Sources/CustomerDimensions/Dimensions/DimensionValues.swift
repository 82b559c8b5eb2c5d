/// One customer's dimension values for one business date, dense and aligned with the catalog:
/// `numbers[d.slot]` for numeric definitions `d` of ``DimensionCatalog/numeric``, `categories[d.slot]`
/// for ``DimensionCatalog/categorical``.
///
/// A number that cannot be known (the age of a customer without a birth date, the days since the
/// last trade of one who never traded) is `Double.nan`, which the rule language reads as missing.
/// Equality compares numbers bit for bit, so two NaNs in the same place are equal.
public struct DimensionValues: Sendable, Hashable {
    /// The business date the window dimensions were computed for.
    public let asOf: DayNumber
    public internal(set) var numbers: [Double]
    public internal(set) var categories: [String]

    init(asOf: DayNumber, numbers: [Double], categories: [String]) {
        self.asOf = asOf
        self.numbers = numbers
        self.categories = categories
    }

    /// The value of a numeric dimension, or nil when the name is not a numeric dimension or the
    /// value is missing (NaN).
    public func number(_ name: String) -> Double? {
        guard let definition = DimensionCatalog.definition(named: name), definition.type.isNumeric else { return nil }
        return number(definition)
    }

    /// The value of a numeric dimension, or nil when missing (NaN) or the definition is categorical.
    public func number(_ definition: DimensionDefinition) -> Double? {
        guard definition.type.isNumeric, definition.slot < numbers.count else { return nil }
        let value = numbers[definition.slot]
        return value.isNaN ? nil : value
    }

    /// The value of a category dimension, or nil when the name is not a category dimension.
    public func category(_ name: String) -> String? {
        guard let definition = DimensionCatalog.definition(named: name) else { return nil }
        return category(definition)
    }

    public func category(_ definition: DimensionDefinition) -> String? {
        guard definition.type == .category, definition.slot < categories.count else { return nil }
        return categories[definition.slot]
    }

    /// The numbers by name, for the wire's `numbers` map; missing values (NaN) are left out.
    public var numbersByName: [String: Double] {
        var result: [String: Double] = [:]
        result.reserveCapacity(numbers.count)
        for definition in DimensionCatalog.numeric where definition.slot < numbers.count {
            let value = numbers[definition.slot]
            if !value.isNaN { result[definition.name] = value }
        }
        return result
    }

    /// The categories by name, for the wire's `categories` map.
    public var categoriesByName: [String: String] {
        var result: [String: String] = [:]
        for definition in DimensionCatalog.categorical where definition.slot < categories.count {
            result[definition.name] = categories[definition.slot]
        }
        return result
    }

    public static func == (lhs: DimensionValues, rhs: DimensionValues) -> Bool {
        lhs.asOf == rhs.asOf && lhs.categories == rhs.categories
            && lhs.numbers.count == rhs.numbers.count
            && zip(lhs.numbers, rhs.numbers).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(asOf)
        hasher.combine(categories)
        for number in numbers { hasher.combine(number.bitPattern) }
    }

    /// The names whose values differ between two value sets (NaN equal to NaN), for mismatch reports.
    public func differences(from other: DimensionValues) -> [String] {
        var names: [String] = []
        for definition in DimensionCatalog.numeric
        where definition.slot < numbers.count && definition.slot < other.numbers.count
            && numbers[definition.slot].bitPattern != other.numbers[definition.slot].bitPattern {
            names.append(definition.name)
        }
        for definition in DimensionCatalog.categorical
        where definition.slot < categories.count && definition.slot < other.categories.count
            && categories[definition.slot] != other.categories[definition.slot] {
            names.append(definition.name)
        }
        return names
    }
}
