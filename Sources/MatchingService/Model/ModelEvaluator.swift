import CRMPropensity
import CRMProtos
import CRMSuitability
import GRDB

/// The held-out evaluation: for the month's most-bought products, how many of the month's buyers
/// the model's top K held, beside a random list and a richest-first list over the same eligible
/// customers (those who MATCHed the product on the month's first day), all ranked from the
/// dimensions at the end of the month before.
struct ModelEvaluator: Sendable {
    let replica: Replica

    func evaluate(
        scorer: Scorer, month: BusinessMonth, ks: [Int], productCount: Int, codes: [String], includeRankings: Bool
    ) async throws -> Crm_Matching_V1_Evaluation {
        let (rows, bought, topCodes) = try await replica.database.read { db -> ([SnapshotRow], [String: Set<String>], [String]) in
            let rows = try SnapshotStore.rows(db, asOf: month.previous.lastDay)
            var bought: [String: Set<String>] = [:]
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT customer_id, product_code FROM purchase WHERE month = ?", arguments: [month.description]) {
                let product: String = row[1]
                if bought[product, default: []].insert(row[0]).inserted { counts[product, default: 0] += 1 }
            }
            let top = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(productCount).map(\.key)
            return (rows, bought, top)
        }
        let products = codes.isEmpty ? topCodes : codes
        let day = month.firstDay
        var evaluation = Crm_Matching_V1_Evaluation.with { $0.heldOutMonth = month.description }
        for code in products {
            let figures = replica.memory.withLock { memory -> Crm_Matching_V1_ProductEvaluation? in
                guard let entry = memory.catalog[code], let family = entry.family else { return nil }
                // Eligible: MATCHing the product on the first day of the month, by the replica's facts.
                var eligible: [SnapshotRow] = []
                var profiles: [UInt32] = []
                for row in rows {
                    guard let index = memory.customers.row(of: row.customerID) else { continue }
                    let profile = memory.keyOfRow[Int(index)]
                    guard memory.assessmentWindowOfRow[Int(index)].contains(day),
                          memory.rules.matches(customer: memory.keys.profiles[Int(profile)], product: entry.facts, today: day)
                    else { continue }
                    eligible.append(row)
                    profiles.append(profile)
                }
                let buyers = bought[code] ?? []
                let labels = eligible.map { buyers.contains($0.customerID) }
                let ids = eligible.map(\.customerID)
                // The model: family propensity over the family's weight among what the profile may buy.
                var weightOfProfile: [UInt32: Double] = [:]
                let modelScores = eligible.indices.map { index -> Double in
                    let total = weightOfProfile[profiles[index]] ?? {
                        let sum = memory.matchingWeight(of: memory.keys.profiles[Int(profiles[index])], family: family, today: day, weight: scorer.weight(of:))
                        weightOfProfile[profiles[index]] = sum
                        return sum
                    }()
                    let propensity = Scorer.sigmoid(scorer.model.logit(eligible[index].features(family: family, space: scorer.space)))
                    return total > 0 ? propensity * min(1, scorer.weight(of: code) / total) : 0
                }
                let model = RankingMetrics.ranking(scores: modelScores, tieBreak: ids)
                let random = RankingMetrics.ranking(scores: ids.map { ModelTrainer.unitHash($0, family, month, 7) }, tieBreak: ids)
                let richest = RankingMetrics.ranking(scores: eligible.map { Double($0.value("total_assets").isNaN ? -1 : $0.value("total_assets")) }, tieBreak: ids)
                func figures(_ ranking: [Int]) -> [Crm_Matching_V1_RankingFigures] {
                    ks.map { k in
                        .with {
                            $0.k = UInt32(k)
                            $0.hits = UInt32(RankingMetrics.hits(at: k, ranking: ranking, labels: labels))
                            $0.precision = RankingMetrics.precision(at: k, ranking: ranking, labels: labels)
                            $0.recall = RankingMetrics.recall(at: k, ranking: ranking, labels: labels)
                            $0.lift = RankingMetrics.lift(at: k, ranking: ranking, labels: labels)
                        }
                    }
                }
                let top = ks.max() ?? 0
                return .with {
                    $0.productCode = code
                    $0.eligible = UInt64(eligible.count)
                    $0.buyers = UInt64(labels.count(where: { $0 }))
                    $0.baseRate = eligible.isEmpty ? 0 : Double($0.buyers) / Double(eligible.count)
                    $0.model = figures(model)
                    $0.random = figures(random)
                    $0.richest = figures(richest)
                    if includeRankings {
                        $0.modelRanking = model.prefix(top).map { ids[$0] }
                        $0.randomRanking = random.prefix(top).map { ids[$0] }
                        $0.richestRanking = richest.prefix(top).map { ids[$0] }
                    }
                }
            }
            if let figures { evaluation.products.append(figures) }
        }
        evaluation.model = Self.mean(evaluation.products.map(\.model), ks: ks)
        evaluation.random = Self.mean(evaluation.products.map(\.random), ks: ks)
        evaluation.richest = Self.mean(evaluation.products.map(\.richest), ks: ks)
        return evaluation
    }

    static func mean(_ lists: [[Crm_Matching_V1_RankingFigures]], ks: [Int]) -> [Crm_Matching_V1_RankingFigures] {
        ks.enumerated().map { position, k in
            let entries = lists.compactMap { $0.indices.contains(position) ? $0[position] : nil }
            let n = Double(max(1, entries.count))
            return .with {
                $0.k = UInt32(k)
                $0.hits = UInt32(entries.reduce(0) { $0 + Int($1.hits) })
                $0.precision = entries.reduce(0) { $0 + $1.precision } / n
                $0.recall = entries.reduce(0) { $0 + $1.recall } / n
                $0.lift = entries.reduce(0) { $0 + $1.lift } / n
            }
        }
    }
}
