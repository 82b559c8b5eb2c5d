import CompensationSettlement
import CRMProtos
import CRMRPC
import CRMStore
import GRDB

/// SettleMonth, GetStatement, ListStatements.
struct StatementHandlers: Sendable {
    let database: DatabasePool
    let gate: SerialGate
    /// The current instant in Unix milliseconds (the business day "today" comes from it).
    let clock: @Sendable () -> Int64
    /// Told how long each SettleMonth run took and how it ended (`closed`, `recomputed`, `differs`,
    /// `failed`): `crm_compensation_settlement_duration_seconds`.
    var settled: @Sendable (_ outcome: String, _ duration: Duration) -> Void = { _, _ in }

    func register(into router: inout Router) {
        let readers = AccessPolicy.roles(
            CompensationRoles.headOffice, CompensationRoles.hr, CompensationRoles.branchHead, CompensationRoles.manager, CompensationRoles.service
        )
        router.unary(Crm_Compensation_V1_Compensation.settleMonth,
                     policy: .roles(CompensationRoles.hr, CompensationRoles.headOffice), offEventLoop: true) { request, context in
            guard let month = CalendarMonth(request.month) else {
                throw RPCError.invalidArgument(field: "month", "'\(request.month)' is not a month (YYYY-MM)")
            }
            let started = ContinuousClock.now
            let response: Crm_Compensation_V1_SettleMonthResponse, phases: String
            do {
                (response, phases) = try await gate.run {
                    let now = clock()
                    return try await MonthSettler(database: database).settle(month, today: BusinessCalendar.day(ofUnixMillis: now), nowMillis: now)
                }
            } catch {
                settled("failed", ContinuousClock.now - started)
                throw error
            }
            settled(response.closedNow ? "closed" : (response.recomputedIdentical ? "recomputed" : "differs"), ContinuousClock.now - started)
            context.logger.info("settled", metadata: [
                "month": "\(month)", "closed_now": "\(response.closedNow)", "statements": "\(response.statements)",
                "lines": "\(response.lines)", "seconds": "\((ContinuousClock.now - started).components.seconds)", "phases": "\(phases)",
            ])
            if !response.closedNow && !response.recomputedIdentical {
                context.logger.error("a closed month's statements differ from a recomputation", metadata: ["month": "\(month)"])
            }
            return response
        }
        // A statement's lines name the customers whose income it pays for.
        router.unary(Crm_Compensation_V1_Compensation.getStatement, policy: readers, audit: .returned { $0.statement.lines.map(\.customerID) }) { request, context in
            try await get(request, context: context)
        }
        router.unary(Crm_Compensation_V1_Compensation.listStatements, policy: readers) { request, context in
            try await list(request, context: context)
        }
    }

    func get(_ request: Crm_Compensation_V1_GetStatementRequest, context: CallContext) async throws -> Crm_Compensation_V1_GetStatementResponse {
        guard let month = CalendarMonth(request.month) else {
            throw RPCError.invalidArgument(field: "month", "'\(request.month)' is not a month (YYYY-MM)")
        }
        let scope = try ManagerAccess.scope(of: context.principal)
        var managerID = request.managerID
        if managerID.isEmpty, case .manager(let own) = scope { managerID = own }
        if let problem = ManagerValidation.idProblem(managerID) { throw RPCError.invalidArgument(field: "manager_id", problem) }
        if case .manager(let own) = scope, own != managerID { throw ManagerAccess.denied(managerID, for: context.principal) }
        let size = Paging.size(request.page, standard: 1_000, maximum: 5_000)
        var offset = 0
        if !request.page.pageToken.isEmpty {
            guard let value = Int(request.page.pageToken), value >= 0 else {
                throw RPCError.invalidArgument(field: "page.page_token", "is not a token this method returned")
            }
            offset = value
        }
        let principal = context.principal
        let id = managerID
        let start = offset
        return try await database.read { db in
            guard var statement = try StatementStore.header(db, month: month, managerID: id) else {
                let manager = try ManagerStore.manager(db, id: id)
                if case .branch(let branchID) = scope, manager?.branchID != branchID { throw ManagerAccess.denied(id, for: principal) }
                guard manager != nil else { throw ManagerAccess.missing(id, for: principal) }
                throw RPCError(.notFound, "no statement for manager \(id) in \(month): the month is not settled for them")
            }
            if case .branch(let branchID) = scope, statement.branchID != branchID { throw ManagerAccess.denied(id, for: principal) }
            statement.lines = try StatementStore.lines(db, month: month, managerID: id, offset: start, count: size)
            let total = Int(statement.lineCount)
            let next = start + statement.lines.count
            return .with {
                $0.statement = statement
                $0.page = Paging.info(next: next < total ? String(next) : "", total: total)
            }
        }
    }

    func list(_ request: Crm_Compensation_V1_ListStatementsRequest, context: CallContext) async throws -> Crm_Compensation_V1_ListStatementsResponse {
        if !request.month.isEmpty, CalendarMonth(request.month) == nil {
            throw RPCError.invalidArgument(field: "month", "'\(request.month)' is not a month (YYYY-MM)")
        }
        var managerID = request.managerID
        var branchID = request.branchID
        let principal = context.principal
        // A filter outside the caller's scope is refused, not answered with an empty list: a
        // manager may name only a branch their statements belong to (their own branch, or one they
        // were settled in before a transfer), a branch head only a manager whose statements are in
        // their branch (or who is placed there now). An id that does not exist is refused alike.
        switch try ManagerAccess.scope(of: principal) {
        case .everything:
            break
        case .branch(let own):
            guard branchID.isEmpty || branchID == own else {
                throw RPCError(.permissionDenied, "\(principal?.name ?? "the caller") may not read branch \(branchID)")
            }
            if !managerID.isEmpty {
                let id = managerID
                let inBranch = try await database.read { db in
                    try ManagerStore.manager(db, id: id)?.branchID == own || StatementStore.exists(db, managerID: id, branchID: own)
                }
                guard inBranch else { throw ManagerAccess.denied(managerID, for: principal) }
            }
            branchID = own
        case .manager(let own):
            guard managerID.isEmpty || managerID == own else { throw ManagerAccess.denied(managerID, for: principal) }
            managerID = own
            if !branchID.isEmpty {
                let branch = branchID
                let theirs = try await database.read { db in
                    try ManagerStore.manager(db, id: own)?.branchID == branch || StatementStore.exists(db, managerID: own, branchID: branch)
                }
                guard theirs else {
                    throw RPCError(.permissionDenied, "\(principal?.name ?? "the caller") may not read branch \(branch)")
                }
            }
        }
        let size = Paging.size(request.page, standard: 500, maximum: 5_000)
        var after: (String, String)?
        if !request.page.pageToken.isEmpty {
            let parts = request.page.pageToken.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw RPCError.invalidArgument(field: "page.page_token", "is not a token this method returned") }
            after = (String(parts[0]), String(parts[1]))
        }
        let filters = (managerID, branchID)
        let pageAfter = after
        let (statements, total) = try await database.read { db in
            try StatementStore.list(db, month: request.month, managerID: filters.0, branchID: filters.1, after: pageAfter, limit: size)
        }
        return .with {
            $0.statements = statements
            let last = statements.last
            $0.page = Paging.info(next: statements.count == size && last != nil ? "\(last?.month ?? "")|\(last?.managerID ?? "")" : "", total: total)
        }
    }
}
