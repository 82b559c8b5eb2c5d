import CRMProtos
import CRMRPC

/// The client-manager methods of `crm.compensation.v1.Compensation`.
struct ManagerHandlers: Sendable {
    let store: ManagerStore

    func register(into router: inout Router) {
        router.unary(
            "/crm.compensation.v1.Compensation/UpsertManager",
            Crm_Compensation_V1_UpsertManagerRequest.self,
            policy: .roles(CompensationRoles.hr, CompensationRoles.headOffice)
        ) { request, _ in
            try await upsert(request)
        }
        router.unary(
            "/crm.compensation.v1.Compensation/GetManager",
            Crm_Compensation_V1_GetManagerRequest.self,
            policy: .roles(
                CompensationRoles.headOffice, CompensationRoles.branchHead, CompensationRoles.manager,
                CompensationRoles.service
            )
        ) { request, context in
            try await get(request, context: context)
        }
    }

    func upsert(_ request: Crm_Compensation_V1_UpsertManagerRequest) async throws -> Crm_Compensation_V1_UpsertManagerResponse {
        guard request.hasManager else { throw RPCError.invalidArgument(field: "manager", "is required") }
        let violations = ManagerValidation.violations(of: request.manager)
        guard violations.isEmpty else { throw RPCError.invalidArguments(violations) }
        let (stored, created) = try await store.upsert(request.manager)
        return .with {
            $0.manager = stored
            $0.created = created
        }
    }

    func get(_ request: Crm_Compensation_V1_GetManagerRequest, context: CallContext) async throws -> Crm_Compensation_V1_GetManagerResponse {
        if let problem = ManagerValidation.idProblem(request.managerID) {
            throw RPCError.invalidArgument(field: "manager_id", problem)
        }
        guard let manager = try await store.manager(id: request.managerID) else {
            throw ManagerAccess.missing(request.managerID, for: context.principal)
        }
        try ManagerAccess.check(context.principal, mayRead: manager)
        return .with { $0.manager = manager }
    }
}
