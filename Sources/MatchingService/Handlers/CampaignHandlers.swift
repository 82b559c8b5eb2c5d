import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore

/// Campaigns: created with their target list, worked through contacts, reported with their hit rate.
struct CampaignHandlers: Sendable {
    let store: CampaignStore
    let replica: Replica
    static let maxPage = 1_000
    /// StreamCampaignLog's largest page.
    static let maxLogPage: UInt32 = 10_000

    func register(into router: inout Router) {
        let writers = AccessPolicy.roles(MatchingRoles.marketing, MatchingRoles.headOffice)
        let readers = AccessPolicy.roles(MatchingRoles.marketing, MatchingRoles.headOffice, MatchingRoles.workbench, MatchingRoles.service)
        router.unary(Crm_Matching_V1_Matching.createCampaign, policy: writers, offEventLoop: true) { request, context in
            try await create(request, context: context)
        }
        router.unary(Crm_Matching_V1_Matching.getCampaign, policy: readers) { request, _ in
            var response = Crm_Matching_V1_GetCampaignResponse()
            response.campaign = try await stored(request.campaignID)
            return response
        }
        router.unary(Crm_Matching_V1_Matching.recordCampaignContact,
                     policy: .roles(MatchingRoles.marketing, MatchingRoles.headOffice, MatchingRoles.workbench),
                     audit: .customers { [$0.contact.customerID] }) { request, context in
            // Recorded where it is called (the store holds every campaign's target list, and the
            // campaign logs carry the contact to every replica), so a report asked of the same
            // replica counts it at once; a workbench's contact is recorded by the customer's
            // matching group, whose copy knows the customer's manager.
            let scoped = ((try? CustomerScope.scopedManager(context.principal, field: "contact.customer_id")) ?? nil) != nil
            if scoped, let answer = try await replica.groups?.forwarded(Crm_Matching_V1_Matching.recordCampaignContact, request,
                                                                        about: request.contact.customerID, context: context) {
                return answer
            }
            return try await record(request, principal: context.principal)
        }
        router.unary(Crm_Matching_V1_Matching.listCampaignTargets, policy: readers, audit: .returned { $0.targets.map(\.customerID) }) { request, _ in
            try await list(request)
        }
        // Sibling replicas read it (CampaignSync); served while the copy loads, since the log
        // is in the store from the start.
        router.serverStreaming(Crm_Matching_V1_Matching.streamCampaignLog, policy: .roles(MatchingRoles.service, MatchingRoles.headOffice),
                               servesWhileStarting: true) { request, writer, _ in
            guard request.limit <= Self.maxLogPage else {
                throw RPCError.invalidArgument(field: "limit", "is \(request.limit); at most \(Self.maxLogPage)")
            }
            let limit = request.limit == 0 ? 1_000 : Int(request.limit)
            for entry in try await store.log(logID: request.logID, after: request.afterSequence, limit: limit) {
                try await writer.write(entry)
            }
        }
        router.unary(Crm_Matching_V1_Matching.getCampaignReport, policy: readers) { request, context in
            let campaign = try await stored(request.campaignID)
            let today = BusinessDays.today()
            let eligible = try replica.memory.withLock { memory throws(ReplicaMemory.QueryError) in
                try memory.eligibleCustomerIDs(productCode: campaign.productCode, today: today)
            }
            var response = Crm_Matching_V1_GetCampaignReportResponse()
            response.report = try await store.report(campaign, eligibleCustomers: eligible)
            // In a matching group: the baseline counts every group's untargeted eligible customers.
            if let groups = replica.groups, groups.merges(context) {
                let others = try await groups.askOthers(groups.options(forCallerOf: context)) { group, options in
                    do {
                        return try await group.unary(Crm_Matching_V1_Matching.getCampaignReport, request, options: options).report
                    } catch let error as RPCError where error.code == .notFound {
                        throw RPCError(.unavailable, "another matching group has not read campaign \(request.campaignID) from the campaign logs yet: \(error.message)")
                    }
                }
                response.report = GroupMerge.report(response.report, others: others)
            }
            return response
        }
    }

    /// Idempotent by campaign id: a retry gets the stored campaign (and its list as first ranked), a
    /// different campaign under a taken id gets ALREADY_EXISTS. The product must be in the copy.
    func create(_ request: Crm_Matching_V1_CreateCampaignRequest, context: CallContext) async throws -> Crm_Matching_V1_CreateCampaignResponse {
        guard request.hasCampaign else { throw RPCError.invalidArgument(field: "campaign", "is required") }
        let violations = CampaignValidation.violations(of: request.campaign)
        guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        if let existing = try await store.campaign(id: request.campaign.campaignID) {
            return try Self.sameOrConflict(existing, request.campaign)
        }
        let size = Int(CampaignValidation.targetSize(request.campaign))
        let ranked: ([Crm_Matching_V1_TargetCustomer], String)
        do {
            ranked = try await TargetingHandlers(replica: replica).rankedEverywhere(productCode: request.campaign.productCode, limit: size, context: context)
        } catch ReplicaMemory.QueryError.unknownProduct(let code) {
            // The product is named inside the campaign: the field path says so.
            let message = "no product \(code) in matching's copy"
            throw Refusal(.notFound, message, fields: [.init(field: "campaign.product_code", description: message)])
        }
        let targets = ranked.0.map { CampaignStore.Target(customerID: $0.customerID, score: $0.score) }
        let (stored, inserted) = try await store.insertIfAbsent(request.campaign, targets: targets, modelVersion: ranked.1)
        if !inserted { return try Self.sameOrConflict(stored, request.campaign) }
        return .with { $0.campaign = stored }
    }

    static func sameOrConflict(_ stored: Crm_Matching_V1_Campaign, _ requested: Crm_Matching_V1_Campaign) throws -> Crm_Matching_V1_CreateCampaignResponse {
        guard CampaignValidation.isSameCampaign(stored, as: requested) else {
            throw RPCError(.alreadyExists, "campaign \(stored.campaignID) already exists with a different product, name or size",
                           fieldViolations: [FieldViolation(field: "campaign.campaign_id", description: "already exists with different content")])
        }
        return .with { $0.campaign = stored }
    }

    func stored(_ id: String) async throws -> Crm_Matching_V1_Campaign {
        if let problem = CampaignValidation.idProblem(id) { throw RPCError.invalidArgument(field: "campaign_id", problem) }
        guard let campaign = try await store.campaign(id: id) else {
            throw RPCError(.notFound, "no campaign \(id)", fieldViolations: [FieldViolation(field: "campaign_id", description: "unknown campaign")])
        }
        return campaign
    }

    /// A client manager's workbench records contacts only for its own book (``CustomerScope``),
    /// checked before the campaign is looked up: another manager's customer and an unknown id are
    /// the same PERMISSION_DENIED whatever the campaign.
    func record(_ request: Crm_Matching_V1_RecordCampaignContactRequest, principal: Principal?) async throws -> Crm_Matching_V1_RecordCampaignContactResponse {
        guard request.hasContact else { throw RPCError.invalidArgument(field: "contact", "is required") }
        let contact = request.contact
        guard !contact.customerID.isEmpty else { throw RPCError.invalidArgument(field: "contact.customer_id", "is required") }
        guard [.reached, .bought, .declined].contains(contact.outcome) else {
            throw RPCError.invalidArgument(field: "contact.outcome", "must be REACHED, BOUGHT or DECLINED")
        }
        try replica.checkScope(principal, customerID: contact.customerID, field: "contact.customer_id")
        _ = try await stored(contact.campaignID)
        let at = contact.hasAt ? contact.at.unixMillis : currentUnixMillis()
        switch try await store.record(contact, at: at) {
        case .notATarget:
            throw RPCError(.failedPrecondition, "customer \(contact.customerID) is not on campaign \(contact.campaignID)'s target list",
                           fieldViolations: [FieldViolation(field: "contact.customer_id", description: "not a target of the campaign")])
        case .recorded(let created):
            return .with { $0.created = created }
        }
    }

    func list(_ request: Crm_Matching_V1_ListCampaignTargetsRequest) async throws -> Crm_Matching_V1_ListCampaignTargetsResponse {
        _ = try await stored(request.campaignID)
        guard request.page.pageSize <= Self.maxPage else { throw RPCError.invalidArgument(field: "page.page_size", "at most \(Self.maxPage)") }
        let size = request.page.pageSize == 0 ? 100 : Int(request.page.pageSize)
        var after = 0
        if !request.page.pageToken.isEmpty {
            guard let rank = Int(request.page.pageToken), rank >= 0 else { throw RPCError.invalidArgument(field: "page.page_token", "is not a token this method issued") }
            after = rank
        }
        let targets = try await store.targets(campaignID: request.campaignID, afterRank: after, limit: size)
        return .with {
            $0.targets = targets
            if targets.count == size, let last = targets.last { $0.nextPageToken = String(last.rank) }
        }
    }
}

