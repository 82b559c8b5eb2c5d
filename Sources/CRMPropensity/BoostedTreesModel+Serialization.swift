/// The boosted-trees body of the `ModelFormat` container (magic "CRPG", version 1):
///
/// ```
/// UInt32 featureCount, then featureCount strings (feature names, distinct)
/// Float  baseScore (finite)
/// UInt32 treeCount, then per tree:
///   UInt32 nodeCount (>= 1), then nodeCount nodes of 21 bytes; node 0 is the root:
///     Int32  feature (-1 for a leaf, else 0..<featureCount)
///     Float  threshold (not NaN; +infinity = "every present value goes left"; 0 for a leaf)
///     Int32  left: index within the tree of the left child, after this node; the right child is
///            left + 1 (-1 for a leaf)
///     Float  value (leaf value, or the inner node's expected value; finite)
///     Float  cover (training hessian sum; finite, >= 0)
///     UInt8  flags: bit 0 = missing values go left
/// featureCount Doubles: total split gain per feature (finite, >= 0)
/// ```
///
/// Children stored after their parent make every path end, so a model read from any bytes that pass
/// these checks can be scored without a further guard.
extension BoostedTreesModel {
    static let nodeByteSize = 21

    public func serialized() -> [UInt8] {
        ModelFormat.encode(magic: ModelFormat.boostedTreesMagic) { writer in
            writer.writeCount(featureNames.count)
            for name in featureNames { writer.write(name) }
            writer.write(baseScore)
            writer.writeCount(treeStarts.count)
            for tree in 0..<treeStarts.count {
                let start = treeStarts[tree]
                let end = tree + 1 < treeStarts.count ? treeStarts[tree + 1] : nodes.count
                writer.writeCount(end - start)
                for index in start..<end {
                    let node = nodes[index]
                    let isLeaf = node.feature < 0
                    writer.write(isLeaf ? Int32(-1) : node.feature)
                    writer.write(isLeaf ? Float(0) : node.threshold)
                    writer.write(isLeaf ? Int32(-1) : node.left - Int32(start))
                    writer.write(node.value)
                    writer.write(covers[index])
                    writer.write(UInt8(!isLeaf && node.defaultLeft ? 1 : 0))
                }
            }
            for gain in featureGains { writer.write(gain) }
        }
    }

    /// Reads a model written by `serialized()`; throws `.malformedModel` or `.unsupportedFormat` with
    /// the reason for any bytes that are not a complete, consistent model.
    public init(serialized bytes: [UInt8]) throws(PropensityError) {
        var reader = try ModelFormat.openBody(bytes, magic: ModelFormat.boostedTreesMagic, kind: "boosted-trees model")
        let featureCount = try reader.readCount(minimumEntrySize: 4, what: "feature")
        guard featureCount > 0 else { throw PropensityError(.malformedModel, "a model without features") }
        var names: [String] = []
        for index in 0..<featureCount { names.append(try reader.readString(what: "feature name \(index)")) }
        guard Set(names).count == names.count else { throw PropensityError(.malformedModel, "feature names repeat") }
        let baseScore = try reader.readFloat()
        guard baseScore.isFinite else { throw PropensityError(.malformedModel, "base score \(baseScore) is not finite") }
        let treeCount = try reader.readCount(minimumEntrySize: 4 + Self.nodeByteSize, what: "tree")
        var nodes: [TreeNode] = []
        var covers: [Float] = []
        var treeStarts: [Int] = []
        treeStarts.reserveCapacity(treeCount)
        for tree in 0..<treeCount {
            let count = try reader.readCount(minimumEntrySize: Self.nodeByteSize, what: "tree \(tree) node")
            guard count > 0 else { throw PropensityError(.malformedModel, "tree \(tree) has no nodes") }
            guard nodes.count + count <= Int(Int32.max) else { throw PropensityError(.malformedModel, "more nodes than a model can index") }
            let start = nodes.count
            treeStarts.append(start)
            for local in 0..<count {
                let (node, cover) = try Self.readNode(&reader, local: local, count: count, start: start, featureCount: featureCount, tree: tree)
                nodes.append(node)
                covers.append(cover)
            }
        }
        var gains: [Double] = []
        for feature in 0..<featureCount {
            let gain = try reader.readDouble()
            guard gain.isFinite && gain >= 0 else {
                throw PropensityError(.malformedModel, "gain \(gain) of feature \(feature) is not a finite non-negative number")
            }
            gains.append(gain)
        }
        try reader.expectEnd(kind: "boosted-trees model")
        self.init(featureNames: names, baseScore: baseScore, nodes: nodes, treeStarts: treeStarts, covers: covers, featureGains: gains)
    }

    private static func readNode(
        _ reader: inout ByteReader, local: Int, count: Int, start: Int, featureCount: Int, tree: Int
    ) throws(PropensityError) -> (TreeNode, Float) {
        let feature = try reader.readInt32()
        let threshold = try reader.readFloat()
        let left = try reader.readInt32()
        let value = try reader.readFloat()
        let cover = try reader.readFloat()
        let flags = try reader.readUInt8()
        let place = "tree \(tree) node \(local)"
        guard value.isFinite else { throw PropensityError(.malformedModel, "\(place): value \(value) is not finite") }
        guard cover.isFinite && cover >= 0 else { throw PropensityError(.malformedModel, "\(place): cover \(cover) is not finite and >= 0") }
        guard flags <= 1 else { throw PropensityError(.malformedModel, "\(place): unknown flags \(flags)") }
        if feature == -1 {
            guard left == -1 && flags == 0 else {
                throw PropensityError(.malformedModel, "\(place): a leaf with children or flags")
            }
            return (TreeNode.leaf(value), cover)
        }
        guard feature >= 0 && Int(feature) < featureCount else {
            throw PropensityError(.malformedModel, "\(place): feature \(feature) out of 0..<\(featureCount)")
        }
        guard !threshold.isNaN else { throw PropensityError(.malformedModel, "\(place): NaN threshold") }
        guard Int(left) > local && Int(left) + 1 < count else {
            throw PropensityError(.malformedModel, "\(place): children \(left) and \(Int(left) + 1) are not after the node and inside the tree's \(count) nodes")
        }
        let node = TreeNode(feature: feature, threshold: threshold, left: left + Int32(start), value: value, defaultLeft: flags == 1)
        return (node, cover)
    }
}
