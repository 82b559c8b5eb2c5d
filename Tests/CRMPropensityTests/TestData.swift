@testable import CRMPropensity
import Foundation

/// Synthetic campaign data with a known truth: P(buy) = sigmoid(f(x)) where f has a non-monotone
/// band on x0 AND a threshold on x1 (an interaction a linear model cannot express), a bonus for x2
/// missing or high, a small linear effect of x3, and noise features x4...x7 with missing values.
enum PlantedPattern {
    static let columnNames = ["band", "gate", "spend", "tenure", "noise1", "noise2", "noise3", "bucket"]

    static func logit(_ x: [Float]) -> Double {
        var f = -4.0
        if x[0] > 0.35 && x[0] < 0.65 && x[1] > 0.6 { f += 3.0 }
        if x[2].isNaN || x[2] > 0.7 { f += 1.5 }
        f += 0.5 * Double(x[3])
        return f
    }

    /// Rows, labels drawn from the true probabilities, and those probabilities.
    static func make(rows: Int, seed: UInt64) throws -> (data: LabeledData, truth: [Double]) {
        var random = SeededGenerator(seed: seed)
        var matrix = try FeatureMatrix(columnNames: columnNames)
        var labels: [Bool] = []
        var truth: [Double] = []
        for _ in 0..<rows {
            var x = (0..<8).map { _ in Float(random.nextUnit()) }
            if random.nextUnit() < 0.2 { x[2] = .nan }
            if random.nextUnit() < 0.1 { x[5] = .nan }
            x[7] = Float(random.next(below: 5))
            let p = 1 / (1 + exp(-logit(x)))
            try matrix.append(row: x)
            truth.append(p)
            labels.append(random.nextUnit() < p)
        }
        return (try LabeledData(features: matrix, labels: labels), truth)
    }

    static var configuration: GradientBoostedTrees.Configuration {
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 60
        configuration.maxDepth = 4
        configuration.learningRate = 0.15
        configuration.earlyStoppingRounds = nil
        return configuration
    }
}

func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
