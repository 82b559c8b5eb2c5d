import CRMProtos
import CRMRPC
import CRMStore

/// Precision marketing: a product's target customers and a customer's suitable products.
struct TargetingHandlers: Sendable {
    let replica: Replica
    static let maxK = 10_000

    func register(into router: inout Router) {
        let readers = AccessPolicy.roles(MatchingRoles.marketing, MatchingRoles.headOffice, MatchingRoles.workbench)
        // Ranking every eligible customer takes milliseconds to seconds of CPU: off the event loop.
        router.unary(Crm_Matching_V1_Matching.targetCustomers, policy: readers, audit: AuditRule(response: { request, response, audit in
            audit.touched(response.customers.map(\.customerID))
            audit.aggregate(rule: "targets of \(request.productCode) top \(request.k)", count: response.customers.count)
        }), offEventLoop: true) { request, context in
            try await targets(request, context: context)
        }
        router.serverStreaming(Crm_Matching_V1_Matching.streamTargetCustomers, policy: .roles(MatchingRoles.marketing, MatchingRoles.headOffice),
                               audit: .declaredByHandler, offEventLoop: true) { request, writer, context in
            guard !request.productCode.isEmpty else { throw RPCError.invalidArgument(field: "product_code", "is required") }
            var (_, customers, _) = try ranked(productCode: request.productCode, limit: nil, explain: 0)
            if let groups = replica.groups, groups.merges(context) {
                let others = try await groups.askOthers(groups.options(forCallerOf: context)) { group, options in
                    try await group.serverStreaming(Crm_Matching_V1_Matching.streamTargetCustomers, request, options: options).collect()
                }
                customers = GroupMerge.targets([customers] + others, limit: nil)
            }
            // Every id goes to the record (what left is what the trail must name), noted before
            // each is sent so a stream cut short still names what was sent.
            let audit = CallAudit.current
            audit?.aggregate(rule: "targets of \(request.productCode)", count: 0)
            for customer in customers {
                audit?.touched(customer.customerID)
                audit?.counted(1)
                try await writer.write(customer)
            }
        }
        router.unary(Crm_Matching_V1_Matching.recommendProducts,
                     policy: .roles(MatchingRoles.website, MatchingRoles.workbench, MatchingRoles.headOffice, MatchingRoles.marketing),
                     audit: .customers { [$0.customerID] }) { request, context in
            // A customer of another matching group is answered by that group.
            if let answer = try await replica.groups?.forwarded(Crm_Matching_V1_Matching.recommendProducts, request, about: request.customerID,
                                                                context: context) {
                return answer
            }
            return try recommend(request, principal: context.principal)
        }
    }

    /// This replica's list; in a matching group, merged with every other group's top K
    /// (``GroupMerge``). Asked by another group for a campaign's list (``ReplicaGroups/limitKey``),
    /// its top `limit` without reasons.
    func targets(_ request: Crm_Matching_V1_TargetCustomersRequest, context: CallContext) async throws -> Crm_Matching_V1_TargetCustomersResponse {
        guard !request.productCode.isEmpty else { throw RPCError.invalidArgument(field: "product_code", "is required") }
        // Another group asking for a campaign's list: its top `limit`, without reasons.
        let campaignLimit = ReplicaGroups.isGroupLocal(context) ? context.metadataValue(ReplicaGroups.limitKey).flatMap(Int.init) : nil
        if campaignLimit == nil, request.k > Self.maxK { throw RPCError.invalidArgument(field: "k", "at most \(Self.maxK)") }
        let k = campaignLimit.map { max(0, $0) } ?? (request.k == 0 ? 100 : Int(request.k))
        let (eligible, customers, version) = try ranked(productCode: request.productCode, limit: k, explain: campaignLimit == nil ? k : 0)
        let own = Crm_Matching_V1_TargetCustomersResponse.with {
            $0.productCode = request.productCode
            $0.modelVersion = version
            $0.eligible = UInt64(eligible)
            $0.customers = customers
        }
        guard let groups = replica.groups, groups.merges(context) else { return own }
        let others = try await groups.askOthers(groups.options(forCallerOf: context)) { group, options in
            try await group.unary(Crm_Matching_V1_Matching.targetCustomers, request, options: options)
        }
        return try GroupMerge.targets([own] + others, k: k)
    }

    /// The product's first `limit` target customers without reasons, across every matching group
    /// (a campaign's list), and the model that ranked them.
    func rankedEverywhere(productCode: String, limit: Int, context: CallContext) async throws -> ([Crm_Matching_V1_TargetCustomer], String) {
        let (_, own, version) = try ranked(productCode: productCode, limit: limit, explain: 0)
        guard let groups = replica.groups, groups.merges(context) else { return (own, version) }
        let request = Crm_Matching_V1_TargetCustomersRequest.with { $0.productCode = productCode }
        let others = try await groups.askOthers(groups.options(forCallerOf: context, limit: limit)) { group, options in
            try await group.unary(Crm_Matching_V1_Matching.targetCustomers, request, options: options)
        }
        try GroupMerge.sameModel([version] + others.map(\.modelVersion))
        return (GroupMerge.targets([own] + others.map(\.customers), limit: limit), version)
    }

    /// The ranked list with reasons for the first `explain` entries.
    func ranked(productCode: String, limit: Int?, explain: Int) throws -> (Int, [Crm_Matching_V1_TargetCustomer], String) {
        let now = BusinessDays.currentMillis()
        return try replica.memory.withLock { memory throws(ReplicaMemory.QueryError) in
            let (eligible, ranked) = try memory.targets(productCode: productCode, limit: limit, now: now)
            let family = memory.catalog[productCode]?.family
            let customers = ranked.enumerated().map { position, entry in
                Crm_Matching_V1_TargetCustomer.with {
                    $0.rank = UInt32(position + 1)
                    $0.customerID = memory.customers.ids[Int(entry.row)]
                    $0.score = entry.score
                    if position < explain { $0.reasons = memory.reasons(row: entry.row, family: family, now: now) }
                }
            }
            return (eligible, customers, memory.scorer?.version ?? "")
        }
    }

    /// A client manager's workbench (`principal` scoped by ``CustomerScope``) is answered only for
    /// the customers in the manager's book.
    func recommend(_ request: Crm_Matching_V1_RecommendProductsRequest, principal: Principal?) throws -> Crm_Matching_V1_RecommendProductsResponse {
        guard !request.customerID.isEmpty else { throw RPCError.invalidArgument(field: "customer_id", "is required") }
        guard request.limit <= 100 else { throw RPCError.invalidArgument(field: "limit", "at most 100") }
        try replica.checkScope(principal, customerID: request.customerID)
        let limit = request.limit == 0 ? 10 : Int(request.limit)
        let now = BusinessDays.currentMillis()
        return try replica.memory.withLock { memory throws(ReplicaMemory.QueryError) in
            let (row, found) = try memory.recommendations(customerID: request.customerID, limit: limit, now: now)
            var reasonsByFamily: [Int: [Crm_Matching_V1_ScoreReason]] = [:]
            let products = found.map { recommendation in
                let product = recommendation.entry.product
                let family = recommendation.entry.family
                let reasons = family.map { family in
                    reasonsByFamily[family] ?? {
                        let computed = memory.reasons(row: row, family: family, now: now)
                        reasonsByFamily[family] = computed
                        return computed
                    }()
                } ?? []
                return Crm_Matching_V1_RecommendedProduct.with {
                    $0.productCode = product.productCode
                    $0.name = product.name
                    $0.productType = ProductFamilies.typeName(product.type)
                    $0.riskLevel = product.riskLevel
                    $0.score = recommendation.score
                    $0.reasons = reasons
                }
            }
            return .with {
                $0.customerID = request.customerID
                $0.modelVersion = memory.scorer?.version ?? ""
                $0.products = products
            }
        }
    }
}
