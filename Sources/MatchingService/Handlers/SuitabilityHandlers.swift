import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore

/// DecideSuitability and its audit log.
struct SuitabilityHandlers: Sendable {
    let replica: Replica
    let log: DecisionLog
    func register(into router: inout Router) {
        router.unary(Crm_Matching_V1_Matching.decideSuitability,
                     policy: .roles(MatchingRoles.service, MatchingRoles.website, MatchingRoles.workbench, MatchingRoles.headOffice, MatchingRoles.marketing),
                     audit: .customers { [$0.customerID] }) { request, context in
            try decide(request, principal: context.principal)
        }
        router.unary(Crm_Matching_V1_Matching.listDecisions,
                     policy: .roles(MatchingRoles.headOffice, MatchingRoles.service), audit: .returned { $0.decisions.map(\.customerID) }) { request, _ in
            guard !request.customerID.isEmpty || !request.orderID.isEmpty else {
                throw RPCError.invalidArgument(field: "customer_id", "customer_id or order_id is required")
            }
            guard request.limit <= 1_000 else { throw RPCError.invalidArgument(field: "limit", "at most 1000") }
            let limit = request.limit == 0 ? 50 : Int(request.limit)
            var response = Crm_Matching_V1_ListDecisionsResponse()
            response.decisions = try await log.decisions(customerID: request.customerID, orderID: request.orderID, limit: limit)
            return response
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
