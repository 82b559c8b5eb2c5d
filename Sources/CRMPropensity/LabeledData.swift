/// Features with a binary outcome per row and optional per-row sample weights.
///
/// Weights exist for class imbalance: with a ~1% purchase rate a caller may keep every buyer, keep
/// one non-buyer in ten, and give each kept non-buyer weight 10, so the model sees a tenth of the
/// rows but still estimates the population's probabilities.
public struct LabeledData: Sendable {
    public let features: FeatureMatrix
    public let labels: [Bool]
    /// One non-negative finite weight per row, or nil for weight 1 everywhere.
    public let weights: [Float]?

    public init(features: FeatureMatrix, labels: [Bool], weights: [Float]? = nil) throws(PropensityError) {
        guard labels.count == features.rowCount else {
            throw PropensityError(.invalidInput, "\(labels.count) labels for \(features.rowCount) rows")
        }
        if let weights {
            guard weights.count == features.rowCount else {
                throw PropensityError(.invalidInput, "\(weights.count) weights for \(features.rowCount) rows")
            }
            guard let bad = weights.firstIndex(where: { !($0.isFinite && $0 >= 0) }) else {
                self.features = features
                self.labels = labels
                self.weights = weights
                return
            }
            throw PropensityError(.invalidInput, "weight \(weights[bad]) at row \(bad) is not a finite non-negative number")
        }
        self.features = features
        self.labels = labels
        self.weights = nil
    }

    public var rowCount: Int { labels.count }

    func weight(_ row: Int) -> Double {
        weights.map { Double($0[row]) } ?? 1
    }

    /// Weighted counts of positive and negative rows.
    var classWeights: (positive: Double, negative: Double) {
        var positive = 0.0
        var negative = 0.0
        for row in 0..<labels.count {
            if labels[row] { positive += weight(row) } else { negative += weight(row) }
        }
        return (positive, negative)
    }
}
