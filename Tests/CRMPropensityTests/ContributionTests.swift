@testable import CRMPropensity
import Foundation
import Testing

/// Attributions must add up to the score they explain, and the "top features" must be the largest
/// positive ones.
@Suite struct ContributionTests {
    @Test func boostedTreeContributionsSumToTheLogit() throws {
        let planted = try PlantedPattern.make(rows: 3_000, seed: 31)
        let model = try GradientBoostedTrees(configuration: PlantedPattern.configuration).train(planted.data).model
        for row in stride(from: 0, to: planted.data.rowCount, by: 7) {
            let values = planted.data.features.row(row)
            let contributions = try model.contributions(values)
            #expect(contributions.count == PlantedPattern.columnNames.count)
            let total = contributions.reduce(Double(model.contributionBias)) { $0 + Double($1) }
            #expect(abs(total - Double(try model.logit(values))) < 1e-4)
        }
    }

    @Test func logisticContributionsSumToTheLogit() throws {
        let planted = try PlantedPattern.make(rows: 1_500, seed: 32)
        let model = try LogisticRegression.fit(planted.data)
        for row in stride(from: 0, to: planted.data.rowCount, by: 11) {
            let values = planted.data.features.row(row)
            let total = try model.contributions(values).reduce(Double(model.contributionBias)) { $0 + Double($1) }
            #expect(abs(total - Double(try model.logit(values))) < 1e-4)
        }
        // A missing value is the mean: it contributes nothing.
        var row = Array(planted.data.features.row(0))
        row[2] = .nan
        #expect(try model.contributions(row)[2] == 0)
    }

    @Test func topContributionsAreTheLargestPositiveOnes() throws {
        let planted = try PlantedPattern.make(rows: 3_000, seed: 33)
        let model = try GradientBoostedTrees(configuration: PlantedPattern.configuration).train(planted.data).model
        // A customer in the planted sweet spot: the band and the gate should explain the score.
        let buyer: [Float] = [0.5, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 2]
        let top = try model.topContributions(buyer, count: 3)
        let all = try model.contributions(buyer)
        #expect(top.count <= 3 && !top.isEmpty)
        #expect(top.allSatisfy { $0.value > 0 })
        #expect(zip(top, top.dropFirst()).allSatisfy { $0.value >= $1.value })
        let expected = all.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.prefix(3).map(\.offset)
        #expect(top.map(\.featureIndex) == Array(expected))
        #expect(Set(top.prefix(2).map(\.featureIndex)).isSubset(of: [0, 1, 2]))
        #expect(try model.probability(buyer) > 0.5)
    }

    @Test func topContributionsKeepOnlyRaisingFeatures() {
        let top = BoostedTreesModel.top([-1, 0.5, 0, 2, 0.5], count: 3)
        #expect(top == [FeatureContribution(featureIndex: 3, value: 2), FeatureContribution(featureIndex: 1, value: 0.5), FeatureContribution(featureIndex: 4, value: 0.5)])
        #expect(BoostedTreesModel.top([-1, -2], count: 3).isEmpty)
        #expect(BoostedTreesModel.top([1, 2], count: 0).isEmpty)
    }

    @Test func scoringRejectsMismatchedInput() throws {
        let model = try HandComputedTests.oneSplitModel()
        #expect(throws: PropensityError.self) { try model.logit([1, 2]) }
        let other = try FeatureMatrix(columnNames: ["y"], rows: [[1]])
        let error = #expect(throws: PropensityError.self) { try model.logits(other) }
        #expect(error?.code == .invalidInput)
    }

    /// A service holds either kind behind the protocol and gets the same answers as from the type.
    @Test func bothModelsServeThroughTheProtocol() throws {
        let planted = try PlantedPattern.make(rows: 1_000, seed: 34)
        var configuration = PlantedPattern.configuration
        configuration.treeCount = 5
        let trees = try GradientBoostedTrees(configuration: configuration).train(planted.data).model
        let linear = try LogisticRegression.fit(planted.data)
        let models: [any PropensityModel] = [trees, linear]
        for model in models {
            let logits = try model.logits(planted.data.features)
            #expect(logits.count == planted.data.rowCount)
            #expect(bits(logits) == bits(try model.logits(planted.data.features, workers: 2)))
            let row = planted.data.features.row(3)
            #expect(try model.logit(row) == logits[3])
            #expect(abs(try model.probability(row) - 1 / (1 + Float(exp(-Double(logits[3]))))) < 1e-6)
            #expect(model.featureNames == PlantedPattern.columnNames)
        }
    }
}
