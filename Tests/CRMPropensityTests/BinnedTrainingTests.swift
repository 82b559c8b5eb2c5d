@testable import CRMPropensity
import Foundation
import Testing

/// Training from rows coded as they were made (`BinnedRowsBuilder`) must give the model training
/// from the float table gives, and hold what it promises in memory: the point is that a replica
/// need not keep millions of rows as floats to train.
@Suite struct BinnedTrainingTests {
    /// A configuration whose binning sample is smaller than the rows (so the seeded sample, not
    /// all rows, places the cuts) and whose early stopping drops trees (so the kept model re-scores
    /// the rows, on codes here).
    static var configuration: GradientBoostedTrees.Configuration {
        var configuration = PlantedPattern.configuration
        configuration.treeCount = 200
        configuration.learningRate = 0.3
        configuration.minChildHessian = 0.05
        configuration.earlyStoppingRounds = 5
        configuration.binningSampleRows = 700
        configuration.maxBins = 32
        return configuration
    }

    static func builder(_ data: LabeledData, configuration: GradientBoostedTrees.Configuration) throws -> BinnedRowsBuilder {
        var builder = try BinnedRowsBuilder(columnNames: data.features.columnNames, configuration: configuration)
        for row in 0..<data.rowCount { try builder.append(row: data.features.row(row)) }
        return builder
    }

    @Test func codesFromABuilderTrainTheFloatTrainingsModel() throws {
        let train = try PlantedPattern.make(rows: 3_000, seed: 61).data
        let validation = try PlantedPattern.make(rows: 1_500, seed: 62).data
        let configuration = Self.configuration
        let fromFloats = try GradientBoostedTrees(configuration: configuration).train(train, validation: validation)

        // All rows pending until finish: the builder learns the edges from the same seeded sample.
        var trainRows = try Self.builder(train, configuration: configuration)
        #expect(trainRows.pendingRowCount == 3_000)
        let trainMatrix = trainRows.finish()
        var validationRows = try Self.builder(validation, configuration: configuration)
        try validationRows.adopt(trainMatrix.edges)
        let fromCodes = try GradientBoostedTrees(configuration: configuration).train(
            binned: BinnedData(features: trainMatrix, labels: train.labels, weights: train.weights),
            validation: BinnedData(features: validationRows.finish(), labels: validation.labels))

        #expect(fromFloats.report.stoppedEarly && fromFloats.model.treeCount < fromFloats.report.iterations)
        #expect(fromCodes.model == fromFloats.model)
        #expect(fromCodes.model.serialized() == fromFloats.model.serialized())
        #expect(fromCodes.report.validationLossHistory == fromFloats.report.validationLossHistory)
        #expect(fromCodes.report.trainLogLoss == fromFloats.report.trainLogLoss)
        #expect(fromCodes.report.validationAUC == fromFloats.report.validationAUC)
    }

    @Test func rowsAfterTheSampleAreCodedWithItsEdges() throws {
        let data = try PlantedPattern.make(rows: 2_000, seed: 63).data
        let configuration = Self.configuration
        var builder = try BinnedRowsBuilder(columnNames: data.features.columnNames, configuration: configuration)
        for row in 0..<600 { try builder.append(row: data.features.row(row)) }
        builder.learnEdgesIfSampleFull()
        #expect(builder.edges == nil, "600 rows do not fill a sample of 700")
        for row in 600..<900 { try builder.append(row: data.features.row(row)) }
        builder.learnEdgesIfSampleFull()
        let edges = try #require(builder.edges)
        #expect(builder.pendingRowCount == 0)
        for row in 900..<2_000 { try builder.append(row: data.features.row(row)) }
        #expect(builder.rowCount == 2_000)
        let coded = builder.finish()

        // The edges are those of the first 900 rows' sample, and every row is coded with them.
        let firstRows = try FeatureMatrix(columnNames: data.features.columnNames, values: Array(data.features.values[0..<900 * 8]))
        #expect(edges == FeatureBins.learn(from: firstRows, configuration: configuration))
        let reference = try BinnedMatrix(encoding: data.features, edges: edges, workers: 2)
        for column in 0..<8 {
            for row in 0..<2_000 {
                #expect(coded.code(row: row, column: column) == reference.code(row: row, column: column))
            }
        }
        #expect(coded.code(row: 5, column: 2) == FeatureBins.code(data.features[5, 2], cuts: edges.cuts[2]))

        // A model on these codes scores the floats as it scored the codes, NaNs included.
        let labeled = try BinnedData(features: coded, labels: data.labels)
        let model = try GradientBoostedTrees(configuration: configuration).train(binned: labeled).model
        #expect(bits(try model.logits(binned: coded, workers: 2)) == bits(try model.logits(data.features, workers: 2)))
    }

    @Test func codesTakeOneByteARowAndFeatureAndNoFloatsStay() throws {
        let columns = 3
        let rows = 140_000
        var configuration = GradientBoostedTrees.Configuration()
        configuration.binningSampleRows = 10_000
        var builder = try BinnedRowsBuilder(columnNames: ["a", "b", "c"], configuration: configuration)
        var random = SeededGenerator(seed: 64)
        for row in 0..<rows {
            try builder.append(row: [Float(random.nextUnit()), Float(row % 7), random.nextUnit() < 0.1 ? .nan : Float(random.nextUnit() * 100)])
            if row == 20_000 { builder.learnEdgesIfSampleFull() }
        }
        #expect(builder.pendingRowCount == 0)
        // What is held is the codes' chunks (the last one reserved whole; an allocation may round
        // up by a few bytes), not 4-byte floats.
        let chunks = (rows + BinnedRowsBuilder.chunkRows - 1) / BinnedRowsBuilder.chunkRows
        #expect(builder.heldBytes <= chunks * (BinnedRowsBuilder.chunkRows * columns + 64))
        #expect(builder.heldBytes < rows * columns * MemoryLayout<Float>.stride / 2)
        let matrix = builder.finish()
        #expect(matrix.rowCount == rows)
        #expect(matrix.codeBytes == rows * columns)
        #expect(builder.heldBytes == 0 && builder.rowCount == 0)
        #expect(matrix.code(row: 13, column: 1) == matrix.code(row: 6, column: 1))
        #expect(Int(matrix.code(row: 0, column: 2)) <= matrix.edges.missingCode(2))
    }

    @Test func mismatchedEdgesAndRowsAreRefused() throws {
        let data = try PlantedPattern.make(rows: 1_000, seed: 65).data
        let other = try PlantedPattern.make(rows: 1_000, seed: 66).data
        let configuration = Self.configuration
        var first = try Self.builder(data, configuration: configuration)
        let firstMatrix = first.finish()
        var second = try Self.builder(other, configuration: configuration)
        let secondMatrix = second.finish()
        #expect(firstMatrix.edges != secondMatrix.edges)
        #expect(throws: PropensityError.self) {
            try GradientBoostedTrees(configuration: configuration).train(
                binned: BinnedData(features: firstMatrix, labels: data.labels),
                validation: BinnedData(features: secondMatrix, labels: other.labels))
        }
        // A model trained on other edges has thresholds the codes cannot route exactly.
        let model = try GradientBoostedTrees(configuration: configuration).train(binned: BinnedData(features: firstMatrix, labels: data.labels)).model
        #expect(throws: PropensityError.self) { try model.logits(binned: secondMatrix) }
        var builder = try BinnedRowsBuilder(columnNames: ["a", "b"], configuration: configuration)
        #expect(throws: PropensityError.self) { try builder.append(row: [1]) }
        #expect(throws: PropensityError.self) { try builder.adopt(firstMatrix.edges) }
        #expect(throws: PropensityError.self) { try BinnedData(features: firstMatrix, labels: [true]) }
    }
}
