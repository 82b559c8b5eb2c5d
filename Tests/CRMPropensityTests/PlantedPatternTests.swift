@testable import CRMPropensity
import Testing

/// The boosted trees must find a planted interaction that a linear model cannot, measured the way a
/// campaign is: the expected precision of the top 1% of held-out customers against the best
/// possible ranking (by true probability).
@Suite struct PlantedPatternTests {
    @Test func boostedTreesRankNearTheOracleAndBeatTheBaselines() throws {
        let train = try PlantedPattern.make(rows: 8_000, seed: 11)
        let holdout = try PlantedPattern.make(rows: 10_000, seed: 12)
        let result = try GradientBoostedTrees(configuration: PlantedPattern.configuration).train(train.data)
        let linear = try LogisticRegression.fit(train.data)

        let k = holdout.data.rowCount / 100
        let treeScores = try result.model.logits(holdout.data.features)
        let linearScores = try linear.logits(holdout.data.features)
        var random = SeededGenerator(seed: 99)
        let randomScores = (0..<holdout.data.rowCount).map { _ in random.nextUnit() }

        func ratio(_ scores: [Double]) -> Double {
            RankingMetrics.expectedPrecisionRatio(at: k, ranking: RankingMetrics.ranking(scores: scores), probabilities: holdout.truth)
        }
        let treeRatio = ratio(treeScores.map(Double.init))
        let linearRatio = ratio(linearScores.map(Double.init))
        let randomRatio = ratio(randomScores)

        #expect(treeRatio >= 0.9, "GBT expected precision ratio \(treeRatio)")
        #expect(treeRatio > linearRatio + 0.1, "GBT \(treeRatio) vs logistic \(linearRatio)")
        #expect(linearRatio > randomRatio + 0.1, "logistic \(linearRatio) vs random \(randomRatio)")

        let treeAUC = RankingMetrics.auc(scores: treeScores, labels: holdout.data.labels)
        let linearAUC = RankingMetrics.auc(scores: linearScores, labels: holdout.data.labels)
        let oracleAUC = RankingMetrics.auc(scores: holdout.truth, labels: holdout.data.labels)
        #expect(treeAUC > 0.75, "GBT AUC \(treeAUC)")
        #expect(treeAUC > oracleAUC - 0.02, "GBT AUC \(treeAUC) vs oracle \(oracleAUC)")
        #expect(treeAUC > linearAUC, "GBT AUC \(treeAUC) vs logistic \(linearAUC)")

        // The planted features carry the model; the noise features carry little.
        let top = result.model.featureImportance(top: 3).map(\.name)
        #expect(Set(top) == ["band", "gate", "spend"], "top features \(top)")
        #expect(result.report.trainAUC > 0.8)
        #expect(result.report.treeCount == PlantedPattern.configuration.treeCount)
    }
}
