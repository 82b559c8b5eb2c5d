import CRMPrimitives
import CRMProtos
import Foundation

/// The rules a campaign must satisfy before it is stored, and when two creations are the same
/// campaign. Pure: no I/O.
enum CampaignValidation {
    static let maxIDLength = 64
    /// As the products service allows.
    static let maxProductCodeLength = 32
    static let defaultTargetSize: UInt32 = 1_000
    static let maxTargetSize: UInt32 = 100_000

    static func targetSize(_ campaign: Crm_Matching_V1_Campaign) -> UInt32 {
        campaign.targetSize == 0 ? defaultTargetSize : campaign.targetSize
    }

    /// Every violated field of `campaign`, named by its path under `prefix`.
    static func violations(of campaign: Crm_Matching_V1_Campaign, prefix: String = "campaign") -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        if let problem = idProblem(campaign.campaignID) {
            violations.append(Refusal.Field(field: "\(prefix).campaign_id", description: problem))
        }
        if campaign.productCode.isEmpty {
            violations.append(Refusal.Field(field: "\(prefix).product_code", description: "is required"))
        } else if campaign.productCode.count > maxProductCodeLength {
            violations.append(Refusal.Field(field: "\(prefix).product_code", description: "is longer than \(maxProductCodeLength) characters"))
        }
        if campaign.name.trimmingCharacters(in: .whitespaces).isEmpty {
            violations.append(Refusal.Field(field: "\(prefix).name", description: "is required"))
        }
        if campaign.targetSize > maxTargetSize {
            violations.append(Refusal.Field(field: "\(prefix).target_size", description: "is at most \(maxTargetSize)"))
        }
        return violations
    }

    /// Why `id` is not a usable campaign id, or nil when it is.
    static func idProblem(_ id: String) -> String? {
        if id.isEmpty { return "is required" }
        if id.count > maxIDLength { return "is longer than \(maxIDLength) characters" }
        return nil
    }

    /// True when a repeated creation asks for exactly the campaign already stored (a retry), rather
    /// than a different campaign under a taken id. `created_at` is the service's and does not count.
    static func isSameCampaign(_ stored: Crm_Matching_V1_Campaign, as requested: Crm_Matching_V1_Campaign) -> Bool {
        stored.campaignID == requested.campaignID && stored.productCode == requested.productCode && stored.name == requested.name
            && targetSize(stored) == targetSize(requested)
    }
}
