/// Rows as the fitting's one-byte bin codes, column-major, with the edges that made them.
///
/// Why it exists: a training table of millions of rows held as 4-byte floats was most of a
/// replica's memory while it trained (1.1 GB for 2.8 M rows of 91 features), yet fitting only ever
/// asks whether a row's code is at most a bin. The codes are a quarter of the floats' bytes, and a
/// caller that writes each row's codes as it makes the row (``BinnedRowsBuilder``) never holds the
/// floats at all. Because `code <= b` and `value <= cuts[b]` agree exactly (see `FeatureBins`), a
/// model trained on these codes scores the rows' floats exactly as training scored their codes.
///
/// Column-major (feature f's codes at `f * rowCount ..< (f + 1) * rowCount`): a histogram pass over
/// one feature reads one contiguous run, as `TreeGrower` wants.
public struct BinnedMatrix: Sendable {
    public let columnNames: [String]
    public let rowCount: Int
    /// The edges every code was made with; a validation matrix must share its training matrix's.
    public let edges: FeatureBins
    let storage: CodeStorage

    public var columnCount: Int { columnNames.count }

    /// The bytes the codes take: one per row and feature, what a memory budget counts.
    public var codeBytes: Int { storage.count }

    init(columnNames: [String], edges: FeatureBins, rowCount: Int, storage: CodeStorage) {
        self.columnNames = columnNames
        self.edges = edges
        self.rowCount = rowCount
        self.storage = storage
    }

    /// Codes a float matrix with `edges` (what training from floats does before its first tree).
    public init(encoding matrix: FeatureMatrix, edges: FeatureBins, workers: Int = 1) throws(PropensityError) {
        guard edges.featureCount == matrix.columnCount else {
            throw PropensityError(.invalidInput, "edges for \(edges.featureCount) features, a matrix of \(matrix.columnCount) columns")
        }
        let storage = CodeStorage(count: matrix.rowCount * matrix.columnCount) { codes in
            edges.encode(matrix, into: codes, workers: workers)
        }
        self.init(columnNames: matrix.columnNames, edges: edges, rowCount: matrix.rowCount, storage: storage)
    }

    /// A code; traps on out-of-range indices, as an array subscript does.
    public func code(row: Int, column: Int) -> UInt8 {
        precondition(row >= 0 && row < rowCount, "row \(row) out of 0..<\(rowCount)")
        precondition(column >= 0 && column < columnCount, "column \(column) out of 0..<\(columnCount)")
        return storage.base[column * rowCount + row]
    }

    /// The start of a feature's run of codes, for the fitting's inner loops.
    func column(_ feature: Int) -> UnsafePointer<UInt8> {
        UnsafePointer(storage.base + feature * rowCount)
    }
}

/// The codes' memory, written once while a ``BinnedMatrix`` is made and only read after.
///
/// A class with a raw buffer rather than a `[UInt8]`: `TreeGrower` and its walks keep pointers into
/// the codes for a whole training, which an array only lends inside a closure; and the matrix is
/// shared, never copied, between the caller and the fitting. The bytes are a ``PageBuffer``: zero
/// until written and not zero-filled first, so a matrix being filled costs only the pages written so
/// far (``BinnedRowsBuilder/finish()`` frees each chunk of row-major codes as it writes its part).
/// `@unchecked Sendable` is sound because nothing writes the buffer after `init` returns.
final class CodeStorage: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt8>
    let count: Int
    let buffer: PageBuffer

    /// `fill` writes the codes; a byte it leaves alone reads 0.
    init(count: Int, fill: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        buffer = PageBuffer(count: count)
        base = buffer.base
        self.count = count
        fill(UnsafeMutableBufferPointer(start: base, count: count))
    }
}
