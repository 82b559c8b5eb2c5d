@testable import CRMPropensity
import Testing

/// A missing value follows the direction training learned for it at each split.
@Suite struct MissingValueTests {
    /// 100 rows with x missing, 150 with x in (0, 0.5) and label 0, 150 with x in (0.5, 1) and
    /// label 1; the missing rows are labelled `missingLabel`.
    static func model(missingLabel: Bool) throws -> BoostedTreesModel {
        var rows: [[Float]] = []
        var labels: [Bool] = []
        for index in 0..<400 {
            if index < 100 {
                rows.append([.nan]); labels.append(missingLabel)
            } else if index < 250 {
                rows.append([Float(index - 100) / 300]); labels.append(false)
            } else {
                rows.append([0.5 + Float(index - 250) / 300]); labels.append(true)
            }
        }
        let data = try LabeledData(features: FeatureMatrix(columnNames: ["x"], rows: rows), labels: labels)
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 1
        configuration.maxDepth = 1
        configuration.learningRate = 1
        return try GradientBoostedTrees(configuration: configuration).train(data).model
    }

    @Test func missingGoesWithThePositives() throws {
        let model = try Self.model(missingLabel: true)
        #expect(model.nodeCount == 3)
        #expect(try model.logit([.nan]) == model.logit([0.9]))
        #expect(try model.logit([.nan]) > model.logit([0.1]))
        #expect(model.nodes[0].defaultLeft == false)
    }

    @Test func missingGoesWithTheNegatives() throws {
        let model = try Self.model(missingLabel: false)
        #expect(try model.logit([.nan]) == model.logit([0.1]))
        #expect(try model.logit([.nan]) < model.logit([0.9]))
        #expect(model.nodes[0].defaultLeft == true)
    }

    /// Missing-versus-present is itself a split when a feature has one value besides missing.
    @Test func presenceAloneCanSplit() throws {
        let rows: [[Float]] = (0..<200).map { $0 < 100 ? [.nan] : [1] }
        let labels = (0..<200).map { $0 < 100 }
        let data = try LabeledData(features: FeatureMatrix(columnNames: ["flag"], rows: rows), labels: labels)
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 1
        configuration.maxDepth = 1
        configuration.learningRate = 1
        let model = try GradientBoostedTrees(configuration: configuration).train(data).model
        #expect(model.nodeCount == 3)
        #expect(try model.logit([.nan]) > 1)
        #expect(try model.logit([1]) < -1)
        // A value never seen in training still counts as present.
        #expect(try model.logit([7]) == model.logit([1]))
    }

    /// Without missing rows at a split, a missing value goes to the side that held more weight.
    @Test func unseenMissingFollowsTheHeavierSide() throws {
        let rows: [[Float]] = (0..<300).map { [Float($0)] }
        let labels = (0..<300).map { $0 >= 250 }
        let data = try LabeledData(features: FeatureMatrix(columnNames: ["x"], rows: rows), labels: labels)
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 1
        configuration.maxDepth = 1
        let model = try GradientBoostedTrees(configuration: configuration).train(data).model
        let cover = (left: model.covers[Int(model.nodes[0].left)], right: model.covers[Int(model.nodes[0].right)])
        let heavier: Float = cover.left >= cover.right ? 0 : 299
        #expect(try model.logit([.nan]) == model.logit([heavier]))
    }
}
