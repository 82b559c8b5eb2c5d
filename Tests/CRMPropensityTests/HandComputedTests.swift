@testable import CRMPropensity
import Foundation
import Testing

/// A one-split tree on six rows, every number worked out by hand from the logistic gradients.
@Suite struct HandComputedTests {
    /// x = 1...6, labels 0,0,0,0,1,1. Base score log(2/4); at p = 1/3 a negative has g = 1/3 and a
    /// positive g = -2/3, each h = 2/9. The best split is x <= 4.5 (gain 8/17 + 8/13 ≈ 1.086 beats
    /// 0.6 at x <= 3.5 and 0.287 at x <= 5.5); with lambda 1 and no shrinkage its leaves are
    /// -(4/3)/(8/9 + 1) = -12/17 and (4/3)/(4/9 + 1) = 12/13.
    static func oneSplitModel() throws -> BoostedTreesModel {
        let matrix = try FeatureMatrix(columnNames: ["x"], rows: (1...6).map { [Float($0)] })
        let data = try LabeledData(features: matrix, labels: [false, false, false, false, true, true])
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 1
        configuration.maxDepth = 1
        configuration.learningRate = 1
        configuration.lambda = 1
        configuration.minChildHessian = 0
        return try GradientBoostedTrees(configuration: configuration).train(data).model
    }

    @Test func leafValuesAreNewtonSteps() throws {
        let model = try Self.oneSplitModel()
        let base = log(2.0 / 4.0)
        #expect(abs(Double(model.baseScore) - base) < 1e-6)
        #expect(model.treeCount == 1)
        #expect(model.nodeCount == 3)
        for x: Float in [1, 2, 3, 4, 4.4] {
            #expect(abs(Double(try model.logit([x])) - (base - 12.0 / 17.0)) < 1e-5)
        }
        for x: Float in [4.6, 5, 6, 100] {
            #expect(abs(Double(try model.logit([x])) - (base + 12.0 / 13.0)) < 1e-5)
        }
        let gain = 0.5 * (16.0 / 17.0 + 16.0 / 13.0)
        #expect(abs(model.featureGains[0] - gain) < 1e-6)  // gradients are stored as Float
    }

    @Test func saabasExpectationIsCoverWeighted() throws {
        let model = try Self.oneSplitModel()
        // Root expectation: (8/9 · -12/17 + 4/9 · 12/13) / (12/9).
        let rootMean = (8.0 / 9 * (-12.0 / 17) + 4.0 / 9 * (12.0 / 13)) / (12.0 / 9)
        #expect(abs(Double(model.contributionBias) - (log(0.5) + rootMean)) < 1e-5)
        let low = try model.contributions([1])
        #expect(abs(Double(low[0]) - (-12.0 / 17 - rootMean)) < 1e-5)
    }

    @Test func baseScoreIsWeightedLogOdds() throws {
        let matrix = try FeatureMatrix(columnNames: ["x"], rows: [[1], [1], [1]])
        let data = try LabeledData(features: matrix, labels: [true, false, false], weights: [1, 2, 2])
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 1
        let model = try GradientBoostedTrees(configuration: configuration).train(data).model
        #expect(abs(Double(model.baseScore) - log(1.0 / 4.0)) < 1e-6)
        // A constant feature offers no split: one leaf, and the Newton step at the log-odds is 0.
        #expect(model.nodeCount == 1)
        #expect(abs(Double(try model.logit([1])) - log(0.25)) < 1e-6)
    }
}
