import Foundation

/// What the matching service needs from any propensity model: score a row or a matrix, explain a
/// score by feature, and store the model as bytes.
///
/// Both model kinds conform, so a service can hold `any PropensityModel` and swap the boosted trees
/// for the logistic baseline (or back) without other changes.
public protocol PropensityModel: Sendable {
    /// The column names the model was trained on, in the order rows must follow.
    var featureNames: [String] { get }

    /// The log-odds of a purchase for one row of `featureNames.count` values (NaN = missing).
    func logit(_ row: ArraySlice<Float>) throws(PropensityError) -> Float

    /// Log-odds for every row of a matrix whose columns are exactly `featureNames`.
    func logits(_ matrix: FeatureMatrix, workers: Int) throws(PropensityError) -> [Float]

    /// Each feature's additive share of the row's logit; the shares plus `contributionBias` equal
    /// `logit(row)` (up to Float rounding).
    func contributions(_ row: ArraySlice<Float>) throws(PropensityError) -> [Float]

    /// The part of every logit that no feature is credited with.
    var contributionBias: Float { get }

    /// The model in its documented binary format (see `ModelFormat`).
    func serialized() -> [UInt8]
}

/// One feature's share of a score, as shown to an adviser ("why this customer").
public struct FeatureContribution: Sendable, Hashable {
    public let featureIndex: Int
    public let value: Float

    public init(featureIndex: Int, value: Float) {
        self.featureIndex = featureIndex
        self.value = value
    }
}

extension PropensityModel {
    public var featureCount: Int { featureNames.count }

    public func logit(_ row: [Float]) throws(PropensityError) -> Float {
        try logit(row[...])
    }

    /// The purchase probability, the logistic function of `logit`.
    public func probability(_ row: ArraySlice<Float>) throws(PropensityError) -> Float {
        sigmoid(try logit(row))
    }

    public func probability(_ row: [Float]) throws(PropensityError) -> Float {
        try probability(row[...])
    }

    /// Log-odds for every row of a matrix, on the calling thread.
    public func logits(_ matrix: FeatureMatrix) throws(PropensityError) -> [Float] {
        try logits(matrix, workers: 1)
    }

    /// Probabilities for every row of a matrix (see `logits`).
    public func probabilities(_ matrix: FeatureMatrix, workers: Int = 1) throws(PropensityError) -> [Float] {
        try logits(matrix, workers: workers).map(sigmoid)
    }

    public func contributions(_ row: [Float]) throws(PropensityError) -> [Float] {
        try contributions(row[...])
    }

    /// The features that raised this row's score most, largest first.
    ///
    /// Only features with a positive contribution are returned ("why is this customer ranked high"),
    /// so the result may be shorter than `count`; equal values are ordered by feature index.
    public func topContributions(_ row: ArraySlice<Float>, count: Int = 3) throws(PropensityError) -> [FeatureContribution] {
        let values = try contributions(row)
        return Self.top(values, count: count)
    }

    public func topContributions(_ row: [Float], count: Int = 3) throws(PropensityError) -> [FeatureContribution] {
        try topContributions(row[...], count: count)
    }

    static func top(_ values: [Float], count: Int) -> [FeatureContribution] {
        guard count > 0 else { return [] }
        var best: [FeatureContribution] = []
        for (index, value) in values.enumerated() where value > 0 {
            let candidate = FeatureContribution(featureIndex: index, value: value)
            let position = best.firstIndex { $0.value < value } ?? best.count
            if position < count {
                best.insert(candidate, at: position)
                if best.count > count { best.removeLast() }
            }
        }
        return best
    }

    /// Checks that a matrix has the model's columns in the model's order: scoring a matrix whose
    /// columns were reordered would silently score the wrong features.
    func checkColumns(_ matrix: FeatureMatrix) throws(PropensityError) {
        guard matrix.columnNames == featureNames else {
            throw PropensityError(.invalidInput, "matrix columns \(matrix.columnNames.prefix(5))… differ from the model's \(featureNames.prefix(5))… (\(matrix.columnCount) vs \(featureNames.count))")
        }
    }

    func checkRow(_ row: ArraySlice<Float>) throws(PropensityError) {
        guard row.count == featureNames.count else {
            throw PropensityError(.invalidInput, "a row of \(row.count) values for a model of \(featureNames.count) features")
        }
    }
}

/// The logistic function, written to stay finite for any finite or infinite input.
@inline(__always)
func sigmoid(_ x: Float) -> Float {
    if x >= 0 {
        return 1 / (1 + expf(-x))
    }
    let e = expf(x)
    return e / (1 + e)
}

@inline(__always)
func sigmoid(_ x: Double) -> Double {
    if x >= 0 {
        return 1 / (1 + exp(-x))
    }
    let e = exp(x)
    return e / (1 + e)
}
