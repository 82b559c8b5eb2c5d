import CRMProtos
import CRMRPC

/// The campaign methods of `crm.matching.v1.Matching`.
struct CampaignHandlers: Sendable {
    let store: CampaignStore

    func register(into router: inout Router) {
        router.unary(
            "/crm.matching.v1.Matching/CreateCampaign",
            Crm_Matching_V1_CreateCampaignRequest.self,
            policy: .roles(MatchingRoles.marketing, MatchingRoles.headOffice)
        ) { request, _ in
            try await create(request)
        }
        router.unary(
            "/crm.matching.v1.Matching/GetCampaign",
            Crm_Matching_V1_GetCampaignRequest.self,
            policy: .roles(MatchingRoles.marketing, MatchingRoles.headOffice, MatchingRoles.workbench, MatchingRoles.service)
        ) { request, _ in
            try await get(request)
        }
    }

    /// Idempotent by campaign id: a retry gets the stored campaign, a different campaign under a
    /// taken id gets ALREADY_EXISTS.
    func create(_ request: Crm_Matching_V1_CreateCampaignRequest) async throws -> Crm_Matching_V1_CreateCampaignResponse {
        guard request.hasCampaign else { throw RPCError.invalidArgument(field: "campaign", "is required") }
        let violations = CampaignValidation.violations(of: request.campaign)
        guard violations.isEmpty else { throw RPCError.invalidArguments(violations) }
        let (stored, inserted) = try await store.insertIfAbsent(request.campaign)
        guard inserted || CampaignValidation.isSameCampaign(stored, as: request.campaign) else {
            throw RPCError(
                .alreadyExists,
                "campaign \(stored.campaignID) already exists with a different product or name"
            )
        }
        return .with { $0.campaign = stored }
    }

    func get(_ request: Crm_Matching_V1_GetCampaignRequest) async throws -> Crm_Matching_V1_GetCampaignResponse {
        if let problem = CampaignValidation.idProblem(request.campaignID) {
            throw RPCError.invalidArgument(field: "campaign_id", problem)
        }
        guard let campaign = try await store.campaign(id: request.campaignID) else {
            throw RPCError(.notFound, "no campaign \(request.campaignID)")
        }
        return .with { $0.campaign = campaign }
    }
}
