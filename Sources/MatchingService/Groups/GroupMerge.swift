import CRMProtos
import CRMRPC

/// How the groups' parts of an answer across customers become the one-group answer
/// (docs/partitioning.md §9).
///
/// A product's overall top K lies within the union of each group's top K: every group ranks its own
/// customers with the same model and the same order (score, then customer id, as ``TopHeap``), so
/// merging the parts in that order and keeping K gives the list one replica holding every customer
/// would give, scores and reasons included (each is the customer's own).
enum GroupMerge {
    /// Best first: higher score, then the smaller customer id (``TopHeap``'s order).
    static func isBetter(_ a: Crm_Matching_V1_TargetCustomer, than b: Crm_Matching_V1_TargetCustomer) -> Bool {
        if a.score != b.score { return a.score > b.score }
        return a.customerID < b.customerID
    }

    /// The first `limit` (nil: all) of the parts' lists in that order, ranked from 1.
    static func targets(_ parts: [[Crm_Matching_V1_TargetCustomer]], limit: Int?) -> [Crm_Matching_V1_TargetCustomer] {
        var merged = parts.flatMap { $0 }.sorted { isBetter($0, than: $1) }
        if let limit, merged.count > limit { merged.removeSubrange(limit...) }
        for index in merged.indices { merged[index].rank = UInt32(index + 1) }
        return merged
    }

    /// TargetCustomers: eligible customers counted in every group, the top `k` of the parts. Every
    /// part must come from the same model: a group still on an older one (the newest is copied
    /// within `model.sync_seconds`) would rank on another scale, so the call is refused as
    /// retryable instead of mixing them.
    static func targets(_ parts: [Crm_Matching_V1_TargetCustomersResponse], k: Int) throws -> Crm_Matching_V1_TargetCustomersResponse {
        guard let first = parts.first else { return Crm_Matching_V1_TargetCustomersResponse() }
        try sameModel(parts.map(\.modelVersion))
        return .with {
            $0.productCode = first.productCode
            $0.modelVersion = first.modelVersion
            $0.eligible = parts.reduce(0) { $0 + $1.eligible }
            $0.customers = targets(parts.map(\.customers), limit: k)
        }
    }

    /// Refuses parts scored by different models (UNAVAILABLE: the copy of the newest model is on its way).
    static func sameModel(_ versions: [String]) throws {
        let distinct = Set(versions)
        guard distinct.count <= 1 else {
            throw RPCError(.unavailable, "matching groups score with different models (\(distinct.sorted().joined(separator: ", "))) while the newest is "
                           + "copied to every replica; retry shortly")
        }
    }

    /// A campaign's report: what the campaign store holds is the same on every replica (targets,
    /// contacts, orders); the untargeted baseline is counted by each group among its own eligible
    /// customers and added up here.
    static func report(_ own: Crm_Matching_V1_CampaignReport, others: [Crm_Matching_V1_CampaignReport]) -> Crm_Matching_V1_CampaignReport {
        var report = own
        report.untargetedEligible = others.reduce(own.untargetedEligible) { $0 + $1.untargetedEligible }
        report.untargetedBought = others.reduce(own.untargetedBought) { $0 + $1.untargetedBought }
        report.baselineRate = report.untargetedEligible == 0 ? 0 : Double(report.untargetedBought) / Double(report.untargetedEligible)
        report.lift = report.baselineRate > 0 ? report.hitRate / report.baselineRate : 0
        return report
    }
}
