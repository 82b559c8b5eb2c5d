/// The fields a customer has, in a fixed order, and the type of each.
///
/// A field's place in the schema is its ``RuleField/index``: records and columns are addressed by it,
/// so a compiled rule never looks a field up by name while it evaluates. Adding a field that already
/// exists replaces its type and keeps its place.
///
/// ```swift
/// let schema: RuleSchema = [
///     "age": .number,
///     "asset_tier": .ordered(["bronze", "silver", "gold", "platinum", "diamond"]),
///     "status": .category(values: ["active", "frozen", "closed"], ordered: nil),
///     "province": .anyCategory,
///     "is_vip": .boolean,
/// ]
/// ```
public struct RuleSchema: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// The fields in order; `fields[i].index == i`.
    public private(set) var fields: [RuleField] = []
    private var types: [FieldType] = []
    private var indexByName: [String: Int] = [:]

    public init() {}

    public init(_ fields: [(name: String, type: FieldType)]) {
        for field in fields { add(field.name, field.type) }
    }

    public init(dictionaryLiteral elements: (String, FieldType)...) {
        for (name, type) in elements { add(name, type) }
    }

    /// Adds a field at the end, or replaces the type of an existing one in place.
    public mutating func add(_ name: String, _ type: FieldType) {
        if let index = indexByName[name] {
            types[index] = type
        } else {
            indexByName[name] = fields.count
            fields.append(RuleField(index: fields.count, name: name))
            types.append(type)
        }
    }

    /// The type of the field with this name, or nil when the schema has no such field.
    public subscript(name: String) -> FieldType? {
        indexByName[name].map { types[$0] }
    }

    /// The field with this name (names are case-sensitive), or nil.
    public func field(named name: String) -> RuleField? {
        indexByName[name].map { fields[$0] }
    }

    /// The type of a field of this schema.
    public func type(of field: RuleField) -> FieldType {
        types[field.index]
    }

    public static func == (lhs: RuleSchema, rhs: RuleSchema) -> Bool {
        lhs.fields == rhs.fields && lhs.types == rhs.types
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields)
        hasher.combine(types)
    }
}

/// A field of a ``RuleSchema``: its place in the schema and its name.
///
/// Records implementing ``RuleRecord`` read `index` (an array subscript) when they can, and `name`
/// when they are keyed by name, as ``DictionaryRecord`` is.
public struct RuleField: Sendable, Hashable, CustomStringConvertible {
    /// The field's place in its schema, from 0.
    public let index: Int
    public let name: String

    init(index: Int, name: String) {
        self.index = index
        self.name = name
    }

    public var description: String { name }
}

/// What a field holds, which decides the comparisons a rule may make on it.
public enum FieldType: Sendable, Hashable {
    /// Numbers (a `Double`): every comparison.
    case number
    /// true or false: `=`, `!=`, `in`, `not in`.
    case boolean
    /// Strings from a set of categories (a dimension value, a class in a class scheme).
    ///
    /// - `values`: the categories that exist, when known; a rule comparing with any other value is
    ///   refused. Nil (with `ordered` nil) means any string may occur.
    /// - `ordered`: the categories from lowest to highest, when they have an order (risk tolerance
    ///   C1 < C2 < … < C5); only then are `<`, `<=`, `>`, `>=` and `between` allowed, and they compare
    ///   by place in this list. Its values are known values too.
    ///
    /// Without either list, `=`, `!=`, `in` and `not in` accept any string.
    case category(values: Set<String>?, ordered: [String]?)

    /// Categories with no known list: any string may occur; no ordering comparisons.
    public static var anyCategory: FieldType { .category(values: nil, ordered: nil) }

    /// Unordered categories from a known list.
    public static func categories(_ values: Set<String>) -> FieldType { .category(values: values, ordered: nil) }

    /// Categories from a known list, lowest first, which ordering comparisons compare by place.
    public static func ordered(_ values: [String]) -> FieldType { .category(values: nil, ordered: values) }

    /// The categories a rule may name, or nil when any string is allowed (or the field is not categorical).
    public var knownValues: Set<String>? {
        guard case .category(let values, let ordered) = self else { return nil }
        switch (values, ordered) {
        case (nil, nil): return nil
        case (let values?, nil): return values
        case (nil, let ordered?): return Set(ordered)
        case (let values?, let ordered?): return values.union(ordered)
        }
    }
}
