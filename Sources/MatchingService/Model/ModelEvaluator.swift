import CRMPropensity
import CRMProtos
import CRMSuitability
import GRDB

/// The held-out evaluation: for the month's most-bought products, how many of the month's buyers
/// the model's top K held, beside a random list and a richest-first list over the same eligible
/// customers (those who MATCHed the product on the month's first day), all ranked from what was
/// known at the month's start (``MonthRows``, as training builds its rows).
struct ModelEvaluator: Sendable {
    let replica: Replica

    /// Why a month cannot be evaluated: it has no order at all (a month before the order history,
    /// or one not over yet), so every figure would be a meaningless zero.
    struct NoOrders: Error {
        let month: BusinessMonth
    }

    func evaluate(
        scorer: Scorer, month: BusinessMonth, ks: [Int], productCount: Int, codes: [String], includeRankings: Bool
    ) async throws -> Crm_Matching_V1_Evaluation {
        let (bought, topCodes, orders) = try await replica.database.read { db -> ([String: Set<String>], [String], Int) in
            var bought: [String: Set<String>] = [:]
            var counts: [String: Int] = [:]
            var orders = 0
            for row in try Row.fetchAll(db, sql: "SELECT customer_id, product_code FROM purchase WHERE month = ?", arguments: [month.description]) {
                let product: String = row[1]
                orders += 1
                if bought[product, default: []].insert(row[0]).inserted { counts[product, default: 0] += 1 }
            }
            let top = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(productCount).map(\.key)
            return (bought, top, orders)
        }
        guard orders > 0 else { throw NoOrders(month: month) }
        let plan = try await MonthRows.plan(month, replica: replica, choice: scorer.choice)
        let products = codes.isEmpty ? topCodes : codes
        let day = month.firstDay
        var evaluation = Crm_Matching_V1_Evaluation.with {
            $0.heldOutMonth = month.description
            $0.orders = UInt64(orders)
            $0.buyers = UInt64(bought.values.reduce(into: Set<String>()) { $0.formUnion($1) }.count)
        }
        // Each customer's family propensity is the same for every product of the family: computed
        // once per (customer, family), from the same rows training builds, streamed a block of
        // customers at a time; what is kept per customer is a number per family evaluated and
        // their total assets (the richest-first list), not the month's inputs.
        let familyOf = replica.memory.withLock { memory in
            Dictionary(products.compactMap { code in memory.catalog[code]?.family.map { (code, $0) } }, uniquingKeysWith: { first, _ in first })
        }
        let families = Set(familyOf.values)
        var propensities: [Int: [Double]] = [:]
        for family in families {
            var list: [Double] = []
            list.reserveCapacity(plan.customerIDs.count)
            propensities[family] = list
        }
        var assets: [Float] = []
        assets.reserveCapacity(plan.customerIDs.count)
        try MonthRows.stream(plan, database: replica.database) { block in
            for index in block.rows.indices {
                assets.append(block.rows[index].value("total_assets"))
                for family in families {
                    propensities[family, default: []].append(Scorer.sigmoid(scorer.model.logit(block.features(index, family: family, space: scorer.space))))
                }
            }
        }
        let customerIDs = plan.customerIDs
        for code in products {
            guard let family = familyOf[code] else { continue }
            let familyPropensity = propensities[family] ?? []
            let figures = replica.memory.withLock { memory -> Crm_Matching_V1_ProductEvaluation? in
                guard let entry = memory.catalog[code] else { return nil }
                // Eligible: MATCHing the product on the first day of the month, by the replica's facts.
                var eligible: [Int] = []
                var profiles: [UInt32] = []
                for index in customerIDs.indices {
                    guard let profile = plan.profiles[index],
                          memory.rules.matches(customer: memory.keys.profiles[Int(profile)], product: entry.facts, today: day)
                    else { continue }
                    eligible.append(index)
                    profiles.append(profile)
                }
                let buyers = bought[code] ?? []
                let ids = eligible.map { customerIDs[$0] }
                let labels = ids.map { buyers.contains($0) }
                // The model: family propensity times the product's share among what the profile may buy.
                var shareOfProfile: [UInt32: Double] = [:]
                let modelScores = eligible.indices.map { position -> Double in
                    let profile = profiles[position]
                    let share = shareOfProfile[profile] ?? {
                        let facts = memory.keys.profiles[Int(profile)]
                        let total = memory.matchingWeight(of: facts, family: family, today: day) { candidate in
                            memory.utility(of: candidate, facts: facts, today: day, choice: scorer.choice)
                        }
                        let share = total > 0 ? min(1, memory.utility(of: entry, facts: facts, today: day, choice: scorer.choice) / total) : 0
                        shareOfProfile[profile] = share
                        return share
                    }()
                    return familyPropensity[eligible[position]] * share
                }
                let model = RankingMetrics.ranking(scores: modelScores, tieBreak: ids)
                let random = RankingMetrics.ranking(scores: ids.map { ModelTrainer.unitHash($0, family, month, 7) }, tieBreak: ids)
                let richest = RankingMetrics.ranking(scores: eligible.map { index in
                    Double(assets[index].isNaN ? -1 : assets[index])
                }, tieBreak: ids)
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
