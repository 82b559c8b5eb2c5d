/// A trained gradient-boosted tree ensemble: an immutable value that scores, explains and
/// serializes itself.
///
/// All trees live in one flat array of small structs (no object per node): scoring a row is a loop
/// over indices into memory that stays in cache across rows, and the value is trivially `Sendable`.
public struct BoostedTreesModel: PropensityModel, Equatable {
    public let featureNames: [String]
    /// The log-odds every score starts from: the weighted training log-odds.
    public let baseScore: Float
    /// Total split gain per feature over all trees (the loss reduction each feature bought).
    public let featureGains: [Double]
    /// Every tree's nodes; tree t occupies `treeStarts[t] ..< treeStarts[t + 1]` (or the end).
    let nodes: [TreeNode]
    let treeStarts: [Int]
    /// Each node's training hessian sum ("cover"), kept for diagnostics and future attributions.
    let covers: [Float]
    public let contributionBias: Float
    /// The trees rearranged for scoring (derived from `nodes`, never serialized).
    let walk: ScoringTable

    init(featureNames: [String], baseScore: Float, nodes: [TreeNode], treeStarts: [Int], covers: [Float], featureGains: [Double]) {
        self.featureNames = featureNames
        self.baseScore = baseScore
        self.nodes = nodes
        self.treeStarts = treeStarts
        self.covers = covers
        self.featureGains = featureGains
        var bias = Double(baseScore)
        for start in treeStarts { bias += Double(nodes[start].value) }
        contributionBias = Float(bias)
        walk = ScoringTable(nodes: nodes, treeStarts: treeStarts)
    }

    public var treeCount: Int { treeStarts.count }
    public var nodeCount: Int { nodes.count }

    /// The first `count` trees (what early stopping keeps).
    func prefix(trees count: Int, featureGains: [Double]) -> BoostedTreesModel {
        let kept = min(count, treeStarts.count)
        let end = kept < treeStarts.count ? treeStarts[kept] : nodes.count
        return BoostedTreesModel(
            featureNames: featureNames, baseScore: baseScore, nodes: Array(nodes[0..<end]),
            treeStarts: Array(treeStarts[0..<kept]), covers: Array(covers[0..<end]), featureGains: featureGains)
    }

    // MARK: Scoring

    public func logit(_ row: ArraySlice<Float>) throws(PropensityError) -> Float {
        try checkRow(row)
        return row.withUnsafeBufferPointer { values in
            guard let values = values.baseAddress else { return baseScore }
            return walk.logit(values, base: baseScore)
        }
    }

    public func logits(_ matrix: FeatureMatrix, workers: Int = 1) throws(PropensityError) -> [Float] {
        try checkColumns(matrix)
        let rows = matrix.rowCount
        let columns = matrix.columnCount
        let walk = self.walk
        let base = baseScore
        var result = [Float](repeating: base, count: rows)
        result.withUnsafeMutableBufferPointer { output in
            guard let out = output.baseAddress else { return }
            matrix.values.withUnsafeBufferPointer { values in
                guard let input = values.baseAddress else { return }
                Parallel.forEach(pieces: Parallel.chunkCount(rows: rows), workers: workers) { chunk in
                    let range = Parallel.chunkRange(chunk, rows: rows)
                    var row = range.lowerBound
                    while row + 4 <= range.upperBound {
                        walk.logits4(input + row * columns, stride: columns, base: base, into: out + row)
                        row += 4
                    }
                    while row < range.upperBound {
                        out[row] = walk.logit(input + row * columns, base: base)
                        row += 1
                    }
                }
            }
        }
        return result
    }

    /// The leaf a row reaches from `root`. Children always sit after their parent (checked when a
    /// model is read), so this loop ends.
    @inline(__always)
    static func leaf(_ row: UnsafePointer<Float>, nodes: UnsafePointer<TreeNode>, root: Int) -> Int {
        var index = root
        while true {
            let node = nodes[index]
            if node.feature < 0 { return index }
            index = Int(node.left) + node.rightStep(row[Int(node.feature)])
        }
    }

    // MARK: Explanations

    /// Saabas path attribution: walking a row's path, each split moves the expected value from the
    /// parent's to the child's, and that change is credited to the split's feature. The expected
    /// value of an inner node is the cover-weighted mean of its leaves, stored at training time, so
    /// the credits plus the roots' expectations (`contributionBias`) add up to the logit exactly.
    ///
    /// Saabas is linear in the number of splits on the path (cheap enough for every customer of a
    /// campaign) but not consistent like TreeSHAP: it over-credits splits near the leaves. It is used
    /// to name the top features, where that bias matters little.
    public func contributions(_ row: ArraySlice<Float>) throws(PropensityError) -> [Float] {
        try checkRow(row)
        // The sums through a raw pointer, like the nodes and the row: a list of 1,000 customers with
        // reasons walks every tree for each, and the array would check bounds and uniqueness per
        // node. Feature indices are checked when a model is read, the row's length above.
        var sums = [Double](repeating: 0, count: featureNames.count)
        sums.withUnsafeMutableBufferPointer { sums in
            row.withUnsafeBufferPointer { values in
                nodes.withUnsafeBufferPointer { nodes in
                    guard let sums = sums.baseAddress, let values = values.baseAddress, let nodes = nodes.baseAddress else { return }
                    for start in treeStarts {
                        var index = start
                        while nodes[index].feature >= 0 {
                            let node = nodes[index]
                            let next = Int(node.left) + node.rightStep(values[Int(node.feature)])
                            sums[Int(node.feature)] += Double(nodes[next].value) - Double(node.value)
                            index = next
                        }
                    }
                }
            }
        }
        return sums.map { Float($0) }
    }

    /// Features ranked by total split gain, largest first, with their share of all gain.
    public func featureImportance(top count: Int = .max) -> [FeatureImportance] {
        FeatureImportance.ranked(gains: featureGains, names: featureNames, top: count)
    }
}

/// One node of a tree, in the model's flat node array.
///
/// A leaf has `feature == -1` and its leaf value in `value`. An inner node's children are adjacent,
/// `left` and `left + 1`: a row goes left when `row[feature] <= threshold`, right when it is
/// greater, and a missing (NaN) value the learned default way; the inner node's `value` is the
/// expected leaf value below it (for Saabas attributions).
///
/// Adjacent children let a row pick its child by adding 0 or 1 instead of branching: which way a
/// customer goes is unpredictable, and a mispredicted branch per level used to cost more than the
/// rest of the walk.
struct TreeNode: Sendable, Equatable {
    var feature: Int32
    var threshold: Float
    var left: Int32
    var value: Float
    /// 1 when a missing value goes right, 0 when it goes left.
    var missingRight: UInt8

    var defaultLeft: Bool { missingRight == 0 }
    var right: Int32 { left + 1 }

    init(feature: Int32, threshold: Float, left: Int32, value: Float, defaultLeft: Bool) {
        self.feature = feature
        self.threshold = threshold
        self.left = left
        self.value = value
        missingRight = defaultLeft ? 0 : 1
    }

    static func leaf(_ value: Float) -> TreeNode {
        TreeNode(feature: -1, threshold: 0, left: -1, value: value, defaultLeft: true)
    }

    /// 0 to go left, 1 to go right, computed without a branch.
    @inline(__always)
    func rightStep(_ value: Float) -> Int {
        let greater = value > threshold ? 1 : 0
        let missing = value.isNaN ? Int(missingRight) : 0
        return greater | missing
    }
}

/// The trees in the form that scores fastest: every root-to-leaf walk takes the same number of
/// steps per tree.
///
/// A leaf becomes a node that loops to itself (threshold +infinity, so no value leaves it), and a
/// tree is walked exactly `depth` steps. With no data-dependent branch left, not even "is this a
/// leaf", the CPU overlaps the walks of consecutive trees instead of stalling on each one; this
/// made scoring several times faster than the branchy walk.
struct ScoringTable: Sendable, Equatable {
    struct Step: Sendable, Equatable {
        var feature: Int32
        var threshold: Float
        var left: Int32
        var missingRight: UInt8

        @inline(__always)
        func next(_ row: UnsafePointer<Float>) -> Int {
            let value = row[Int(feature)]
            let greater = value > threshold ? 1 : 0
            let missing = value.isNaN ? Int(missingRight) : 0
            return Int(left) + (greater | missing)
        }
    }

    let steps: [Step]
    let values: [Float]
    /// Per tree: its root and how many steps reach any of its leaves.
    let roots: [Int]
    let depths: [Int]

    init(nodes: [TreeNode], treeStarts: [Int]) {
        steps = nodes.enumerated().map { index, node in
            node.feature < 0
                ? Step(feature: 0, threshold: .infinity, left: Int32(index), missingRight: 0)
                : Step(feature: node.feature, threshold: node.threshold, left: node.left, missingRight: node.missingRight)
        }
        values = nodes.map(\.value)
        roots = treeStarts
        var depth = [Int](repeating: 0, count: nodes.count)
        var depths: [Int] = []
        for (tree, start) in treeStarts.enumerated() {
            let end = tree + 1 < treeStarts.count ? treeStarts[tree + 1] : nodes.count
            var deepest = 0
            // Children come after their parent, so one forward pass sees every parent first.
            for index in start..<end {
                deepest = max(deepest, depth[index])
                let node = nodes[index]
                if node.feature >= 0 {
                    depth[Int(node.left)] = depth[index] + 1
                    depth[Int(node.left) + 1] = depth[index] + 1
                }
            }
            depths.append(deepest)
        }
        self.depths = depths
    }

    /// The sum of the trees' leaves in tree order, in Double, as training accumulates its scores,
    /// so a training row's score and the model's logit for it agree.
    @inline(__always)
    func logit(_ row: UnsafePointer<Float>, base: Float) -> Float {
        steps.withUnsafeBufferPointer { steps in
            values.withUnsafeBufferPointer { values in
                var sum = Double(base)
                for tree in 0..<roots.count {
                    var index = roots[tree]
                    for _ in 0..<depths[tree] {
                        index = steps[index].next(row)
                    }
                    sum += Double(values[index])
                }
                return Float(sum)
            }
        }
    }
}

extension ScoringTable {
    /// Four rows at once: four independent walks per tree give the CPU work to overlap while each
    /// walk waits on its loads. Same sums, in the same order, as `logit`.
    @inline(__always)
    func logits4(_ first: UnsafePointer<Float>, stride: Int, base: Float, into out: UnsafeMutablePointer<Float>) {
        let r0 = first, r1 = first + stride, r2 = first + 2 * stride, r3 = first + 3 * stride
        steps.withUnsafeBufferPointer { steps in
            values.withUnsafeBufferPointer { values in
                var s0 = Double(base), s1 = s0, s2 = s0, s3 = s0
                for tree in 0..<roots.count {
                    let root = roots[tree]
                    var i0 = root, i1 = root, i2 = root, i3 = root
                    for _ in 0..<depths[tree] {
                        i0 = steps[i0].next(r0)
                        i1 = steps[i1].next(r1)
                        i2 = steps[i2].next(r2)
                        i3 = steps[i3].next(r3)
                    }
                    s0 += Double(values[i0])
                    s1 += Double(values[i1])
                    s2 += Double(values[i2])
                    s3 += Double(values[i3])
                }
                out[0] = Float(s0)
                out[1] = Float(s1)
                out[2] = Float(s2)
                out[3] = Float(s3)
            }
        }
    }
}

/// A feature's total split gain, as a report shows it.
public struct FeatureImportance: Sendable, Hashable, Codable {
    public let featureIndex: Int
    public let name: String
    public let gain: Double
    /// The feature's share of the total gain of all features, in [0, 1].
    public let share: Double

    public init(featureIndex: Int, name: String, gain: Double, share: Double) {
        self.featureIndex = featureIndex
        self.name = name
        self.gain = gain
        self.share = share
    }

    static func ranked(gains: [Double], names: [String], top count: Int) -> [FeatureImportance] {
        let total = gains.reduce(0, +)
        let order = gains.indices.filter { gains[$0] > 0 }.sorted { a, b in
            gains[a] != gains[b] ? gains[a] > gains[b] : a < b
        }
        return order.prefix(max(count, 0)).map { index in
            FeatureImportance(featureIndex: index, name: names[index], gain: gains[index], share: total > 0 ? gains[index] / total : 0)
        }
    }
}
