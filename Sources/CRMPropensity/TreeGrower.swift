/// Grows one regression tree on gradient/hessian pairs over binned features.
///
/// Owns the buffers that live across trees (row partition, gathered gradients, a pool of
/// histograms), so growing a tree allocates almost nothing. Not thread-safe: one training uses one
/// grower, and the grower itself spreads histogram building over `workers` threads by feature,
/// so every histogram cell is summed by one thread in row order, whatever the thread count.
///
/// Layout choices, measured on 1-2 M rows x 60 features: codes are column-major bytes, counted four
/// features per pass. A row-major code table (one cache line per row) was tried and was 1.6x
/// slower overall: partitioning then touches a line per row, and a row's 60 updates outrun the
/// CPU's look-ahead so each scattered row's load stalls. Packing four codes in a 32-bit word was
/// 1.3x slower than four byte columns.
final class TreeGrower {
    struct Split {
        var feature: Int
        /// Rows with a value code <= bin go left; `bin == cutCount` means "every present value".
        var bin: Int
        var defaultLeft: Bool
        var gain: Double
        var leftGradient: Double
        var leftHessian: Double
        var rightGradient: Double
        var rightHessian: Double
    }

    struct Node {
        var start: Int
        var count: Int
        var depth: Int
        var gradient: Double
        var hessian: Double
        var histogram = -1
        var split: Split?
        var left = -1
        var right = -1
        var leafValue: Float = 0

        var isLeaf: Bool { left < 0 }
    }

    let rowCount: Int
    let bins: FeatureBins
    /// The training rows' codes, column-major; `storage` keeps them alive (the matrix is shared
    /// with the caller, not copied).
    private let codes: UnsafePointer<UInt8>
    private let storage: CodeStorage
    /// First histogram slot of each feature; a slot is a (gradient, hessian) pair of Doubles.
    private let slotOffsets: [Int]
    private let totalSlots: Int
    /// Row indices, partitioned so that every node owns a contiguous, ascending range.
    let rows: UnsafeMutablePointer<Int32>
    private let scratch: UnsafeMutablePointer<Int32>
    /// A node's gradient pairs gathered in its row order, so histogram passes read them sequentially.
    private let ordered: UnsafeMutablePointer<Float>
    /// For building several nodes' histograms in one pass (see `buildTogether`): each row's owner
    /// (0xFFFF for none), and the owned rows in ascending order with their owners.
    private let owners: UnsafeMutablePointer<UInt16>
    private let mergedRows: UnsafeMutablePointer<Int32>
    private let mergedOwners: UnsafeMutablePointer<UInt16>
    /// Per worker, the odd-row copy of four features' histograms (see `accumulateFour`).
    private let spares: UnsafeMutablePointer<SIMD2<Double>>
    /// The current tree's rows in ascending order (`rows` is reordered by partitioning).
    private let sampledRows: UnsafeMutablePointer<Int32>
    private var sampleCount = 0
    private var histograms: [UnsafeMutablePointer<Double>] = []
    private var freeHistograms: [Int] = []

    private let lambda: Double
    private let minChildHessian: Double
    private let minSplitGain: Double
    private let maxDepth: Int
    private let leafLimit: Int
    private let learningRate: Double
    private let workers: Int
    private let parallelCellThreshold: Int
    /// Grow the leaf with the largest gain next (with a leaf limit) rather than level by level.
    private let bestFirst: Bool

    /// Grows trees on the coded rows of `matrix`.
    init(matrix: BinnedMatrix, configuration: GradientBoostedTrees.Configuration) {
        let rowCount = matrix.rowCount
        self.rowCount = rowCount
        bins = matrix.edges
        storage = matrix.storage
        codes = UnsafePointer(matrix.storage.base)
        var offsets: [Int] = []
        var total = 0
        for feature in 0..<bins.featureCount {
            offsets.append(total)
            total += bins.slotCount(feature)
        }
        slotOffsets = offsets
        totalSlots = total
        rows = .allocate(capacity: max(rowCount, 1))
        scratch = .allocate(capacity: max(rowCount, 1))
        ordered = .allocate(capacity: max(2 * rowCount, 2))
        owners = .allocate(capacity: max(rowCount, 1))
        owners.initialize(repeating: .max, count: max(rowCount, 1))
        mergedRows = .allocate(capacity: max(rowCount, 1))
        mergedOwners = .allocate(capacity: max(rowCount, 1))
        sampledRows = .allocate(capacity: max(rowCount, 1))
        spares = .allocate(capacity: 1_024 * max(configuration.workers, 1))
        spares.initialize(repeating: .zero, count: 1_024 * max(configuration.workers, 1))
        bestFirst = configuration.maxLeaves != nil
        lambda = configuration.lambda
        minChildHessian = configuration.minChildHessian
        minSplitGain = configuration.minSplitGain
        maxDepth = configuration.maxDepth
        leafLimit = configuration.leafLimit
        learningRate = configuration.learningRate
        workers = configuration.workers
        parallelCellThreshold = configuration.parallelCellThreshold
    }

    deinit {
        rows.deallocate()
        scratch.deallocate()
        ordered.deallocate()
        owners.deallocate()
        mergedRows.deallocate()
        mergedOwners.deallocate()
        sampledRows.deallocate()
        spares.deallocate()
        for histogram in histograms { histogram.deallocate() }
    }

    /// Grows a tree over `rows[0..<sampleCount]` (set by the caller, ascending). `identity` says the rows are
    /// exactly 0..<rowCount in order, which lets the root pass skip the gather. Returns nodes in
    /// creation order (children after parents, siblings adjacent); inner nodes keep their `split`.
    ///
    /// Without a leaf limit the tree grows level by level, and all of a level's histograms are
    /// counted in one pass (`buildTogether`); with one, the leaf with the largest gain splits next.
    /// Both give the same tree when the limit does not bind.
    func grow(gradients: UnsafePointer<Float>, sampleCount: Int, identity: Bool, features: [Int]) -> [Node] {
        self.sampleCount = sampleCount
        sampledRows.update(from: rows, count: sampleCount)
        var nodes: [Node] = []
        let rootHistogram = acquireHistogram()
        build(rootHistogram, start: 0, count: sampleCount, identity: identity, gradients: gradients, features: features)
        let totals = self.totals(rootHistogram, feature: features[0])
        nodes.append(Node(start: 0, count: sampleCount, depth: 0, gradient: totals.gradient, hessian: totals.hessian, histogram: rootHistogram))
        var candidates: [Int] = []
        if maxDepth > 0, let split = bestSplit(rootHistogram, features: features) {
            nodes[0].split = split
            candidates.append(0)
        } else {
            releaseHistogram(rootHistogram)
            nodes[0].histogram = -1
        }
        var leaves = 1
        while leaves < leafLimit, !candidates.isEmpty {
            let chosen: [Int]
            if bestFirst {
                guard let position = bestCandidate(candidates, nodes: nodes) else { break }
                chosen = [candidates.remove(at: position)]
            } else {
                chosen = candidates
                candidates = []
            }
            // Split the chosen leaves; each pair of children needs the smaller one counted and the
            // larger one derived as parent minus smaller.
            var pending: [(small: Int, large: Int, splittable: [Int])] = []
            let leftCounts = partitionAll(chosen.map { nodes[$0] })
            for (position, parentIndex) in chosen.enumerated() where leaves < leafLimit {
                let parent = nodes[parentIndex]
                guard let split = parent.split else { continue }
                let leftCount = leftCounts[position]
                let left = nodes.count
                let right = left + 1
                nodes.append(Node(start: parent.start, count: leftCount, depth: parent.depth + 1, gradient: split.leftGradient, hessian: split.leftHessian))
                nodes.append(Node(start: parent.start + leftCount, count: parent.count - leftCount, depth: parent.depth + 1, gradient: split.rightGradient, hessian: split.rightHessian))
                nodes[parentIndex].left = left
                nodes[parentIndex].right = right
                nodes[parentIndex].histogram = -1
                leaves += 1
                let mayGrow = parent.depth + 1 < maxDepth && leaves < leafLimit
                let splittable = [left, right].filter { mayGrow && canSplit(nodes[$0]) }
                if splittable.isEmpty {
                    releaseHistogram(parent.histogram)
                    continue
                }
                let (small, large) = nodes[left].count <= nodes[right].count ? (left, right) : (right, left)
                nodes[small].histogram = acquireHistogram()
                nodes[large].histogram = parent.histogram
                pending.append((small, large, splittable))
            }
            buildTogether(pending.map { (nodes[$0.small].histogram, nodes[$0.small].start, nodes[$0.small].count) }, gradients: gradients, features: features)
            for (small, large, splittable) in pending {
                subtract(nodes[small].histogram, from: nodes[large].histogram, features: features)
                for child in [min(small, large), max(small, large)] {
                    let histogram = nodes[child].histogram
                    if splittable.contains(child), let childSplit = bestSplit(histogram, features: features) {
                        nodes[child].split = childSplit
                        candidates.append(child)
                    } else {
                        releaseHistogram(histogram)
                        nodes[child].histogram = -1
                    }
                }
            }
        }
        for index in nodes.indices {
            if nodes[index].histogram >= 0 {
                releaseHistogram(nodes[index].histogram)
                nodes[index].histogram = -1
            }
            if nodes[index].isLeaf {
                nodes[index].split = nil
                let denominator = nodes[index].hessian + lambda
                let value = denominator > 0 ? -nodes[index].gradient / denominator * learningRate : 0
                nodes[index].leafValue = Float(value)
            }
        }
        return nodes
    }

    /// A grown tree as a fixed-length, branch-free walk over the binned codes, for the rows a
    /// sampled round did not grow on (their leaves are not known from the partition).
    struct BinnedWalk {
        struct Step {
            var column: UnsafePointer<UInt8>
            var bin: Int
            var missing: Int
            var missingRight: Int
            var left: Int
        }

        var steps: [Step]
        var values: [Double]
        var depth: Int

        @inline(__always)
        func value(of row: Int) -> Double {
            steps.withUnsafeBufferPointer { steps in
                var index = 0
                for _ in 0..<depth {
                    let step = steps[index]
                    let code = Int(step.column[row])
                    let right = code == step.missing ? step.missingRight : (code > step.bin ? 1 : 0)
                    index = step.left + right
                }
                return values[index]
            }
        }
    }

    func binnedWalk(_ nodes: [Node]) -> BinnedWalk {
        Self.binnedWalk(nodes, codes: codes, rowCount: rowCount, bins: bins)
    }

    /// The walk over another matrix coded with the same edges (the validation rows).
    static func binnedWalk(_ nodes: [Node], over matrix: BinnedMatrix) -> BinnedWalk {
        binnedWalk(nodes, codes: UnsafePointer(matrix.storage.base), rowCount: matrix.rowCount, bins: matrix.edges)
    }

    private static func binnedWalk(_ nodes: [Node], codes: UnsafePointer<UInt8>, rowCount: Int, bins: FeatureBins) -> BinnedWalk {
        var depth = 0
        var steps: [BinnedWalk.Step] = []
        for (index, node) in nodes.enumerated() {
            depth = max(depth, node.depth)
            if let split = node.split, !node.isLeaf {
                steps.append(BinnedWalk.Step(
                    column: codes + split.feature * rowCount, bin: split.bin,
                    missing: bins.missingCode(split.feature), missingRight: split.defaultLeft ? 0 : 1, left: node.left))
            } else {
                // A leaf loops to itself: no code exceeds 255 or equals 256.
                steps.append(BinnedWalk.Step(column: codes, bin: 255, missing: 256, missingRight: 0, left: index))
            }
        }
        return BinnedWalk(steps: steps, values: nodes.map { Double($0.leafValue) }, depth: depth)
    }

    // MARK: Growth policy

    private func canSplit(_ node: Node) -> Bool {
        node.count >= 2 && node.hessian >= 2 * minChildHessian
    }

    /// The candidate with the largest gain; the earlier-created node on a tie, so growth order (and
    /// with a leaf limit, the tree) is deterministic.
    private func bestCandidate(_ candidates: [Int], nodes: [Node]) -> Int? {
        var best: Int?
        var bestGain = -Double.infinity
        var bestNode = Int.max
        for (position, node) in candidates.enumerated() {
            let gain = nodes[node].split?.gain ?? -Double.infinity
            if gain > bestGain || (gain == bestGain && node < bestNode) {
                best = position
                bestGain = gain
                bestNode = node
            }
        }
        return best
    }

    // MARK: Histograms

    private func acquireHistogram() -> Int {
        if let index = freeHistograms.popLast() { return index }
        histograms.append(.allocate(capacity: 2 * max(totalSlots, 1)))
        return histograms.count - 1
    }

    private func releaseHistogram(_ index: Int) {
        if index >= 0 { freeHistograms.append(index) }
    }

    private func totals(_ histogram: Int, feature: Int) -> (gradient: Double, hessian: Double) {
        let slots = histograms[histogram] + 2 * slotOffsets[feature]
        var gradient = 0.0
        var hessian = 0.0
        for slot in 0..<bins.slotCount(feature) {
            gradient += slots[2 * slot]
            hessian += slots[2 * slot + 1]
        }
        return (gradient, hessian)
    }

    /// Sums gradient pairs per (feature, code) over a node's rows.
    private func build(_ histogram: Int, start: Int, count: Int, identity: Bool, gradients: UnsafePointer<Float>, features: [Int]) {
        let target = UnsafeMutableRawPointer(histograms[histogram]).assumingMemoryBound(to: SIMD2<Double>.self)
        let rowList: UnsafePointer<Int32>?
        let pairs: UnsafePointer<Float>
        if identity {
            rowList = nil
            pairs = gradients
        } else {
            let source = rows + start
            let gathered = ordered
            for i in 0..<count {
                let row = Int(source[i])
                gathered[2 * i] = gradients[2 * row]
                gathered[2 * i + 1] = gradients[2 * row + 1]
            }
            rowList = UnsafePointer(source)
            pairs = UnsafePointer(gathered)
        }
        // Split features into groups of four (one pass over the rows fills four histograms, which
        // hides the latency of consecutive rows hitting the same bin) and the groups over workers.
        let groupSize = 4
        let groups = (features.count + groupSize - 1) / groupSize
        let pieces = count * features.count >= parallelCellThreshold ? min(workers, groups) : 1
        let codes = self.codes
        let rowCount = self.rowCount
        let slotOffsets = self.slotOffsets
        let bins = self.bins
        let spares = self.spares
        features.withUnsafeBufferPointer { features in
            Parallel.forEach(pieces: pieces, workers: pieces) { piece in
                let firstGroup = groups * piece / pieces
                let endGroup = groups * (piece + 1) / pieces
                let first = firstGroup * groupSize
                let end = min(endGroup * groupSize, features.count)
                for index in first..<end {
                    let feature = features[index]
                    (target + slotOffsets[feature]).initialize(repeating: .zero, count: bins.slotCount(feature))
                }
                var index = first
                while index + groupSize <= end {
                    HistogramKernels.accumulateFour(
                        columns: (codes + features[index] * rowCount, codes + features[index + 1] * rowCount,
                                  codes + features[index + 2] * rowCount, codes + features[index + 3] * rowCount),
                        slots: (target + slotOffsets[features[index]], target + slotOffsets[features[index + 1]],
                                target + slotOffsets[features[index + 2]], target + slotOffsets[features[index + 3]]),
                        slotCounts: (bins.slotCount(features[index]), bins.slotCount(features[index + 1]),
                                     bins.slotCount(features[index + 2]), bins.slotCount(features[index + 3])),
                        spare: spares + 1_024 * piece,
                        rows: rowList, pairs: pairs, count: count)
                    index += groupSize
                }
                while index < end {
                    HistogramKernels.accumulateOne(
                        column: codes + features[index] * rowCount, slots: target + slotOffsets[features[index]],
                        rows: rowList, pairs: pairs, count: count)
                    index += 1
                }
            }
        }
    }

    /// Counts several nodes' histograms in one pass over the code columns.
    ///
    /// A deep node's rows are scattered, so counting it alone reads nearly every cache line of every
    /// column; counting a level's nodes one by one would read the columns once per node. Merging
    /// their rows into one ascending list reads them once per level instead. Each histogram still
    /// receives its rows in ascending order, so the sums are the same as counting node by node.
    private func buildTogether(_ targets: [(histogram: Int, start: Int, count: Int)], gradients: UnsafePointer<Float>, features: [Int]) {
        guard targets.count > 1 else {
            if let target = targets.first {
                build(target.histogram, start: target.start, count: target.count, identity: false, gradients: gradients, features: features)
            }
            return
        }
        let owners = self.owners
        let rowList = self.rows
        let sampledRows = self.sampledRows
        let mergedRows = self.mergedRows
        let mergedOwners = self.mergedOwners
        let ordered = self.ordered
        let markedRows = targets.reduce(0) { $0 + $1.count }
        let helpers = markedRows * 8 >= parallelCellThreshold ? workers : 1
        Parallel.forEach(pieces: targets.count, workers: helpers) { owner in
            let target = targets[owner]
            for i in target.start..<target.start + target.count {
                owners[Int(rowList[i])] = UInt16(owner)
            }
        }
        // The tree's rows in ascending order, scanned once: rows owned by a target are kept, in
        // order, and every mark is reset for the next level. Each worker compacts a contiguous part
        // in place (its output never outgrows its input), and the parts are then closed up.
        let parts = helpers
        var kept = [Int](repeating: 0, count: parts)
        kept.withUnsafeMutableBufferPointer { kept in
            Parallel.forEach(pieces: parts, workers: parts) { part in
                let first = sampleCount * part / parts
                let end = sampleCount * (part + 1) / parts
                var count = first
                for i in first..<end {
                    let row = Int(sampledRows[i])
                    let owner = owners[row]
                    mergedRows[count] = Int32(row)
                    mergedOwners[count] = owner
                    count += owner == .max ? 0 : 1
                    owners[row] = .max
                }
                kept[part] = count - first
            }
        }
        var total = kept[0]
        for part in 1..<max(parts, 1) {
            let first = sampleCount * part / parts
            // Moving down (total <= first), so a forward copy is safe where the ranges overlap.
            for j in 0..<kept[part] {
                mergedRows[total + j] = mergedRows[first + j]
                mergedOwners[total + j] = mergedOwners[first + j]
            }
            total += kept[part]
        }
        let gatherChunks = (total + Parallel.rowChunk - 1) / Parallel.rowChunk
        Parallel.forEach(pieces: gatherChunks, workers: helpers) { chunk in
            for i in Parallel.chunkRange(chunk, rows: total) {
                let row = Int(mergedRows[i])
                ordered[2 * i] = gradients[2 * row]
                ordered[2 * i + 1] = gradients[2 * row + 1]
            }
        }
        let bases = targets.map { UnsafeMutableRawPointer(histograms[$0.histogram]).assumingMemoryBound(to: SIMD2<Double>.self) }
        let groupSize = 4
        let groups = (features.count + groupSize - 1) / groupSize
        let pieces = total * features.count >= parallelCellThreshold ? min(workers, groups) : 1
        let codes = self.codes
        let rowCount = self.rowCount
        let slotOffsets = self.slotOffsets
        let bins = self.bins
        let rows = UnsafePointer(mergedRows)
        let rowOwners = UnsafePointer(mergedOwners)
        let pairs = UnsafePointer(ordered)
        features.withUnsafeBufferPointer { features in
            bases.withUnsafeBufferPointer { bases in
                guard let targetsBase = bases.baseAddress else { return }
                Parallel.forEach(pieces: pieces, workers: pieces) { piece in
                    let first = groups * piece / pieces * groupSize
                    let end = min(groups * (piece + 1) / pieces * groupSize, features.count)
                    for base in bases {
                        for index in first..<end {
                            let feature = features[index]
                            (base + slotOffsets[feature]).initialize(repeating: .zero, count: bins.slotCount(feature))
                        }
                    }
                    var index = first
                    while index + groupSize <= end {
                        let f = (features[index], features[index + 1], features[index + 2], features[index + 3])
                        HistogramKernels.accumulateFourMany(
                            columns: (codes + f.0 * rowCount, codes + f.1 * rowCount, codes + f.2 * rowCount, codes + f.3 * rowCount),
                            offsets: (slotOffsets[f.0], slotOffsets[f.1], slotOffsets[f.2], slotOffsets[f.3]),
                            targets: targetsBase, rows: rows, owners: rowOwners, pairs: pairs, count: total)
                        index += groupSize
                    }
                    while index < end {
                        HistogramKernels.accumulateOneMany(
                            column: codes + features[index] * rowCount, offset: slotOffsets[features[index]],
                            targets: targetsBase, rows: rows, owners: rowOwners, pairs: pairs, count: total)
                        index += 1
                    }
                }
            }
        }
    }

    /// parent -= child over the features in use: the parent's buffer becomes the sibling's histogram.
    private func subtract(_ child: Int, from parent: Int, features: [Int]) {
        let source = histograms[child]
        let target = histograms[parent]
        for feature in features {
            let start = 2 * slotOffsets[feature]
            for index in start..<start + 2 * bins.slotCount(feature) {
                target[index] -= source[index]
            }
        }
    }

    // MARK: Splits

    /// The split with the largest gain over all features and bins, trying missing values on both
    /// sides; nil when no split passes the constraints. Ties go to the earlier feature and bin.
    private func bestSplit(_ histogram: Int, features: [Int]) -> Split? {
        let base = histograms[histogram]
        var best: Split?
        for feature in features {
            let slots = base + 2 * slotOffsets[feature]
            let cutCount = bins.cuts[feature].count
            let missing = cutCount + 1
            let missingGradient = slots[2 * missing]
            let missingHessian = slots[2 * missing + 1]
            var totalGradient = missingGradient
            var totalHessian = missingHessian
            for slot in 0...cutCount {
                totalGradient += slots[2 * slot]
                totalHessian += slots[2 * slot + 1]
            }
            // A child must carry real weight, not the rounding left by histogram subtraction.
            let minHessian = max(minChildHessian, 1e-9 * abs(totalHessian), Double.leastNormalMagnitude)
            let parentScore = totalGradient * totalGradient / (totalHessian + lambda)
            let hasMissing = missingHessian > 0
            func consider(_ lg: Double, _ lh: Double, bin: Int, defaultLeft: Bool?) {
                let rg = totalGradient - lg
                let rh = totalHessian - lh
                guard lh >= minHessian && rh >= minHessian else { return }
                let gain = 0.5 * (lg * lg / (lh + lambda) + rg * rg / (rh + lambda) - parentScore)
                guard gain > minSplitGain && gain > (best?.gain ?? 0) else { return }
                best = Split(
                    feature: feature, bin: bin, defaultLeft: defaultLeft ?? (lh >= rh), gain: gain,
                    leftGradient: lg, leftHessian: lh, rightGradient: rg, rightHessian: rh)
            }
            var leftGradient = 0.0
            var leftHessian = 0.0
            for bin in 0..<cutCount {
                leftGradient += slots[2 * bin]
                leftHessian += slots[2 * bin + 1]
                if hasMissing {
                    consider(leftGradient, leftHessian, bin: bin, defaultLeft: false)
                    consider(leftGradient + missingGradient, leftHessian + missingHessian, bin: bin, defaultLeft: true)
                } else {
                    consider(leftGradient, leftHessian, bin: bin, defaultLeft: nil)
                }
            }
            if hasMissing {
                consider(totalGradient - missingGradient, totalHessian - missingHessian, bin: cutCount, defaultLeft: false)
            }
        }
        return best
    }

    /// Partitions several nodes' rows (their ranges are disjoint, so on several workers when there
    /// are enough rows) and returns each node's left count; 0 for a node without a split.
    private func partitionAll(_ parents: [Node]) -> [Int] {
        var leftCounts = [Int](repeating: 0, count: parents.count)
        let rows = parents.reduce(0) { $0 + $1.count }
        let workers = rows >= parallelCellThreshold / 4 ? self.workers : 1
        leftCounts.withUnsafeMutableBufferPointer { leftCounts in
            Parallel.forEach(pieces: parents.count, workers: workers) { index in
                let parent = parents[index]
                if let split = parent.split {
                    leftCounts[index] = partition(start: parent.start, count: parent.count, split: split)
                }
            }
        }
        return leftCounts
    }

    /// Stable partition of a node's rows: left rows first, each side still in ascending row order.
    /// Uses only its own range of `rows` and `scratch`, so nodes can be partitioned concurrently.
    private func partition(start: Int, count: Int, split: Split) -> Int {
        let column = codes + split.feature * rowCount
        let missing = bins.missingCode(split.feature)
        let bin = split.bin
        let defaultLeft = split.defaultLeft
        let spill = scratch + start
        var leftEnd = start
        var rightCount = 0
        for i in start..<start + count {
            let row = rows[i]
            let value = Int(column[Int(row)])
            let goLeft = value == missing ? defaultLeft : value <= bin
            // Write both places and advance one cursor: a data-dependent branch here mispredicts
            // on about every other row.
            rows[leftEnd] = row
            spill[rightCount] = row
            let step = goLeft ? 1 : 0
            leftEnd += step
            rightCount += 1 - step
        }
        (rows + leftEnd).update(from: spill, count: rightCount)
        return leftEnd - start
    }
}
