/// Binned rows with their outcomes: what ``GradientBoostedTrees/train(binned:validation:progress:)``
/// fits, as ``LabeledData`` is for floats.
public struct BinnedData: Sendable {
    public let features: BinnedMatrix
    public let labels: [Bool]
    /// One non-negative finite weight per row, or nil for weight 1 everywhere.
    public let weights: [Float]?

    public init(features: BinnedMatrix, labels: [Bool], weights: [Float]? = nil) throws(PropensityError) {
        guard labels.count == features.rowCount else {
            throw PropensityError(.invalidInput, "\(labels.count) labels for \(features.rowCount) rows")
        }
        if let weights {
            guard weights.count == features.rowCount else {
                throw PropensityError(.invalidInput, "\(weights.count) weights for \(features.rowCount) rows")
            }
            if let bad = weights.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
                throw PropensityError(.invalidInput, "weight \(weights[bad]) at row \(bad) is not a finite non-negative number")
            }
        }
        self.features = features
        self.labels = labels
        self.weights = weights
    }

    public var rowCount: Int { labels.count }

    /// Weighted counts of positive and negative rows.
    var classWeights: (positive: Double, negative: Double) {
        var positive = 0.0
        var negative = 0.0
        for row in 0..<labels.count {
            let weight = weights.map { Double($0[row]) } ?? 1
            if labels[row] { positive += weight } else { negative += weight }
        }
        return (positive, negative)
    }
}
