@testable import CRMPropensity
import Testing

/// Same data, configuration and seed must give the same bytes, on one thread or two; another seed
/// (with sampling on) must give another model.
@Suite struct DeterminismTests {
    static func sampledConfiguration(seed: UInt64, workers: Int) -> GradientBoostedTrees.Configuration {
        var configuration = PlantedPattern.configuration
        configuration.treeCount = 15
        configuration.rowSampleRate = 0.7
        configuration.columnSampleRate = 0.6
        configuration.seed = seed
        configuration.workers = workers
        configuration.binningSampleRows = 1_000  // exercise the sampled quantiles too
        configuration.parallelCellThreshold = 0  // take the threaded histogram path on small data
        return configuration
    }

    @Test func sameSeedSameBytesAnyThreadCount() throws {
        let data = try PlantedPattern.make(rows: 3_000, seed: 5).data
        let first = try GradientBoostedTrees(configuration: Self.sampledConfiguration(seed: 7, workers: 2)).train(data).model
        let second = try GradientBoostedTrees(configuration: Self.sampledConfiguration(seed: 7, workers: 2)).train(data).model
        let serial = try GradientBoostedTrees(configuration: Self.sampledConfiguration(seed: 7, workers: 1)).train(data).model
        #expect(first.serialized() == second.serialized())
        #expect(first.serialized() == serial.serialized())
    }

    @Test func differentSeedDifferentModel() throws {
        let data = try PlantedPattern.make(rows: 3_000, seed: 5).data
        let first = try GradientBoostedTrees(configuration: Self.sampledConfiguration(seed: 7, workers: 2)).train(data).model
        let other = try GradientBoostedTrees(configuration: Self.sampledConfiguration(seed: 8, workers: 2)).train(data).model
        #expect(first.serialized() != other.serialized())
    }

    @Test func logisticFitIsDeterministic() throws {
        let data = try PlantedPattern.make(rows: 2_000, seed: 5).data
        var configuration = LogisticRegression.Configuration()
        configuration.workers = 1
        let serial = try LogisticRegression.fit(data, configuration: configuration)
        configuration.workers = 2
        let parallel = try LogisticRegression.fit(data, configuration: configuration)
        #expect(serial.serialized() == parallel.serialized())
    }
}
