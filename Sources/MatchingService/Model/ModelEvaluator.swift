import CRMPropensity
import CRMProtos
import CRMRPC
import CRMSuitability
import GRDB

/// The held-out evaluation: for the month's most-bought products, how many of the month's buyers
/// the model's top K held, beside a random list and a richest-first list over the same eligible
/// customers (those who MATCHed the product on the month's first day), all ranked from what was
/// known at the month's start (``MonthRows``, as training builds its rows).
struct ModelEvaluator: Sendable {
    let replica: Replica
    /// With matching groups: the other groups, each ranking its own customers (nil: this replica
    /// holds every customer).
    var groups: GroupParts? = nil
    /// The model as the other groups are sent it (needed with ``groups``).
    var export: Crm_Matching_V1_ExportModelResponse? = nil

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
        let products = codes.isEmpty ? topCodes : codes
        let top = ks.max() ?? 0
        var evaluation = Crm_Matching_V1_Evaluation.with {
            $0.heldOutMonth = month.description
            $0.orders = UInt64(orders)
            $0.buyers = UInt64(bought.values.reduce(into: Set<String>()) { $0.formUnion($1) }.count)
        }
        // Each group ranks its own customers; the lists' first `top` merged are the first `top` of
        // one ranking of every customer, and the counts add up.
        var parts = [try await self.parts(scorer: scorer, month: month, products: products, top: top, bought: bought)]
        if let groups {
            guard let export else { throw RPCError(.internal, "evaluating across matching groups needs the model to send them") }
            parts += try await groups.evaluation(month, products: products, top: top, model: export).map(\.products)
        }
        for code in products {
            let pieces = parts.compactMap { part in part.first { $0.productCode == code } }
            guard pieces.count == parts.count else { continue }
            let eligible = pieces.reduce(0) { $0 + Int($1.eligible) }
            let buyers = pieces.reduce(0) { $0 + Int($1.buyers) }
            let model = Self.merged(pieces.map(\.model), top: top)
            let random = Self.merged(pieces.map(\.random), top: top)
            let richest = Self.merged(pieces.map(\.richest), top: top)
            evaluation.products.append(.with {
                $0.productCode = code
                $0.eligible = UInt64(eligible)
                $0.buyers = UInt64(buyers)
                $0.baseRate = eligible == 0 ? 0 : Double(buyers) / Double(eligible)
                $0.model = Self.figures(model, eligible: eligible, buyers: buyers, ks: ks)
                $0.random = Self.figures(random, eligible: eligible, buyers: buyers, ks: ks)
                $0.richest = Self.figures(richest, eligible: eligible, buyers: buyers, ks: ks)
                if includeRankings {
                    $0.modelRanking = model.map(\.customerID)
                    $0.randomRanking = random.map(\.customerID)
                    $0.richestRanking = richest.map(\.customerID)
                }
            })
        }
        evaluation.model = Self.mean(evaluation.products.map(\.model), ks: ks)
        evaluation.random = Self.mean(evaluation.products.map(\.random), ks: ks)
        evaluation.richest = Self.mean(evaluation.products.map(\.richest), ks: ks)
        return evaluation
    }

    /// This replica's customers' part of the evaluation: per product (those of a known family),
    /// how many of them were eligible (MATCHing it on the month's first day) and bought it, and the
    /// first `top` of each ranking of them — the model's, a random one, richest first — all from
    /// what was known at the month's start (``MonthRows``, as training builds its rows).
    /// `bought` (each product's buyers in the month) when the caller has read it already.
    func parts(scorer: Scorer, month: BusinessMonth, products: [String], top: Int,
               bought known: [String: Set<String>]? = nil) async throws -> [Crm_Matching_V1_GroupProductEvaluation] {
        var bought = known ?? [:]
        if known == nil {
            bought = try await replica.database.read { db in
                var bought: [String: Set<String>] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT customer_id, product_code FROM purchase WHERE month = ?", arguments: [month.description]) {
                    bought[row[1], default: []].insert(row[0])
                }
                return bought
            }
        }
        let plan = try await MonthRows.plan(month, replica: replica, choice: scorer.choice)
        let day = month.firstDay
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
        let ordered = families.sorted()
        try MonthRows.stream(plan, database: replica.database) { block in
            for index in block.rows.indices { assets.append(block.rows[index].value("total_assets")) }
            // Scored on every core, each thread a share of the block's customers, put back in order.
            let shares = block.inShares(workers: replica.rowWorkers) { positions in
                ordered.map { family in
                    positions.map { Scorer.sigmoid(scorer.model.logit(block.features($0, family: family, space: scorer.space))) }
                }
            }
            for share in shares {
                for (slot, family) in ordered.enumerated() { propensities[family, default: []].append(contentsOf: share[slot]) }
            }
        }
        let customerIDs = plan.customerIDs
        var parts: [Crm_Matching_V1_GroupProductEvaluation] = []
        for code in products {
            guard let family = familyOf[code] else { continue }
            let familyPropensity = propensities[family] ?? []
            let part = replica.memory.withLock { memory -> Crm_Matching_V1_GroupProductEvaluation? in
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
                let randomScores = ids.map { ModelTrainer.unitHash($0, family, month, 7) }
                let richestScores = eligible.map { index in Double(assets[index].isNaN ? -1 : assets[index]) }
                func first(_ scores: [Double]) -> [Crm_Matching_V1_GroupRanked] {
                    RankingMetrics.ranking(scores: scores, tieBreak: ids).prefix(top).map { position in
                        .with { $0.customerID = ids[position]; $0.score = scores[position]; $0.bought = labels[position] }
                    }
                }
                return .with {
                    $0.productCode = code
                    $0.eligible = UInt64(eligible.count)
                    $0.buyers = UInt64(labels.count(where: { $0 }))
                    $0.model = first(modelScores)
                    $0.random = first(randomScores)
                    $0.richest = first(richestScores)
                }
            }
            if let part { parts.append(part) }
        }
        return parts
    }

    /// The first `top` of the parts' lists in ``RankingMetrics/ranking(scores:tieBreak:)``'s
    /// order: higher score first (NaN last), then the smaller customer id.
    static func merged(_ lists: [[Crm_Matching_V1_GroupRanked]], top: Int) -> [Crm_Matching_V1_GroupRanked] {
        guard lists.count > 1 else { return Array((lists.first ?? []).prefix(top)) }
        return Array(lists.joined().sorted { a, b in
            switch (a.score.isNaN, b.score.isNaN) {
            case (true, false): return false
            case (false, true): return true
            case (false, false) where a.score != b.score: return a.score > b.score
            default: return a.customerID < b.customerID
            }
        }.prefix(top))
    }

    /// A ranking's figures at each K from its first entries, the eligible customers and their
    /// buyers (as ``RankingMetrics`` computes them over the whole ranking).
    static func figures(_ ranked: [Crm_Matching_V1_GroupRanked], eligible: Int, buyers: Int, ks: [Int]) -> [Crm_Matching_V1_RankingFigures] {
        ks.map { k in
            let selected = min(max(k, 0), eligible)
            let hits = ranked.prefix(selected).count(where: \.bought)
            let precision = selected > 0 ? Double(hits) / Double(selected) : 0
            return .with {
                $0.k = UInt32(k)
                $0.hits = UInt32(hits)
                $0.precision = precision
                $0.recall = buyers > 0 ? Double(hits) / Double(buyers) : 0
                $0.lift = buyers > 0 && eligible > 0 ? precision / (Double(buyers) / Double(eligible)) : 0
            }
        }
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
