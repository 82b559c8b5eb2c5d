/// A population of customers stored column by column, which ``CompiledRule/filter(columns:)`` and
/// ``CompiledRule/count(columns:)`` scan without touching one record at a time.
///
/// Each column holds `count` values for one field, by row:
/// - numbers: `[Double]`, `Double.nan` for missing;
/// - categories: `[Int32]` codes into a dictionary of the column's own (`dictionary[code]` is the
///   category); a negative code, or one past the dictionary, is missing. Codes need not follow the
///   schema's order; a rule translates its literals through the dictionary once per scan;
/// - booleans: `[Int8]`, 0 false, 1 true, anything else missing.
///
/// Supply a column for each field in ``Rule/fields``; a field with no column reads as missing for
/// every row. A column of the wrong kind for the field's type stops the program (a precondition),
/// as does a column whose length is not `count`.
public struct RuleColumns: Sendable {
    /// The number of rows.
    public let count: Int
    private(set) var columns: [String: Column] = [:]

    enum Column: Sendable {
        case numbers([Double])
        case categories(codes: [Int32], dictionary: [String])
        case booleans([Int8])
    }

    public init(count: Int) {
        precondition(count >= 0 && count <= Int(Int32.max), "RuleColumns: row count out of range")
        self.count = count
    }

    /// Sets the column of a number field; `Double.nan` is missing.
    public mutating func setNumbers(_ values: [Double], for field: String) {
        precondition(values.count == count, "RuleColumns: column '\(field)' has \(values.count) rows, not \(count)")
        columns[field] = .numbers(values)
    }

    /// Sets the column of a categorical field as codes into `dictionary`.
    public mutating func setCategories(codes: [Int32], dictionary: [String], for field: String) {
        precondition(codes.count == count, "RuleColumns: column '\(field)' has \(codes.count) rows, not \(count)")
        columns[field] = .categories(codes: codes, dictionary: dictionary)
    }

    /// Sets the column of a boolean field: 0 false, 1 true, anything else missing.
    public mutating func setBooleans(_ values: [Int8], for field: String) {
        precondition(values.count == count, "RuleColumns: column '\(field)' has \(values.count) rows, not \(count)")
        columns[field] = .booleans(values)
    }
}
