import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore

/// DecideSuitability and its audit log.
struct SuitabilityHandlers: Sendable {
    let replica: Replica
    let log: DecisionLog
    /// The other replicas: each logs the decisions it made, so ListDecisions asks them too.
    let siblings: SiblingReplicas
    /// Metadata a replica sets when it asks a sibling for its decisions: the sibling answers from
    /// its own log only (honoured only from a service acting for a caller, as profiles' own is).
    static let thisReplicaOnlyKey = "crm-replica-local"
    /// How long a sibling may take to answer before its decisions are reported missing.
    static let siblingTimeout = CallOptions.timeout(.seconds(10))
    func register(into router: inout Router) {
        router.unary(Crm_Matching_V1_Matching.decideSuitability,
                     policy: .roles(MatchingRoles.service, MatchingRoles.website, MatchingRoles.workbench, MatchingRoles.headOffice, MatchingRoles.marketing),
                     audit: .customers { [$0.customerID] }) { request, context in
            // A customer of another matching group is decided (and logged) by that group.
            if let answer = try await replica.groups?.forwarded(Crm_Matching_V1_Matching.decideSuitability, request, about: request.customerID,
                                                                context: context) {
                return answer
            }
            return try decide(request, principal: context.principal)
        }
        router.unary(Crm_Matching_V1_Matching.listDecisions,
                     policy: .roles(MatchingRoles.headOffice, MatchingRoles.service), audit: .returned { $0.decisions.map(\.customerID) }) { request, context in
            guard !request.customerID.isEmpty || !request.orderID.isEmpty else {
                throw RPCError.invalidArgument(field: "customer_id", "customer_id or order_id is required")
            }
            guard request.limit <= 1_000 else { throw RPCError.invalidArgument(field: "limit", "at most 1000") }
            let limit = request.limit == 0 ? 50 : Int(request.limit)
            let own = try await log.decisions(customerID: request.customerID, orderID: request.orderID, limit: limit)
            let askedBySibling = context.forwardedBy != nil && context.metadataValue(Self.thisReplicaOnlyKey) != nil
            guard !askedBySibling, !siblings.siblings.isEmpty else { return .with { $0.decisions = own } }
            return await merged(own, limit: limit, askingSiblings: request, context: context)
        }
    }

    /// This replica's decisions and every sibling's (asked at once, for the same caller), newest
    /// first by ``DecisionLog/newestFirst(_:_:)``, at most `limit`; siblings that do not answer are
    /// named in the response.
    private func merged(_ own: [Crm_Matching_V1_RecordedDecision], limit: Int, askingSiblings request: Crm_Matching_V1_ListDecisionsRequest,
                        context: CallContext) async -> Crm_Matching_V1_ListDecisionsResponse {
        var asking = Self.siblingTimeout
        asking.metadata = ForwardedPrincipal.metadata(forCallerOf: context) + [MetadataEntry(Self.thisReplicaOnlyKey, "1")]
        let options = asking
        var all = own
        var unanswered: [String] = []
        await withTaskGroup(of: (String, [Crm_Matching_V1_RecordedDecision]?).self) { group in
            for sibling in siblings.siblings {
                group.addTask {
                    (sibling.name, try? await sibling.client.unary(Crm_Matching_V1_Matching.listDecisions, request, options: options).decisions)
                }
            }
            for await (name, decisions) in group {
                if let decisions { all += decisions } else { unanswered.append(name) }
            }
        }
        return .with {
            $0.decisions = Array(all.sorted(by: DecisionLog.newestFirst).prefix(limit))
            $0.unansweredReplicas = unanswered.sorted()
        }
    }

    /// A client manager's workbench (`principal` scoped by ``CustomerScope``) is answered only for
    /// the customers in the manager's book.
    func decide(_ request: Crm_Matching_V1_DecideSuitabilityRequest, principal: Principal?) throws -> Crm_Matching_V1_DecideSuitabilityResponse {
        guard !request.customerID.isEmpty else { throw RPCError.invalidArgument(field: "customer_id", "is required") }
        guard !request.productCode.isEmpty else { throw RPCError.invalidArgument(field: "product_code", "is required") }
        if request.hasAmount, request.amount.minorUnits <= 0 {
            throw RPCError.invalidArgument(field: "amount.minor_units", "must be greater than zero")
        }
        try replica.checkScope(principal, customerID: request.customerID)
        let now = currentUnixMillis()
        let today = BusinessDays.day(ofMillis: now)
        let decision: ReplicaMemory.Decision
        decision = try replica.memory.withLock { memory throws(ReplicaMemory.QueryError) in
            try memory.decide(customerID: request.customerID, productCode: request.productCode, today: today)
        }
        let reasons = decision.verdict.reasons.map { reason in
            Crm_Matching_V1_SuitabilityReason.with {
                $0.code = reason.code
                $0.text = reason.text
            }
        }
        let response = Crm_Matching_V1_DecideSuitabilityResponse.with {
            $0.decision = SuitabilityMapping.wire(decision.verdict.decision)
            $0.reasons = reasons
            $0.ruleVersion = decision.verdict.ruleVersion
            $0.decidedAt = .with { $0.unixMillis = now }
        }
        log.record(.with {
            $0.customerID = request.customerID
            $0.productCode = request.productCode
            $0.orderID = request.orderID
            $0.decision = response.decision
            $0.reasons = reasons
            $0.ruleVersion = response.ruleVersion
            $0.decidedAt = response.decidedAt
            $0.inputs = decision.inputs
        })
        return response
    }
}

extension ReplicaMemory.QueryError: RefusalConvertible {
    /// What a query of the copy that cannot be answered tells the caller; the server maps it.
    var refusal: Refusal {
        switch self {
        case .unknownCustomer(let id):
            return Refusal(.notFound, "no customer \(id) in matching's copy", fields: [.init(field: "customer_id", description: "unknown customer \(id)")])
        case .unknownProduct(let code):
            return Refusal(.notFound, "no product \(code) in matching's copy", fields: [.init(field: "product_code", description: "unknown product \(code)")])
        case .ruleUnusable(let code, let problem):
            return Refusal(.failedPrecondition, "the target rule of \(code) cannot be evaluated: \(problem)",
                           fields: [.init(field: "product_code", description: "target rule unusable: \(problem)")])
        case .noModel:
            return Refusal(.failedPrecondition, "this replica has no propensity model yet: train one (TrainModel) or wait until it copies "
                           + "the model of another replica (GetReplicaStatus.model_version tells)")
        }
    }
}
