/// Per-feature quantile cut points learned from training data, and the UInt8 codes they give.
///
/// Training never compares Floats: it bins every column once into at most `maxBins` value codes
/// plus one code for "missing", and every split is "code <= b". A split on bin `b` becomes the
/// model threshold `cuts[b]` with the rule `value <= threshold`, and a value's code is the index of
/// the first cut >= value, so `code <= b` and `value <= cuts[b]` agree exactly: the Float model
/// routes every training row the way training did.
///
/// Public so a caller can code rows as it makes them (``BinnedRowsBuilder``) and code a validation
/// set with the training set's edges; only training learns them.
public struct FeatureBins: Sendable, Equatable {
    /// Ascending cut points per feature; value code k holds (cuts[k-1], cuts[k]], the last code
    /// (cuts.count) everything above the last cut.
    public let cuts: [[Float]]

    public var featureCount: Int { cuts.count }

    /// The random stream the binning sample is drawn from (see `BoostingSession`'s streams), so a
    /// builder that learns the edges itself draws the very sample training from floats would.
    static let samplingStream: UInt64 = 1

    /// Learns the edges from the rows `configuration` says: all of them up to
    /// `binningSampleRows`, else a seeded sample of that many. The one place both training from
    /// floats and a ``BinnedRowsBuilder`` learn edges, so equal rows give equal edges.
    static func learn(from matrix: FeatureMatrix, configuration: GradientBoostedTrees.Configuration) -> FeatureBins {
        let rowCount = matrix.rowCount
        var binning = SeededGenerator(seed: configuration.seed, stream: samplingStream)
        let sampleRows = rowCount <= configuration.binningSampleRows
            ? Array(0..<rowCount) : binning.sample(configuration.binningSampleRows, of: rowCount)
        return learn(from: matrix, sampleRows: sampleRows, maxBins: configuration.maxBins, workers: configuration.workers)
    }

    /// The code reserved for NaN: right after the value codes.
    func missingCode(_ feature: Int) -> Int { cuts[feature].count + 1 }

    /// Histogram slots per feature: the value codes and the missing code.
    func slotCount(_ feature: Int) -> Int { cuts[feature].count + 2 }

    static func code(_ value: Float, cuts: [Float]) -> UInt8 {
        if value.isNaN { return UInt8(cuts.count + 1) }
        return cuts.withUnsafeBufferPointer { UInt8(truncatingIfNeeded: lowerBound($0, value)) }
    }

    /// The index of the first cut >= value (cuts.count if none): a binary search whose loop runs a
    /// fixed number of steps for a given cut count, so only the comparisons depend on the data.
    @inline(__always)
    static func lowerBound(_ cuts: UnsafeBufferPointer<Float>, _ value: Float) -> Int {
        var length = cuts.count
        guard length > 0 else { return 0 }
        var base = 0
        while length > 1 {
            let half = length >> 1
            base = cuts[base + half - 1] < value ? base + half : base
            length -= half
        }
        return cuts[base] < value ? base + 1 : base
    }

    /// Learns cut points from a row sample of the matrix.
    ///
    /// Features with at most `maxBins` distinct values get one code per value (cuts at midpoints, so
    /// unseen values in between go to the nearer side); others get equal-frequency bins whose cuts
    /// never split a run of equal values, so a feature that is 90% zeros keeps all zeros in one bin.
    static func learn(from matrix: FeatureMatrix, sampleRows: [Int], maxBins: Int, workers: Int) -> FeatureBins {
        let columns = matrix.columnCount
        // Copy the sample column by column in one pass over its rows (ascending, so the row-major
        // matrix is read front to back once), then sort and cut each column.
        var samples = [[Float]](repeating: [], count: columns)
        for feature in 0..<columns { samples[feature].reserveCapacity(sampleRows.count) }
        matrix.values.withUnsafeBufferPointer { values in
            for row in sampleRows {
                let base = row * columns
                for feature in 0..<columns {
                    let value = values[base + feature]
                    // + 0 turns -0.0 into +0.0, which the sort keys would otherwise tell apart.
                    if !value.isNaN { samples[feature].append(value + 0) }
                }
            }
        }
        var cuts = [[Float]](repeating: [], count: columns)
        cuts.withUnsafeMutableBufferPointer { cuts in
            samples.withUnsafeMutableBufferPointer { samples in
                Parallel.forEach(pieces: columns, workers: workers) { feature in
                    radixSort(&samples[feature])
                    cuts[feature] = cutPoints(sorted: samples[feature], maxBins: maxBins)
                }
            }
        }
        return FeatureBins(cuts: cuts)
    }

    /// Sorts non-NaN Floats ascending by an LSD radix sort on order-preserving integer keys: the
    /// binning sample is 60 columns of 200,000 values, where this is ~10x faster than comparisons.
    static func radixSort(_ values: inout [Float]) {
        let count = values.count
        guard count > 1 else { return }
        var keys = values.map { value -> UInt32 in
            let bits = value.bitPattern
            return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        }
        var buffer = [UInt32](repeating: 0, count: count)
        var histogram = [Int](repeating: 0, count: 256)
        for shift in stride(from: 0, to: 32, by: 8) {
            for index in 0..<256 { histogram[index] = 0 }
            for key in keys { histogram[Int((key >> UInt32(shift)) & 0xFF)] += 1 }
            if histogram.contains(count) { continue }  // every key has the same byte here
            var offset = 0
            for index in 0..<256 {
                let bucket = histogram[index]
                histogram[index] = offset
                offset += bucket
            }
            for key in keys {
                let digit = Int((key >> UInt32(shift)) & 0xFF)
                buffer[histogram[digit]] = key
                histogram[digit] += 1
            }
            swap(&keys, &buffer)
        }
        for index in 0..<count {
            let key = keys[index]
            values[index] = Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
        }
    }

    static func cutPoints(sorted values: [Float], maxBins: Int) -> [Float] {
        var distinct: [Float] = []
        var counts: [Int] = []
        for value in values {
            if let last = distinct.last, last == value {
                counts[counts.count - 1] += 1
            } else {
                distinct.append(value)
                counts.append(1)
            }
        }
        guard distinct.count > 1 else { return [] }
        var cuts: [Float] = []
        if distinct.count <= maxBins {
            for index in 0..<distinct.count - 1 {
                cuts.append(midpoint(distinct[index], distinct[index + 1]))
            }
            return cuts
        }
        let total = Double(values.count)
        var cumulative = 0
        var nextTarget = total / Double(maxBins)
        for index in 0..<distinct.count - 1 where cuts.count < maxBins - 1 {
            cumulative += counts[index]
            if Double(cumulative) >= nextTarget {
                cuts.append(midpoint(distinct[index], distinct[index + 1]))
                // A heavy value may cover several quantiles: aim at the next quantile above it.
                let reached = (Double(cumulative) / total * Double(maxBins)).rounded(.down)
                nextTarget = total * (reached + 1) / Double(maxBins)
            }
        }
        return cuts
    }

    /// A cut c with low <= c < high, so `value <= c` separates the two values.
    static func midpoint(_ low: Float, _ high: Float) -> Float {
        let mid = Float((Double(low) + Double(high)) / 2)
        return mid >= high || mid < low || mid.isNaN ? low : mid
    }

    /// Codes for every row, column-major (feature f's codes at f * rowCount ..< (f+1) * rowCount),
    /// so a histogram pass over one feature reads one contiguous array.
    ///
    /// Rows are processed in blocks that fit in cache: each block of the row-major matrix is read
    /// once per feature from cache instead of striding through all of memory once per feature.
    /// Codes come from `CodeTable`s rather than a binary search per value, whose mispredicted
    /// branches made binning the slowest step of training a few trees.
    /// `codes` must hold rowCount * columnCount entries.
    func encode(_ matrix: FeatureMatrix, into codes: UnsafeMutableBufferPointer<UInt8>, workers: Int) {
        let rows = matrix.rowCount
        let columns = matrix.columnCount
        let block = 128
        let blocks = (rows + block - 1) / block
        guard codes.count >= rows * columns, let out = codes.baseAddress else { return }
        let tables = cuts.map(CodeTable.init)
        matrix.values.withUnsafeBufferPointer { values in
            guard let input = values.baseAddress else { return }
            Parallel.forEach(pieces: blocks, workers: workers) { piece in
                let start = piece * block
                let end = min(start + block, rows)
                for feature in 0..<columns {
                    let column = out + feature * rows
                    tables[feature].withCode { code in
                        for row in start..<end {
                            column[row] = code(input[row * columns + feature])
                        }
                    }
                }
            }
        }
    }
}

/// A feature's codes looked up by the top 16 bits of a value's order-preserving bit pattern.
///
/// `below[b]` counts the cuts in buckets before b, so a value's code is `below[b]` plus the cuts
/// inside its own bucket that are below it; with 65,536 buckets (128 per power of two) a bucket
/// rarely holds a cut, and then the code is one load. The result is exactly `FeatureBins.code`.
struct CodeTable: Sendable {
    let cuts: [Float]
    let below: [UInt8]

    init(cuts: [Float]) {
        self.cuts = cuts
        var below = [UInt8](repeating: 0, count: (1 << 16) + 1)
        var passed = 0
        for bucket in 0...(1 << 16) {
            while passed < cuts.count && Int(Self.orderBits(cuts[passed]) >> 16) < bucket { passed += 1 }
            below[bucket] = UInt8(truncatingIfNeeded: passed)
        }
        self.below = below
    }

    /// An unsigned integer that orders like the (non-NaN) Float, with -0.0 and 0.0 equal.
    @inline(__always)
    static func orderBits(_ value: Float) -> UInt32 {
        let bits = (value + 0).bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    /// One value's code, exactly `FeatureBins.code`: for coding rows one at a time as they are
    /// made, where the block-wise `withCode` has no block to run over.
    @inline(__always)
    func code(_ value: Float) -> UInt8 {
        if value.isNaN { return UInt8(truncatingIfNeeded: cuts.count + 1) }
        let bucket = Int(Self.orderBits(value) >> 16)
        let low = Int(below[bucket])
        let high = Int(below[bucket + 1])
        guard low < high else { return UInt8(truncatingIfNeeded: low) }
        return cuts.withUnsafeBufferPointer { cuts in
            UInt8(truncatingIfNeeded: low + FeatureBins.lowerBound(UnsafeBufferPointer(rebasing: cuts[low..<high]), value))
        }
    }

    /// Runs `body` with a code function over this table's storage.
    @inline(__always)
    func withCode<R>(_ body: ((Float) -> UInt8) -> R) -> R {
        cuts.withUnsafeBufferPointer { cuts in
            below.withUnsafeBufferPointer { below in
                let missing = UInt8(truncatingIfNeeded: cuts.count + 1)
                return body { value in
                    if value.isNaN { return missing }
                    let bucket = Int(Self.orderBits(value) >> 16)
                    let low = Int(below[bucket])
                    let high = Int(below[bucket + 1])
                    guard low < high else { return UInt8(truncatingIfNeeded: low) }
                    let inBucket = UnsafeBufferPointer(rebasing: cuts[low..<high])
                    return UInt8(truncatingIfNeeded: low + FeatureBins.lowerBound(inBucket, value))
                }
            }
        }
    }
}
