import Foundation

/// One training run: the boosting loop around `TreeGrower`, with scores, gradients, sampling,
/// validation and early stopping. Internal; `GradientBoostedTrees.train` is the entry point.
final class BoostingSession {
    struct Outcome {
        var model: BoostedTreesModel
        var trainScores: [Double]
        var validationScores: [Double]?
        var iterations: Int
        var stoppedEarly: Bool
        var bestTrainLoss: Double
        var bestValidationLoss: Double?
        var trainHistory: [Double]
        var validationHistory: [Double]
    }

    /// Separate random streams, so that e.g. turning column sampling on leaves the row samples alone.
    /// (The binning sample draws from `FeatureBins.samplingStream`, 1.)
    private enum Stream: UInt64 {
        case rows = 2
        case columns = 3
    }

    private let configuration: GradientBoostedTrees.Configuration
    private let data: BinnedData
    private let validation: BinnedData?
    private let baseScore: Float

    /// `validation`, when given, is coded with `data`'s edges (the caller checks).
    init(configuration: GradientBoostedTrees.Configuration, data: BinnedData, validation: BinnedData?, baseScore: Float) {
        self.configuration = configuration
        self.data = data
        self.validation = validation
        self.baseScore = baseScore
    }

    func run(progress: GradientBoostedTrees.ProgressHandler?) throws -> Outcome {
        let rowCount = data.rowCount
        let featureCount = data.features.columnCount
        let workers = configuration.workers
        let bins = data.features.edges
        let grower = TreeGrower(matrix: data.features, configuration: configuration)

        // The labels as the rows' booleans (1 byte a row; a Float copy was 4 more a row in the fit's peak).
        let labels = data.labels
        let weights = data.weights
        var scores = [Double](repeating: Double(baseScore), count: rowCount)
        var gradients = [Float](repeating: 0, count: 2 * rowCount)
        var trainLoss = Self.gradientsAndLoss(scores: scores, labels: labels, weights: weights, gradients: &gradients, workers: workers)

        var validationScores = validation.map { [Double](repeating: Double(baseScore), count: $0.rowCount) }
        let validationLabels = validation?.labels

        var rowStream = SeededGenerator(seed: configuration.seed, stream: Stream.rows.rawValue)
        var columnStream = SeededGenerator(seed: configuration.seed, stream: Stream.columns.rawValue)
        let columnsPerTree = max(1, min(featureCount, Int((configuration.columnSampleRate * Double(featureCount)).rounded())))

        var nodes: [TreeNode] = []
        var covers: [Float] = []
        var treeStarts: [Int] = []
        var treeGains: [[Double]] = []
        var trainHistory: [Double] = []
        var validationHistory: [Double] = []
        var bestIteration = 0
        var bestValidationLoss = Double.infinity
        var stoppedEarly = false
        let total = configuration.treeCount

        for iteration in 1...total {
            if Task.isCancelled { throw CancellationError() }
            let sampleCount = sampleRows(grower: grower, generator: &rowStream, gradients: &gradients)
            let identity = sampleCount == rowCount
            let features = columnsPerTree == featureCount
                ? Array(0..<featureCount) : columnStream.sample(columnsPerTree, of: featureCount)
            let grown = gradients.withUnsafeBufferPointer { pairs in
                // A non-empty buffer always has a base address; the fallback keeps this trap-free.
                guard let base = pairs.baseAddress else { return [TreeGrower.Node]() }
                return grower.grow(gradients: base, sampleCount: sampleCount, identity: identity, features: features)
            }
            guard !grown.isEmpty else { break }

            let start = nodes.count
            treeStarts.append(start)
            let (treeNodes, treeCovers, gains) = Self.modelNodes(grown, bins: bins, start: start, featureCount: featureCount)
            nodes.append(contentsOf: treeNodes)
            covers.append(contentsOf: treeCovers)
            treeGains.append(gains)

            updateScores(&scores, grown: grown, grower: grower, sampleCount: sampleCount)
            trainLoss = Self.gradientsAndLoss(scores: scores, labels: labels, weights: weights, gradients: &gradients, workers: workers)
            trainHistory.append(trainLoss)

            var validationLoss: Double?
            if let validation, let validationLabels, var current = validationScores {
                validationScores = nil
                Self.addTree(grown, features: validation.features, scores: &current, workers: workers)
                let loss = Self.logLoss(scores: current, labels: validationLabels, weights: validation.weights)
                validationScores = current
                validationLoss = loss
                validationHistory.append(loss)
                if loss < bestValidationLoss {
                    bestValidationLoss = loss
                    bestIteration = iteration
                }
            } else {
                bestIteration = iteration
            }
            progress?(iteration, total, trainLoss, validationLoss)
            if let rounds = configuration.earlyStoppingRounds, validation != nil, iteration - bestIteration >= rounds {
                stoppedEarly = true
                break
            }
        }

        let keep = (validation != nil && configuration.earlyStoppingRounds != nil) ? bestIteration : treeStarts.count
        var featureGains = [Double](repeating: 0, count: featureCount)
        for gains in treeGains.prefix(keep) {
            for feature in 0..<featureCount { featureGains[feature] += gains[feature] }
        }
        let full = BoostedTreesModel(
            featureNames: data.features.columnNames, baseScore: baseScore, nodes: nodes,
            treeStarts: treeStarts, covers: covers, featureGains: featureGains)
        var model = full
        var finalValidationScores = validationScores
        if keep < treeStarts.count {
            // Early stopping dropped the last rounds: score with the kept trees only.
            model = full.prefix(trees: keep, featureGains: featureGains)
            scores = try model.logits(binned: data.features, workers: workers).map(Double.init)
            if let validation {
                finalValidationScores = try model.logits(binned: validation.features, workers: workers).map(Double.init)
            }
        }
        let bestTrainLoss = keep == treeStarts.count
            ? trainLoss
            : Self.logLoss(scores: scores, labels: labels, weights: weights)
        return Outcome(
            model: model, trainScores: scores, validationScores: finalValidationScores,
            iterations: treeStarts.count, stoppedEarly: stoppedEarly, bestTrainLoss: bestTrainLoss,
            bestValidationLoss: validation == nil ? nil : (keep > 0 ? bestValidationLoss : nil),
            trainHistory: trainHistory, validationHistory: validationHistory)
    }

    /// Fills `grower.rows` with this round's rows (ascending) and returns how many there are.
    /// With gradient sampling, the kept small-gradient rows' pairs are scaled up in `gradients`
    /// (they are recomputed from the scores before the next round).
    private func sampleRows(grower: TreeGrower, generator: inout SeededGenerator, gradients: inout [Float]) -> Int {
        let rows = grower.rows
        let rowCount = data.rowCount
        if let sampling = configuration.gradientSampling {
            let topCount = Int((sampling.topRate * Double(rowCount)).rounded(.up))
            let (threshold, tiesToKeep) = Self.largestMagnitudes(gradients, count: topCount)
            let keepOther = sampling.otherRate / (1 - sampling.topRate)
            let scale = Float((1 - sampling.topRate) / sampling.otherRate)
            var ties = tiesToKeep
            var count = 0
            for row in 0..<rowCount {
                let magnitude = abs(gradients[2 * row])
                var keep = magnitude > threshold
                if !keep && magnitude == threshold && ties > 0 {
                    ties -= 1
                    keep = true
                }
                if !keep {
                    guard generator.nextUnit() < keepOther else { continue }
                    gradients[2 * row] *= scale
                    gradients[2 * row + 1] *= scale
                }
                rows[count] = Int32(row)
                count += 1
            }
            return count
        }
        if configuration.rowSampleRate >= 1 {
            for row in 0..<rowCount { rows[row] = Int32(row) }
            return rowCount
        }
        let rate = configuration.rowSampleRate
        var count = 0
        for row in 0..<rowCount where generator.nextUnit() < rate {
            rows[count] = Int32(row)
            count += 1
        }
        return count
    }

    /// The `count`-th largest |gradient| and how many rows equal to it belong to the top `count`
    /// (the first ones in row order), found exactly in two counting passes over the 16-bit halves
    /// of the magnitudes' bit patterns (which order non-negative Floats like their values).
    static func largestMagnitudes(_ gradients: [Float], count: Int) -> (threshold: Float, ties: Int) {
        let rowCount = gradients.count / 2
        guard count > 0 && count <= rowCount else { return (count > 0 ? -1 : .infinity, 0) }
        var histogram = [Int](repeating: 0, count: 1 << 16)
        for row in 0..<rowCount {
            histogram[Int(abs(gradients[2 * row]).bitPattern >> 16)] += 1
        }
        var above = 0
        var high = (1 << 16) - 1
        while above + histogram[high] < count {
            above += histogram[high]
            high -= 1
        }
        for index in histogram.indices { histogram[index] = 0 }
        for row in 0..<rowCount {
            let bits = abs(gradients[2 * row]).bitPattern
            if Int(bits >> 16) == high { histogram[Int(bits & 0xFFFF)] += 1 }
        }
        var low = (1 << 16) - 1
        while above + histogram[low] < count {
            above += histogram[low]
            low -= 1
        }
        let threshold = Float(bitPattern: UInt32(high << 16 | low))
        return (threshold, count - above)
    }

    /// Adds each row's new leaf value: rows the tree was grown on are read from the leaves' row
    /// ranges; rows left out of the sample walk the tree on their codes.
    private func updateScores(_ scores: inout [Double], grown: [TreeGrower.Node], grower: TreeGrower, sampleCount: Int) {
        let rows = grower.rows
        scores.withUnsafeMutableBufferPointer { scores in
            // Leaves own disjoint rows, so they can be added on several workers.
            let leaves = grown.filter(\.isLeaf)
            let workers = sampleCount >= Parallel.rowChunk ? configuration.workers : 1
            Parallel.forEach(pieces: leaves.count, workers: workers) { leaf in
                let node = leaves[leaf]
                let value = Double(node.leafValue)
                for i in node.start..<node.start + node.count {
                    scores[Int(rows[i])] += value
                }
            }
            guard sampleCount < scores.count else { return }
            // rows[0..<sampleCount] is no longer sorted after partitioning; mark the sampled rows.
            var sampled = [Bool](repeating: false, count: scores.count)
            for i in 0..<sampleCount { sampled[Int(rows[i])] = true }
            let walk = grower.binnedWalk(grown)
            let rowCount = scores.count
            sampled.withUnsafeBufferPointer { sampled in
                Parallel.forEach(pieces: Parallel.chunkCount(rows: rowCount), workers: configuration.workers) { chunk in
                    for row in Parallel.chunkRange(chunk, rows: rowCount) where !sampled[row] {
                        scores[row] += walk.value(of: row)
                    }
                }
            }
        }
    }

    /// Converts a grown tree to model nodes (absolute child indices, Float thresholds) and computes
    /// each inner node's expected value, the cover-weighted mean of its children, for attributions.
    static func modelNodes(_ grown: [TreeGrower.Node], bins: FeatureBins, start: Int, featureCount: Int) -> ([TreeNode], [Float], [Double]) {
        var expected = [Double](repeating: 0, count: grown.count)
        for index in grown.indices.reversed() {
            let node = grown[index]
            if node.isLeaf {
                expected[index] = Double(node.leafValue)
            } else {
                let leftCover = max(grown[node.left].hessian, 0)
                let rightCover = max(grown[node.right].hessian, 0)
                let cover = leftCover + rightCover
                expected[index] = cover > 0
                    ? (leftCover * expected[node.left] + rightCover * expected[node.right]) / cover
                    : (expected[node.left] + expected[node.right]) / 2
            }
        }
        var gains = [Double](repeating: 0, count: featureCount)
        var nodes: [TreeNode] = []
        var covers: [Float] = []
        for (index, node) in grown.enumerated() {
            covers.append(Float(max(node.hessian, 0)))
            guard !node.isLeaf, let split = node.split else {
                nodes.append(.leaf(node.leafValue))
                continue
            }
            let cuts = bins.cuts[split.feature]
            let threshold = split.bin < cuts.count ? cuts[split.bin] : Float.infinity
            gains[split.feature] += split.gain
            nodes.append(TreeNode(
                feature: Int32(split.feature), threshold: threshold,
                left: Int32(start + node.left), value: Float(expected[index]), defaultLeft: split.defaultLeft))
        }
        return (nodes, covers, gains)
    }

    /// Adds a grown tree's leaf values to the scores of rows coded with the training edges (the
    /// validation rows). A code is at most a split's bin exactly when the value is at most the
    /// model's threshold for it, so these are the sums the model's Float walk gives.
    static func addTree(_ grown: [TreeGrower.Node], features: BinnedMatrix, scores: inout [Double], workers: Int) {
        let rows = features.rowCount
        let walk = TreeGrower.binnedWalk(grown, over: features)
        scores.withUnsafeMutableBufferPointer { output in
            guard let out = output.baseAddress else { return }
            Parallel.forEach(pieces: Parallel.chunkCount(rows: rows), workers: workers) { chunk in
                for row in Parallel.chunkRange(chunk, rows: rows) {
                    out[row] += walk.value(of: row)
                }
            }
        }
    }

    /// Logistic-loss gradients and hessians at the scores, and the weighted mean log-loss.
    /// Sums are grouped in fixed chunks and combined in chunk order, whatever the worker count.
    static func gradientsAndLoss(scores: [Double], labels: [Bool], weights: [Float]?, gradients: inout [Float], workers: Int) -> Double {
        let rows = scores.count
        let chunks = Parallel.chunkCount(rows: rows)
        var losses = [Double](repeating: 0, count: chunks)
        var weightSums = [Double](repeating: 0, count: chunks)
        scores.withUnsafeBufferPointer { scores in
            labels.withUnsafeBufferPointer { labels in
                gradients.withUnsafeMutableBufferPointer { gradients in
                    losses.withUnsafeMutableBufferPointer { losses in
                        weightSums.withUnsafeMutableBufferPointer { weightSums in
                            withWeights(weights) { weights in
                                Parallel.forEach(pieces: chunks, workers: workers) { chunk in
                                    var loss = 0.0
                                    var weightSum = 0.0
                                    for row in Parallel.chunkRange(chunk, rows: rows) {
                                        let weight = weights.map { Double($0[row]) } ?? 1
                                        let score = scores[row]
                                        let label: Double = labels[row] ? 1 : 0
                                        let e = exp(-abs(score))
                                        let p = score >= 0 ? 1 / (1 + e) : e / (1 + e)
                                        loss += weight * (log1p(e) + max(score, 0) - label * score)
                                        weightSum += weight
                                        gradients[2 * row] = Float(weight * (p - label))
                                        gradients[2 * row + 1] = Float(weight * p * (1 - p))
                                    }
                                    losses[chunk] = loss
                                    weightSums[chunk] = weightSum
                                }
                            }
                        }
                    }
                }
            }
        }
        let totalWeight = weightSums.reduce(0, +)
        return totalWeight > 0 ? losses.reduce(0, +) / totalWeight : 0
    }

    static func logLoss(scores: [Double], labels: [Bool], weights: [Float]?) -> Double {
        var loss = 0.0
        var weightSum = 0.0
        for row in scores.indices {
            let weight = weights.map { Double($0[row]) } ?? 1
            let score = scores[row]
            loss += weight * (log1p(exp(-abs(score))) + max(score, 0) - (labels[row] ? score : 0))
            weightSum += weight
        }
        return weightSum > 0 ? loss / weightSum : 0
    }

    private static func withWeights<R>(_ weights: [Float]?, _ body: (UnsafeBufferPointer<Float>?) -> R) -> R {
        guard let weights else { return body(nil) }
        return weights.withUnsafeBufferPointer { body($0) }
    }
}
