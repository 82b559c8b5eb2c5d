@testable import CRMPropensity
import Foundation
import Testing

/// Sampled rounds grow trees on part of the rows but must update every row's score exactly as the
/// model will score it, or the next round's gradients (and the report) drift from the model.
@Suite struct SamplingTests {
    static func trainLossMatchesTheModel(_ configuration: GradientBoostedTrees.Configuration) throws {
        let data = try PlantedPattern.make(rows: 3_000, seed: 51).data
        let result = try GradientBoostedTrees(configuration: configuration).train(data)
        let probabilities = try result.model.probabilities(data.features).map(Double.init)
        let modelLoss = RankingMetrics.logLoss(probabilities: probabilities, labels: data.labels)
        #expect(abs(modelLoss - result.report.trainLogLoss) < 1e-5, "model \(modelLoss) vs training \(result.report.trainLogLoss)")
        #expect(result.report.trainLossHistory.last.map { $0 < result.report.trainLossHistory[0] } == true)
    }

    @Test func bagging() throws {
        var configuration = PlantedPattern.configuration
        configuration.treeCount = 20
        configuration.rowSampleRate = 0.5
        try Self.trainLossMatchesTheModel(configuration)
    }

    @Test func gradientSampling() throws {
        var configuration = PlantedPattern.configuration
        configuration.treeCount = 20
        configuration.gradientSampling = .init(topRate: 0.2, otherRate: 0.2)
        configuration.columnSampleRate = 0.75
        try Self.trainLossMatchesTheModel(configuration)
    }

    @Test func gradientSamplingStillFindsThePattern() throws {
        let train = try PlantedPattern.make(rows: 8_000, seed: 11)
        let holdout = try PlantedPattern.make(rows: 10_000, seed: 12)
        var configuration = PlantedPattern.configuration
        configuration.gradientSampling = .init()
        let model = try GradientBoostedTrees(configuration: configuration).train(train.data).model
        let scores = try model.logits(holdout.data.features).map(Double.init)
        let ratio = RankingMetrics.expectedPrecisionRatio(
            at: holdout.data.rowCount / 100, ranking: RankingMetrics.ranking(scores: scores), probabilities: holdout.truth)
        #expect(ratio >= 0.85, "GOSS expected precision ratio \(ratio)")
    }

    @Test func largestMagnitudesIsExactWithTies() {
        // |g| = 3, 1, 3, 0.5, 3, 2: the top 3 are 3, 3, 3; the top 2 are two of the three 3s.
        let gradients: [Float] = [3, 0, -1, 0, -3, 0, 0.5, 0, 3, 0, 2, 0]
        #expect(BoostingSession.largestMagnitudes(gradients, count: 2) == (threshold: 3, ties: 2))
        #expect(BoostingSession.largestMagnitudes(gradients, count: 3) == (threshold: 3, ties: 3))
        #expect(BoostingSession.largestMagnitudes(gradients, count: 4) == (threshold: 2, ties: 1))
        #expect(BoostingSession.largestMagnitudes(gradients, count: 6) == (threshold: 0.5, ties: 1))
    }

    @Test func gradientSamplingConflictsWithBagging() throws {
        var configuration = GradientBoostedTrees.Configuration()
        configuration.gradientSampling = .init()
        configuration.rowSampleRate = 0.5
        let data = try PlantedPattern.make(rows: 100, seed: 1).data
        let error = #expect(throws: PropensityError.self) { try GradientBoostedTrees(configuration: configuration).train(data) }
        #expect(error?.code == .invalidConfiguration)
    }

    /// Level-by-level growth (all of a level's histograms in one pass) and best-first growth with a
    /// limit that does not bind must grow the same trees.
    @Test func levelWiseAndBestFirstAgree() throws {
        let data = try PlantedPattern.make(rows: 3_000, seed: 52).data
        var levelWise = PlantedPattern.configuration
        levelWise.treeCount = 10
        levelWise.maxDepth = 5
        levelWise.minChildHessian = 0.05
        var bestFirst = levelWise
        bestFirst.maxLeaves = 32
        let a = try GradientBoostedTrees(configuration: levelWise).train(data).model
        let b = try GradientBoostedTrees(configuration: bestFirst).train(data).model
        #expect(a.nodeCount == b.nodeCount)
        #expect(bits(try a.logits(data.features)) == bits(try b.logits(data.features)))
        // Gains are summed in node order, which differs between the two: equal up to rounding.
        #expect(zip(a.featureGains, b.featureGains).allSatisfy { abs($0 - $1) <= 1e-9 * max(abs($0), 1) })
    }
}
