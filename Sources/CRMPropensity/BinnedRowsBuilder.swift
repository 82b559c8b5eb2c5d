/// Collects training rows as one-byte codes as they are made, so the float table never exists.
///
/// The codes need edges, and the edges need a sample of rows. The builder keeps the first rows as
/// floats until the caller says the sample is complete (``learnEdges()``, or
/// ``learnEdgesIfSampleFull()`` at a natural boundary such as the end of a month of rows), learns
/// the edges from them exactly as training from floats would (the same seeded sample of
/// `binningSampleRows`), codes them, and from then on codes every row as it arrives. So the floats
/// held are at most the sample's rows plus one batch; a table smaller than the sample is coded at
/// ``finish()`` with the edges of all its rows, which is exactly what training from floats does.
///
/// Codes accumulate row-major in chunks of ``chunkRows`` rows (each a ``PageBuffer`` of its full
/// size, so growth never doubles an array), and ``finish()`` moves them chunk by chunk into the
/// column-major ``BinnedMatrix`` the fitting reads, unmapping each chunk as soon as it is copied
/// while the matrix's pages are written only as the copy reaches them: the peak is the codes plus
/// one chunk. (With a matrix zero-filled before the copy it was twice the codes, see ``PageBuffer``.)
///
/// A value type like the arrays it replaced: full chunks are never written again, so copies share
/// them, and the chunk being filled is copied before a write when another builder shares it.
public struct BinnedRowsBuilder: Sendable {
    public let columnNames: [String]
    private let configuration: GradientBoostedTrees.Configuration
    /// Rows waiting for edges, row-major floats.
    private var pending: [Float] = []
    private var pendingRows = 0
    public private(set) var edges: FeatureBins?
    private var tables: [CodeTable] = []
    /// Full chunks of row-major codes, then the chunk being filled and the bytes written to it.
    private var chunks: [PageBuffer] = []
    private var current: PageBuffer?
    private var currentBytes = 0
    private var codedRows = 0

    /// Rows per chunk of codes: 6 MB at 91 features, small beside the codes, large enough that the
    /// chunks' list stays short.
    static let chunkRows = 65_536

    /// A builder that learns its edges from its own first rows with `configuration`'s binning
    /// settings (`maxBins`, `binningSampleRows`, `seed`, `workers`).
    public init(columnNames: [String], configuration: GradientBoostedTrees.Configuration) throws(PropensityError) {
        try configuration.validate()
        // The float matrix checks the names (non-empty, distinct) for the builder.
        _ = try FeatureMatrix(columnNames: columnNames)
        self.columnNames = columnNames
        self.configuration = configuration
    }

    /// Rows appended so far, coded or pending.
    public var rowCount: Int { codedRows + pendingRows }

    /// Rows held as floats until the edges are known.
    public var pendingRowCount: Int { pendingRows }

    /// The bytes the builder holds now (the pending floats and the codes' chunks), for logging
    /// and for tests of what the builder promises to keep.
    public var heldBytes: Int {
        pending.capacity * MemoryLayout<Float>.stride + chunks.reduce(0) { $0 + $1.count } + (current?.count ?? 0)
    }

    /// The chunks of codes held now, full ones first (for tests of when they are released).
    var chunkBuffers: [PageBuffer] { chunks + (current.map { [$0] } ?? []) }

    public mutating func append(row: some Collection<Float>) throws(PropensityError) {
        guard row.count == columnNames.count else {
            throw PropensityError(.invalidInput, "a row of \(row.count) values for \(columnNames.count) columns")
        }
        guard edges != nil else {
            pending.append(contentsOf: row)
            pendingRows += 1
            return
        }
        if let written: Void = row.withContiguousStorageIfAvailable({ appendCodes($0) }) {
            return written
        }
        Array(row).withUnsafeBufferPointer { appendCodes($0) }
    }

    /// Learns the edges once the pending rows fill the binning sample (`binningSampleRows`); call
    /// it where a batch of rows ends, so the sample spans whole batches rather than a prefix of one.
    public mutating func learnEdgesIfSampleFull() {
        if edges == nil && pendingRows >= configuration.binningSampleRows { learnEdges() }
    }

    /// Learns the edges from the pending rows now and codes them.
    public mutating func learnEdges() {
        guard edges == nil else { return }
        // A matrix over the pending floats shares their storage; names and row lengths were checked.
        guard let matrix = try? FeatureMatrix(columnNames: columnNames, values: pending) else { return }
        adoptPending(FeatureBins.learn(from: matrix, configuration: configuration))
    }

    /// Takes edges learned elsewhere (a validation set's from its training set) and codes the
    /// pending rows with them.
    public mutating func adopt(_ edges: FeatureBins) throws(PropensityError) {
        guard edges.featureCount == columnNames.count else {
            throw PropensityError(.invalidInput, "edges for \(edges.featureCount) features, rows of \(columnNames.count)")
        }
        if let current = self.edges {
            guard current == edges else { throw PropensityError(.invalidInput, "the rows were already coded with other edges") }
            return
        }
        adoptPending(edges)
    }

    /// The coded rows; learns the edges first if they are still pending. Leaves the builder empty.
    public mutating func finish() -> BinnedMatrix {
        if edges == nil { learnEdges() }
        let edges = self.edges ?? FeatureBins(cuts: Array(repeating: [], count: columnNames.count))
        let rows = codedRows
        let columns = columnNames.count
        // Every chunk but the last holds `chunkRows` rows; each is released as soon as it is copied.
        let chunkRows = Self.chunkRows
        var parts: [PageBuffer?] = chunks
        if let current, currentBytes > 0 { parts.append(current) }
        chunks = []
        current = nil
        currentBytes = 0
        let storage = CodeStorage(count: rows * columns) { codes in
            guard let out = codes.baseAddress else { return }
            var first = 0
            for index in parts.indices {
                guard let chunk = parts[index] else { continue }
                parts[index] = nil
                let count = min(chunkRows, rows - first)
                let input = chunk.base
                // Blocks of 128 rows stay in cache while each feature's codes are copied out.
                for blockStart in stride(from: 0, to: count, by: 128) {
                    let blockEnd = min(blockStart + 128, count)
                    for feature in 0..<columns {
                        let column = out + feature * rows + first
                        for row in blockStart..<blockEnd { column[row] = input[row * columns + feature] }
                    }
                }
                first += count
            }
        }
        codedRows = 0
        return BinnedMatrix(columnNames: columnNames, edges: edges, rowCount: rows, storage: storage)
    }

    private mutating func adoptPending(_ edges: FeatureBins) {
        self.edges = edges
        tables = edges.cuts.map(CodeTable.init)
        let columns = columnNames.count
        let floats = pending
        pending = []
        floats.withUnsafeBufferPointer { values in
            for row in 0..<pendingRows {
                appendCodes(UnsafeBufferPointer(rebasing: values[row * columns..<(row + 1) * columns]))
            }
        }
        pendingRows = 0
    }

    /// Codes one row into the chunk being filled. The row comes as a buffer: called once per row of a
    /// training (millions), it must not go through a generic collection's witness calls per value,
    /// which cost a third of the rows' stage (BENCHMARKS.md › "The training's codes held once").
    private mutating func appendCodes(_ row: UnsafeBufferPointer<Float>) {
        let chunkBytes = Self.chunkRows * columnNames.count
        if current == nil {
            current = PageBuffer(count: chunkBytes)
            currentBytes = 0
        } else if !isKnownUniquelyReferenced(&current), let shared = current {
            // A copy of this builder holds the chunk too: write to a chunk of our own.
            let own = PageBuffer(count: chunkBytes)
            own.base.update(from: shared.base, count: currentBytes)
            current = own
        }
        guard let chunk = current else { return }
        let out = chunk.base + currentBytes
        tables.withUnsafeBufferPointer { tables in
            for feature in 0..<row.count { out[feature] = tables[feature].code(row[feature]) }
        }
        currentBytes += row.count
        codedRows += 1
        if currentBytes == chunkBytes {
            chunks.append(chunk)
            current = nil
            currentBytes = 0
        }
    }
}
