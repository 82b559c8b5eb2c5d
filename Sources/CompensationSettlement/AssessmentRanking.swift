import CRMPrimitives

/// A figure managers and units are ranked on.
public enum AssessmentMetric: String, Sendable, Hashable, Codable, CaseIterable {
    case customersAtMonthEnd = "customers_at_month_end"
    case monthEndAssets = "month_end_assets"
    case averageAssets = "average_assets"
    case newCustomers = "new_customers"
    case effectiveAccounts = "effective_accounts"
    case netNewAssets = "net_new_assets"
    case productSales = "product_sales"
    case commissionContributed = "commission_contributed"

    /// The metric's value in `figures` (an absent average counts as 0).
    public func value(of figures: AssessmentFigures) -> Int64 {
        switch self {
        case .customersAtMonthEnd: return Int64(figures.customersAtMonthEnd)
        case .monthEndAssets: return figures.monthEndAssetsFen
        case .averageAssets: return figures.averageAssetsFen ?? 0
        case .newCustomers: return Int64(figures.newCustomers)
        case .effectiveAccounts: return Int64(figures.effectiveAccounts)
        case .netNewAssets: return figures.netNewAssetsFen
        case .productSales: return figures.productSalesFen
        case .commissionContributed: return figures.commissionContributedFen
        }
    }
}

/// One place in a ranking.
public struct RankingEntry: Sendable, Hashable, Codable {
    /// 1, 2, 3, … in list order (distinct even on ties).
    public var position: Int
    /// Competition rank: ties share the better rank and the next rank skips (1, 1, 3).
    public var rank: Int
    /// The manager, team or branch id.
    public var id: String
    public var value: Int64

    public init(position: Int, rank: Int, id: String, value: Int64) {
        self.position = position
        self.rank = rank
        self.id = id
        self.value = value
    }
}

/// Rankings of assessment figures: highest value first; ties in id order, so the same figures always
/// rank the same way.
public enum AssessmentRanking {
    /// The managers within `scope` (a team, a branch or the head office), ranked on `metric`.
    public static func managers(_ report: AssessmentReport, by metric: AssessmentMetric, within scope: AssessmentScope = .headOffice) -> [RankingEntry] {
        let members = report.managers.filter { manager in
            switch scope {
            case .headOffice: return true
            case .branch(let id): return manager.placement.branchID == id
            case .team(let id): return manager.placement.teamID == id
            case .manager(let id): return manager.placement.managerID == id
            }
        }
        return rank(members.map { ($0.placement.managerID, metric.value(of: $0.figures)) })
    }

    /// Units (the report's teams or branches), ranked on `metric`.
    public static func units(_ units: [UnitAssessment], by metric: AssessmentMetric) -> [RankingEntry] {
        rank(units.map { unit in
            let id: String
            switch unit.scope {
            case .manager(let value), .team(let value), .branch(let value): id = value
            case .headOffice: id = ""
            }
            return (id, metric.value(of: unit.figures))
        })
    }

    /// Ranks `(id, value)` pairs: value descending, then id ascending.
    public static func rank(_ entries: [(id: String, value: Int64)]) -> [RankingEntry] {
        let sorted = entries.sorted { ($1.value, $0.id) < ($0.value, $1.id) }
        var result: [RankingEntry] = []
        result.reserveCapacity(sorted.count)
        for (offset, entry) in sorted.enumerated() {
            let rank: Int
            if let previous = result.last, previous.value == entry.value {
                rank = previous.rank
            } else {
                rank = offset + 1
            }
            result.append(RankingEntry(position: offset + 1, rank: rank, id: entry.id, value: entry.value))
        }
        return result
    }
}
