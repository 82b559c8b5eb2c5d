/// One customer's values, as a compiled rule reads them.
///
/// A compiled rule asks only for the fields it reads, each with the accessor of the field's type in
/// the schema, and passes the ``RuleField`` (place in the schema and name): an implementation over an
/// array aligned with the schema answers `values[field.index]` and never hashes a name. Return nil
/// when the customer has no value for the field (a `Double.nan` number counts as missing too); every
/// comparison on a missing value is false.
public protocol RuleRecord {
    /// The value of a ``FieldType/number`` field.
    func number(_ field: RuleField) -> Double?
    /// The value of a ``FieldType/category(values:ordered:)`` field.
    func category(_ field: RuleField) -> String?
    /// The value of a ``FieldType/boolean`` field.
    func boolean(_ field: RuleField) -> Bool?
}

/// A record keyed by field name, for tests and small uses (each read hashes the name).
///
/// A value of the wrong kind for the field's type (a string for a number field) reads as missing.
public struct DictionaryRecord: RuleRecord, Sendable, Hashable, ExpressibleByDictionaryLiteral {
    public var values: [String: RuleValue]

    public init(_ values: [String: RuleValue]) {
        self.values = values
    }

    public init(dictionaryLiteral elements: (String, RuleValue)...) {
        self.values = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    public func number(_ field: RuleField) -> Double? {
        if case .number(let value)? = values[field.name] { return value }
        return nil
    }

    public func category(_ field: RuleField) -> String? {
        if case .string(let value)? = values[field.name] { return value }
        return nil
    }

    public func boolean(_ field: RuleField) -> Bool? {
        if case .boolean(let value)? = values[field.name] { return value }
        return nil
    }
}
