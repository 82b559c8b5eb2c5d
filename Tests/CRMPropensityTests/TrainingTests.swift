@testable import CRMPropensity
import Foundation
import Synchronization
import Testing

@Suite struct TrainingTests {
    @Test func earlyStoppingKeepsTheBestRound() throws {
        let train = try PlantedPattern.make(rows: 2_000, seed: 41)
        let validation = try PlantedPattern.make(rows: 2_000, seed: 42)
        var configuration = PlantedPattern.configuration
        configuration.treeCount = 300
        configuration.learningRate = 0.3
        configuration.minChildHessian = 0.05
        configuration.earlyStoppingRounds = 5
        let calls = Mutex<[Int]>([])
        let result = try GradientBoostedTrees(configuration: configuration).train(train.data, validation: validation.data) { iteration, total, trainLoss, validationLoss in
            #expect(total == 300)
            #expect(trainLoss.isFinite && validationLoss != nil)
            calls.withLock { $0.append(iteration) }
        }
        let report = result.report
        #expect(report.stoppedEarly)
        #expect(report.iterations < 300)
        #expect(report.iterations == report.bestIteration + 5)
        #expect(result.model.treeCount == report.bestIteration)
        #expect(calls.withLock { $0 } == Array(1...report.iterations))
        #expect(report.validationLossHistory.count == report.iterations)
        let best = report.validationLossHistory.min() ?? .nan
        #expect(report.validationLossHistory[report.bestIteration - 1] == best)
        // The kept model's validation loss is the best round's, recomputed from its scores.
        let scores = try result.model.probabilities(validation.data.features).map(Double.init)
        #expect(abs(RankingMetrics.logLoss(probabilities: scores, labels: validation.data.labels) - best) < 1e-4)
        #expect(abs((report.validationLogLoss ?? .nan) - best) < 1e-12)
        #expect(report.validationAUC.map { $0 > 0.7 } == true, "validation AUC \(report.validationAUC ?? 0)")
        #expect(report.topFeatures.count <= 10 && !report.topFeatures.isEmpty)
    }

    @Test func leafLimitedTreesStayWithinTheLimit() throws {
        let data = try PlantedPattern.make(rows: 2_000, seed: 43).data
        var configuration = PlantedPattern.configuration
        configuration.treeCount = 5
        configuration.maxDepth = 8
        configuration.maxLeaves = 6
        configuration.minChildHessian = 0.01
        let model = try GradientBoostedTrees(configuration: configuration).train(data).model
        #expect(model.nodeCount == 5 * (2 * 6 - 1))
    }

    @Test func weightsActLikeRepeatedRows() throws {
        // Weight 2 on a row is the same data as that row twice.
        let rows: [[Float]] = [[1], [2], [3], [4], [5], [6]]
        let labels = [false, true, false, true, true, false]
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 3
        configuration.maxDepth = 2
        configuration.minChildHessian = 0
        let weighted = try GradientBoostedTrees(configuration: configuration).train(
            LabeledData(features: FeatureMatrix(columnNames: ["x"], rows: rows), labels: labels, weights: [2, 1, 1, 1, 1, 2])).model
        let repeated = try GradientBoostedTrees(configuration: configuration).train(
            LabeledData(features: FeatureMatrix(columnNames: ["x"], rows: [[1]] + rows + [[6]]), labels: [false] + labels + [false])).model
        for x: Float in [1, 2, 3, 4, 5, 6] {
            #expect(abs(try weighted.logit([x]) - repeated.logit([x])) < 1e-5)
        }
    }

    @Test func invalidInputIsRejectedWithAReason() throws {
        let matrix = try FeatureMatrix(columnNames: ["x"], rows: [[1], [2]])
        #expect(throws: PropensityError.self) { try LabeledData(features: matrix, labels: [true]) }
        #expect(throws: PropensityError.self) { try LabeledData(features: matrix, labels: [true, false], weights: [1, -1]) }
        let oneClass = try LabeledData(features: matrix, labels: [true, true])
        let error = #expect(throws: PropensityError.self) { try GradientBoostedTrees().train(oneClass) }
        #expect(error?.code == .invalidInput)
        var configuration = GradientBoostedTrees.Configuration()
        configuration.learningRate = 0
        let both = try LabeledData(features: matrix, labels: [true, false])
        let configurationError = #expect(throws: PropensityError.self) { try GradientBoostedTrees(configuration: configuration).train(both) }
        #expect(configurationError?.code == .invalidConfiguration)
        #expect(configurationError?.reason.contains("learningRate") == true)
        #expect(throws: PropensityError.self) { try FeatureMatrix(columnNames: ["a", "a"]) }
        #expect(throws: PropensityError.self) { try FeatureMatrix(columnNames: ["a", "b"], values: [1, 2, 3]) }
    }

    @Test func cancellationStopsTraining() async throws {
        let data = try PlantedPattern.make(rows: 500, seed: 44).data
        let task = Task { try GradientBoostedTrees(configuration: PlantedPattern.configuration).train(data) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func reportIsCodable() throws {
        let data = try PlantedPattern.make(rows: 500, seed: 45).data
        var configuration = PlantedPattern.configuration
        configuration.treeCount = 3
        let report = try GradientBoostedTrees(configuration: configuration).train(data).report
        let decoded = try JSONDecoder().decode(TrainingReport.self, from: JSONEncoder().encode(report))
        #expect(decoded == report)
        #expect(report.trainRows == 500 && report.validationRows == 0 && report.validationLogLoss == nil)
        var settings = GradientBoostedTrees.Configuration.gradientSampled
        settings.maxLeaves = 31
        let stored = try JSONDecoder().decode(GradientBoostedTrees.Configuration.self, from: JSONEncoder().encode(settings))
        #expect(stored == settings)
    }
}
