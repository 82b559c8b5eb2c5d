import CRMProtos
import CRMRPC

/// The organisation methods of `crm.compensation.v1.Compensation`: client managers, branches, teams.
struct ManagerHandlers: Sendable {
    let store: ManagerStore
    let gate: SerialGate
    static let maxBatch = 5_000
    static let maxUnitBatch = 1_000

    func register(into router: inout Router) {
        let writers = AccessPolicy.roles(CompensationRoles.hr, CompensationRoles.headOffice)
        let readers = AccessPolicy.roles(
            CompensationRoles.headOffice, CompensationRoles.hr, CompensationRoles.branchHead, CompensationRoles.manager, CompensationRoles.service
        )
        router.unary(Crm_Compensation_V1_Compensation.upsertManager, policy: writers) { request, _ in
            try await upsert(request)
        }
        router.unary(Crm_Compensation_V1_Compensation.upsertManagers, policy: writers) { request, _ in
            try await upsert(request)
        }
        router.unary(Crm_Compensation_V1_Compensation.getManager, policy: readers) { request, context in
            try await get(request, context: context)
        }
        router.unary(Crm_Compensation_V1_Compensation.listManagers, policy: readers) { request, context in
            try await list(request, context: context)
        }
        router.unary(Crm_Compensation_V1_Compensation.upsertBranches, policy: writers) { request, _ in
            try await upsert(request)
        }
        router.unary(Crm_Compensation_V1_Compensation.listBranches, policy: readers) { _, _ in
            let branches = try await store.branches()
            return Crm_Compensation_V1_ListBranchesResponse.with { $0.branches = branches }
        }
        router.unary(Crm_Compensation_V1_Compensation.upsertTeams, policy: writers) { request, _ in
            try await upsert(request)
        }
        router.unary(Crm_Compensation_V1_Compensation.listTeams, policy: readers) { request, _ in
            let teams = try await store.teams(branchID: request.branchID)
            return Crm_Compensation_V1_ListTeamsResponse.with { $0.teams = teams }
        }
    }

    // MARK: Managers

    func upsert(_ request: Crm_Compensation_V1_UpsertManagerRequest) async throws -> Crm_Compensation_V1_UpsertManagerResponse {
        guard request.hasManager else { throw RPCError.invalidArgument(field: "manager", "is required") }
        return try await gate.run {
            try await check([request.manager], field: { _ in "manager" })
            let (stored, created) = try await store.upsert(request.manager)
            return .with {
                $0.manager = stored
                $0.created = created
            }
        }
    }

    func upsert(_ request: Crm_Compensation_V1_UpsertManagersRequest) async throws -> Crm_Compensation_V1_UpsertManagersResponse {
        guard (1...Self.maxBatch).contains(request.managers.count) else {
            throw RPCError.invalidArgument(field: "managers", "must hold 1 to \(Self.maxBatch) managers, holds \(request.managers.count)")
        }
        return try await gate.run {
            try await check(request.managers, field: { "managers[\($0)]" })
            let (_, created, updated) = try await store.upsert(request.managers)
            return .with {
                $0.created = UInt32(created)
                $0.updated = UInt32(updated)
            }
        }
    }

    /// Refuses the batch unless every manager is well formed, listed once, and names a registered
    /// team of its own branch (when it names a team).
    private func check(_ managers: [Crm_Compensation_V1_ClientManager], field: (Int) -> String) async throws {
        var refusals = Refusals()
        var seen: [String: Int] = [:]
        for (index, manager) in managers.enumerated() {
            for violation in ManagerValidation.violations(of: manager, prefix: field(index)) {
                refusals.invalid(violation.field, violation.description)
            }
            if !manager.managerID.isEmpty, let first = seen.updateValue(index, forKey: manager.managerID) {
                refusals.invalid("\(field(index)).manager_id", "\(manager.managerID) is also \(field(first))")
            }
        }
        let teams = try await store.database.read { db in try ManagerStore.teams(db) }
        for (index, manager) in managers.enumerated() where !manager.teamID.isEmpty {
            guard let team = teams[manager.teamID] else {
                refusals.notFound("\(field(index)).team_id", "no team \(manager.teamID); register it with UpsertTeams")
                continue
            }
            if team.branchID != manager.branchID {
                refusals.conflict("\(field(index)).team_id", "team \(team.teamID) belongs to branch \(team.branchID), not \(manager.branchID)")
            }
        }
        try refusals.check()
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

    func list(_ request: Crm_Compensation_V1_ListManagersRequest, context: CallContext) async throws -> Crm_Compensation_V1_ListManagersResponse {
        var branchID = request.branchID
        var managerID = ""
        switch try ManagerAccess.scope(of: context.principal) {
        case .everything:
            break
        case .branch(let own):
            guard branchID.isEmpty || branchID == own else {
                throw RPCError(.permissionDenied, "\(context.principal?.name ?? "the caller") may not list branch \(branchID)")
            }
            branchID = own
        case .manager(let own):
            managerID = own
        }
        let size = Paging.size(request.page, standard: 500, maximum: 5_000)
        let (managers, total) = try await store.list(branchID: branchID, teamID: request.teamID, managerID: managerID,
                                                     afterID: request.page.pageToken, limit: size)
        return .with {
            $0.managers = managers
            $0.page = Paging.info(next: managers.count == size ? managers.last?.managerID ?? "" : "", total: total)
        }
    }

    // MARK: Branches and teams

    func upsert(_ request: Crm_Compensation_V1_UpsertBranchesRequest) async throws -> Crm_Compensation_V1_UpsertBranchesResponse {
        guard (1...Self.maxUnitBatch).contains(request.branches.count) else {
            throw RPCError.invalidArgument(field: "branches", "must hold 1 to \(Self.maxUnitBatch) branches, holds \(request.branches.count)")
        }
        var refusals = Refusals()
        var seen: [String: Int] = [:]
        for (index, branch) in request.branches.enumerated() {
            if let problem = ManagerValidation.idProblem(branch.branchID) {
                refusals.invalid("branches[\(index)].branch_id", problem)
            } else if let first = seen.updateValue(index, forKey: branch.branchID) {
                refusals.invalid("branches[\(index)].branch_id", "\(branch.branchID) is also branches[\(first)]")
            }
            if branch.name.allSatisfy(\.isWhitespace) { refusals.invalid("branches[\(index)].name", "is required") }
        }
        try refusals.check()
        let (created, updated) = try await store.upsert(branches: request.branches)
        return .with {
            $0.created = UInt32(created)
            $0.updated = UInt32(updated)
        }
    }

    func upsert(_ request: Crm_Compensation_V1_UpsertTeamsRequest) async throws -> Crm_Compensation_V1_UpsertTeamsResponse {
        guard (1...Self.maxUnitBatch).contains(request.teams.count) else {
            throw RPCError.invalidArgument(field: "teams", "must hold 1 to \(Self.maxUnitBatch) teams, holds \(request.teams.count)")
        }
        return try await gate.run {
            var refusals = Refusals()
            var seen: [String: Int] = [:]
            let (branches, managerBranches) = try await store.database.read { db in
                (try ManagerStore.branchIDs(db), try ManagerStore.managerBranchesByTeam(db))
            }
            for (index, team) in request.teams.enumerated() {
                let field = "teams[\(index)]"
                if let problem = ManagerValidation.idProblem(team.teamID) {
                    refusals.invalid("\(field).team_id", problem)
                } else if let first = seen.updateValue(index, forKey: team.teamID) {
                    refusals.invalid("\(field).team_id", "\(team.teamID) is also teams[\(first)]")
                }
                if team.name.allSatisfy(\.isWhitespace) { refusals.invalid("\(field).name", "is required") }
                if let problem = ManagerValidation.idProblem(team.branchID) {
                    refusals.invalid("\(field).branch_id", problem)
                } else if !branches.contains(team.branchID) {
                    refusals.notFound("\(field).branch_id", "no branch \(team.branchID); register it with UpsertBranches")
                } else if let others = managerBranches[team.teamID]?.subtracting([team.branchID]), let other = others.sorted().first {
                    refusals.conflict("\(field).branch_id", "team \(team.teamID) has managers in branch \(other); move them first")
                }
            }
            try refusals.check()
            let (created, updated) = try await store.upsert(teams: request.teams)
            return .with {
                $0.created = UInt32(created)
                $0.updated = UInt32(updated)
            }
        }
    }
}
