@testable import CRMPropensity
import Foundation
import Testing

/// Every measure on examples small enough to check by hand, including the edge cases the
/// documentation defines (ties, K beyond the list, no positives, empty input).
@Suite struct RankingMetricsTests {
    @Test func tiesBreakByTheGivenIDs() {
        let ranking = RankingMetrics.ranking(scores: [0.5, 0.9, 0.5, 0.1], tieBreak: ["c", "a", "b", "d"])
        #expect(ranking == [1, 2, 0, 3])
        #expect(RankingMetrics.ranking(scores: [0.5, 0.9, 0.5, 0.1]) == [1, 0, 2, 3])
        // NaN ranks last and ties with NaN.
        #expect(RankingMetrics.ranking(scores: [.nan, 0.2, .nan, -.infinity]) == [1, 3, 0, 2])
    }

    @Test func precisionRecallLift() {
        let labels = [true, false, true, false]
        let ranking = [1, 2, 0, 3]
        #expect(RankingMetrics.hits(at: 2, ranking: ranking, labels: labels) == 1)
        #expect(RankingMetrics.precision(at: 2, ranking: ranking, labels: labels) == 0.5)
        #expect(RankingMetrics.recall(at: 2, ranking: ranking, labels: labels) == 0.5)
        #expect(RankingMetrics.lift(at: 2, ranking: ranking, labels: labels) == 1.0)
        #expect(RankingMetrics.precision(at: 3, ranking: ranking, labels: labels) == 2.0 / 3)
        #expect(RankingMetrics.lift(at: 3, ranking: ranking, labels: labels) == (2.0 / 3) / 0.5)
        #expect(RankingMetrics.recall(at: 3, ranking: ranking, labels: labels) == 1)
    }

    @Test func kBeyondTheListSelectsTheWholeList() {
        let labels = [true, false, true, false]
        let ranking = [1, 2, 0, 3]
        #expect(RankingMetrics.selectionSize(10, ranking: ranking) == 4)
        #expect(RankingMetrics.precision(at: 10, ranking: ranking, labels: labels) == 0.5)
        #expect(RankingMetrics.recall(at: 10, ranking: ranking, labels: labels) == 1)
        #expect(RankingMetrics.lift(at: 10, ranking: ranking, labels: labels) == 1)
        #expect(RankingMetrics.precision(at: 0, ranking: ranking, labels: labels) == 0)
        #expect(RankingMetrics.precision(at: -3, ranking: ranking, labels: labels) == 0)
    }

    @Test func noPositivesAndEmptyInputAreDefined() {
        let none = [false, false, false]
        #expect(RankingMetrics.recall(at: 2, ranking: [0, 1, 2], labels: none) == 0)
        #expect(RankingMetrics.lift(at: 2, ranking: [0, 1, 2], labels: none) == 0)
        #expect(RankingMetrics.auc(scores: [0.1, 0.2, 0.3], labels: none) == 0.5)
        #expect(RankingMetrics.auc(scores: [0.1, 0.2], labels: [true, true]) == 0.5)
        #expect(RankingMetrics.precision(at: 5, ranking: [], labels: []) == 0)
        #expect(RankingMetrics.recall(at: 5, ranking: [], labels: []) == 0)
        #expect(RankingMetrics.lift(at: 5, ranking: [], labels: []) == 0)
        #expect(RankingMetrics.auc(scores: [Double](), labels: []) == 0.5)
        #expect(RankingMetrics.logLoss(probabilities: [], labels: []) == 0)
        #expect(RankingMetrics.expectedPrecision(at: 3, ranking: [], probabilities: []) == 0)
        #expect(RankingMetrics.expectedPrecisionRatio(at: 3, ranking: [], probabilities: []) == 1)
        #expect(RankingMetrics.expectedPrecisionRatio(at: 2, ranking: [0, 1], probabilities: [0, 0]) == 1)
        // Out-of-range ranking entries are misses, not traps.
        #expect(RankingMetrics.precision(at: 2, ranking: [7, 0], labels: [true]) == 0.5)
    }

    @Test func aucCountsTiesAsHalf() {
        // Positives at 0.4 and 0.8, negatives at 0.1 and 0.4: pairs 1 + 0.5 + 1 + 1 = 3.5 of 4.
        #expect(RankingMetrics.auc(scores: [0.1, 0.4, 0.4, 0.8], labels: [false, true, false, true]) == 0.875)
        #expect(RankingMetrics.auc(scores: [1, 1, 1, 1], labels: [false, true, false, true]) == 0.5)
        #expect(RankingMetrics.auc(scores: [0.9, 0.1], labels: [true, false]) == 1)
        #expect(RankingMetrics.auc(scores: [0.1, 0.9], labels: [true, false]) == 0)
        // Weighted: the negative at 0.4 has weight 3: (1·1 + 3·0.5 + 1·1 + 3·1) / (2 · 4) = 6.5 / 8.
        let weighted = RankingMetrics.auc(scores: [0.1, 0.4, 0.4, 0.8], labels: [false, true, false, true], weights: [1, 1, 3, 1])
        #expect(weighted == 6.5 / 8)
        // NaN scores rank lowest: a NaN positive loses to every scored negative.
        #expect(RankingMetrics.auc(scores: [.nan, 0.3], labels: [true, false]) == 0)
    }

    @Test func expectedPrecisionAgainstTheOracle() {
        let probabilities = [0.1, 0.9, 0.5, 0.3]
        #expect(RankingMetrics.expectedPrecision(at: 2, ranking: [2, 1, 0, 3], probabilities: probabilities) == 0.7)
        #expect(RankingMetrics.expectedPrecisionRatio(at: 2, ranking: [2, 1, 0, 3], probabilities: probabilities) == 1)
        let poor = RankingMetrics.expectedPrecisionRatio(at: 2, ranking: [0, 3, 1, 2], probabilities: probabilities)
        #expect(abs(poor - 0.2 / 0.7) < 1e-12)
        // K beyond the list: both rankings select everything.
        #expect(RankingMetrics.expectedPrecisionRatio(at: 10, ranking: [0, 3, 1, 2], probabilities: probabilities) == 1)
    }

    @Test func logLossIsClippedAndWeighted() {
        #expect(abs(RankingMetrics.logLoss(probabilities: [0.5], labels: [true]) - log(2)) < 1e-12)
        let confidentMiss = RankingMetrics.logLoss(probabilities: [0], labels: [true])
        #expect(abs(confidentMiss + log(1e-15)) < 1e-9)
        let weighted = RankingMetrics.logLoss(probabilities: [0.8, 0.8], labels: [true, false], weights: [3, 1])
        #expect(abs(weighted - (3 * -log(0.8) + -log(0.2)) / 4) < 1e-12)
        #expect(!RankingMetrics.logLoss(probabilities: [.nan], labels: [true]).isNaN)
    }

    @Test func radixRankingMatchesAComparisonSort() {
        var random = SeededGenerator(seed: 8)
        // Few distinct values (many ties), both zeros, infinities and NaN.
        let palette: [Double] = [-2.5, -0.0, 0, 1e-300, 0.1, 3, .infinity, -.infinity, .nan]
        let scores = (0..<2_000).map { _ in palette[random.next(below: palette.count)] }
        let expected = scores.indices.sorted { a, b in
            let (x, y) = (scores[a], scores[b])
            if x.isNaN || y.isNaN { return x.isNaN == y.isNaN ? a < b : y.isNaN }
            return x != y ? x > y : a < b
        }
        #expect(RankingMetrics.ranking(scores: scores) == expected)
        #expect(RankingMetrics.ranking(scores: scores, tieBreak: Array(scores.indices)) == expected)
    }
}
