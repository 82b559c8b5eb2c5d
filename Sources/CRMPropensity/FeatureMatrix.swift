/// A dense table of Float features, one row per customer; NaN means "missing".
///
/// Storage is **row-major**: a row's features are contiguous. Scoring, the hot path of a service
/// that ranks a million customers, walks every tree for one row at a time and touches a handful of
/// scattered features per tree; with the row in one or two cache lines and all trees (a few hundred
/// kilobytes) in cache, the scorer streams through memory once. Training wants the opposite
/// (column-major) order, but it bins the matrix into column-major UInt8 codes once, before the first
/// tree, so the Float layout only costs that single blocked transposition.
public struct FeatureMatrix: Sendable, Equatable {
    public private(set) var rowCount: Int
    public let columnNames: [String]
    /// Row-major values: row `r`, column `c` is at `r * columnCount + c`.
    public private(set) var values: [Float]

    public var columnCount: Int { columnNames.count }

    /// An empty matrix to be filled with `append(row:)`.
    public init(columnNames: [String]) throws(PropensityError) {
        try Self.validate(columnNames: columnNames)
        self.columnNames = columnNames
        rowCount = 0
        values = []
    }

    /// A matrix over row-major `values`, whose count must be a multiple of the column count.
    public init(columnNames: [String], values: [Float]) throws(PropensityError) {
        try Self.validate(columnNames: columnNames)
        guard values.count % columnNames.count == 0 else {
            throw PropensityError(.invalidInput, "\(values.count) values do not fill rows of \(columnNames.count) columns")
        }
        self.columnNames = columnNames
        self.values = values
        rowCount = values.count / columnNames.count
    }

    /// A matrix from rows that must each have one value per column.
    public init(columnNames: [String], rows: [[Float]]) throws(PropensityError) {
        try self.init(columnNames: columnNames)
        values.reserveCapacity(rows.count * columnNames.count)
        for row in rows { try append(row: row) }
    }

    private static func validate(columnNames: [String]) throws(PropensityError) {
        guard !columnNames.isEmpty else {
            throw PropensityError(.invalidInput, "a feature matrix needs at least one column")
        }
        guard Set(columnNames).count == columnNames.count else {
            throw PropensityError(.invalidInput, "column names must be distinct")
        }
    }

    public mutating func reserveCapacity(rows: Int) {
        values.reserveCapacity(rows * columnCount)
    }

    public mutating func append(row: some Collection<Float>) throws(PropensityError) {
        guard row.count == columnCount else {
            throw PropensityError(.invalidInput, "a row of \(row.count) values for \(columnCount) columns")
        }
        values.append(contentsOf: row)
        rowCount += 1
    }

    /// One row's values without copying them (the slice shares the matrix's storage).
    /// Traps on an out-of-range row, as an array subscript does.
    public func row(_ index: Int) -> ArraySlice<Float> {
        precondition(index >= 0 && index < rowCount, "row \(index) out of 0..<\(rowCount)")
        let start = index * columnCount
        return values[start..<start + columnCount]
    }

    /// A value; traps on out-of-range indices, as an array subscript does.
    public subscript(row: Int, column: Int) -> Float {
        get {
            precondition(column >= 0 && column < columnCount, "column \(column) out of 0..<\(columnCount)")
            return values[row * columnCount + column]
        }
        set {
            precondition(column >= 0 && column < columnCount, "column \(column) out of 0..<\(columnCount)")
            values[row * columnCount + column] = newValue
        }
    }

    /// A column's values, copied (a strided read over the row-major storage).
    public func column(_ index: Int) -> [Float] {
        precondition(index >= 0 && index < columnCount, "column \(index) out of 0..<\(columnCount)")
        return (0..<rowCount).map { values[$0 * columnCount + index] }
    }
}
