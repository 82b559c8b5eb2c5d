extension BoostedTreesModel {
    /// Logits of coded rows, equal to `logits(_:)` of the floats the codes were made from.
    ///
    /// Training on a ``BinnedMatrix`` has no floats left to score its own rows and validation rows
    /// with once early stopping drops trees, nor a caller to score its validation rows with. Every
    /// threshold a model trained on `matrix.edges` holds is one of those edges' cuts (or +infinity
    /// for "every present value"), so "value <= threshold" is "code <= the cut's index" and the walk
    /// on codes reaches the same leaves; the sums run in the same order, in Double, as the Float
    /// walk's. Throws when the columns differ or a threshold is not one of the cuts (a model trained
    /// on other edges, which codes cannot route exactly).
    public func logits(binned matrix: BinnedMatrix, workers: Int = 1) throws(PropensityError) -> [Float] {
        guard matrix.columnNames == featureNames else {
            throw PropensityError(.invalidInput, "the coded rows' columns differ from the model's features")
        }
        let edges = matrix.edges
        // Per node: the column it reads, the largest code that goes left, the missing code, and
        // where a missing value goes; a leaf loops to itself as in `ScoringTable`.
        var steps: [CodedStep] = []
        steps.reserveCapacity(nodes.count)
        for (index, node) in nodes.enumerated() {
            guard node.feature >= 0 else {
                steps.append(CodedStep(feature: 0, bin: 255, missing: 256, missingRight: 0, left: index))
                continue
            }
            let feature = Int(node.feature)
            let cuts = edges.cuts[feature]
            let bin = cuts.withUnsafeBufferPointer { FeatureBins.lowerBound($0, node.threshold) }
            guard bin < cuts.count ? cuts[bin] == node.threshold : node.threshold == .infinity else {
                throw PropensityError(.invalidInput, "threshold \(node.threshold) of feature \(featureNames[feature]) is not one of the coded rows' cuts")
            }
            steps.append(CodedStep(feature: feature, bin: bin, missing: edges.missingCode(feature),
                                   missingRight: Int(node.missingRight), left: Int(node.left)))
        }
        let walk = walk
        let rows = matrix.rowCount
        let base = baseScore
        var result = [Float](repeating: base, count: rows)
        result.withUnsafeMutableBufferPointer { output in
            guard let out = output.baseAddress else { return }
            steps.withUnsafeBufferPointer { steps in
                walk.values.withUnsafeBufferPointer { values in
                    Parallel.forEach(pieces: Parallel.chunkCount(rows: rows), workers: workers) { chunk in
                        for row in Parallel.chunkRange(chunk, rows: rows) {
                            var sum = Double(base)
                            for tree in 0..<walk.roots.count {
                                var index = walk.roots[tree]
                                for _ in 0..<walk.depths[tree] {
                                    let step = steps[index]
                                    let code = Int(matrix.storage.base[step.feature * rows + row])
                                    let right = code == step.missing ? step.missingRight : (code > step.bin ? 1 : 0)
                                    index = step.left + right
                                }
                                sum += Double(values[index])
                            }
                            out[row] = Float(sum)
                        }
                    }
                }
            }
        }
        return result
    }
}

/// One node of the walk on codes: go right when the code is above `bin`, or is the missing code
/// and missing values go right.
private struct CodedStep {
    var feature: Int
    var bin: Int
    var missing: Int
    var missingRight: Int
    var left: Int
}
