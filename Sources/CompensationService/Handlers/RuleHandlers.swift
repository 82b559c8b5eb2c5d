import CRMProtos
import CRMRPC
import CRMStore
import GRDB

/// PutScheme, ListSchemes, SetCoefficients, ListCoefficients.
struct RuleHandlers: Sendable {
    let database: DatabasePool
    let gate: SerialGate
    static let maxBatch = 5_000

    func register(into router: inout Router) {
        let writers = AccessPolicy.roles(CompensationRoles.hr, CompensationRoles.headOffice)
        let readers = AccessPolicy.roles(
            CompensationRoles.headOffice, CompensationRoles.hr, CompensationRoles.branchHead, CompensationRoles.manager, CompensationRoles.service
        )
        router.unary(Crm_Compensation_V1_Compensation.putScheme, policy: writers) { request, _ in
            try await put(request)
        }
        router.unary(Crm_Compensation_V1_Compensation.listSchemes, policy: readers) { request, _ in
            let schemes = try await database.read { db in try RulesStore.schemes(db, grade: request.grade) }
            return Crm_Compensation_V1_ListSchemesResponse.with { $0.schemes = schemes }
        }
        router.unary(Crm_Compensation_V1_Compensation.setCoefficients, policy: writers) { request, _ in
            try await set(request)
        }
        router.unary(Crm_Compensation_V1_Compensation.listCoefficients, policy: readers) { request, context in
            try await list(request, context: context)
        }
    }

    // MARK: Schemes

    func put(_ request: Crm_Compensation_V1_PutSchemeRequest) async throws -> Crm_Compensation_V1_PutSchemeResponse {
        guard request.hasScheme else { throw RPCError.invalidArgument(field: "scheme", "is required") }
        let submitted = request.scheme
        var refusals = Refusals()
        if let problem = ManagerValidation.idProblem(submitted.grade) { refusals.invalid("scheme.grade", problem) }
        if !submitted.hasEffectiveFrom {
            refusals.invalid("scheme.effective_from", "is required")
        } else if CalendarDay(submitted.effectiveFrom) == nil {
            refusals.invalid("scheme.effective_from", "is not a calendar date")
        }
        if submitted.hasEffectiveUntil, CalendarDay(submitted.effectiveUntil) == nil {
            refusals.invalid("scheme.effective_until", "is not a calendar date")
        }
        if !submitted.hasRates { refusals.invalid("scheme.rates", "is required") }
        for (index, name) in submitted.deductedCosts.enumerated() where name.isEmpty {
            refusals.invalid("scheme.deducted_costs[\(index)]", "is empty")
        }
        try refusals.check()
        let domain = CompensationScheme(wire: submitted, version: 1)
        refusals.invalid(domain.violations(prefix: "scheme").filter { $0.field != "scheme.grade" })
        try refusals.check()

        return try await gate.run {
            try await database.write { db in
                var scheme = submitted
                let stored = try RulesStore.schemes(db, grade: scheme.grade)
                if let latest = stored.last, Self.sameContent(latest, scheme) {
                    return .with {
                        $0.scheme = latest
                        $0.created = false
                    }
                }
                var refusals = Refusals()
                let from = domain.effectiveFrom
                if let lastClosed = try StatementStore.closings(db).last?.month, from <= lastClosed.firstDay {
                    refusals.conflict("scheme.effective_from",
                                      "\(from) is not after \(lastClosed.firstDay), the first day of closed month \(lastClosed); the rules of closed months never change")
                }
                var versions = stored
                var ended: [Crm_Compensation_V1_Scheme] = []
                if let index = versions.lastIndex(where: { !$0.hasEffectiveUntil && (CalendarDay($0.effectiveFrom) ?? from) < from }) {
                    versions[index].effectiveUntil = from.wire
                    ended.append(versions[index])
                }
                scheme.version = (stored.map(\.version).max() ?? 0) + 1
                scheme.createdAt = .with { $0.unixMillis = currentUnixMillis() }
                let candidate = versions.map { CompensationScheme(wire: $0, version: Int($0.version)) } + [CompensationScheme(wire: scheme, version: Int(scheme.version))]
                do {
                    _ = try SchemeCatalog(candidate)
                } catch {
                    let clash = versions.first { CompensationScheme(wire: $0, version: 1).overlaps(domain) }
                    refusals.conflict("scheme.effective_from", clash.map {
                        "\(domain.effectiveFrom)\(domain.effectiveUntil.map { " until \($0)" } ?? " onwards") overlaps stored version \($0.version) (from \($0.effectiveFrom.isoString)\($0.hasEffectiveUntil ? " until \($0.effectiveUntil.isoString)" : " onwards"))"
                    } ?? "overlaps a stored version")
                }
                try refusals.check()
                for version in ended { try RulesStore.save(db, version) }
                try RulesStore.save(db, scheme)
                return .with {
                    $0.scheme = scheme
                    $0.created = true
                    $0.ended = ended
                }
            }
        }
    }

    /// Whether two versions say the same thing (ignoring the fields the service sets).
    static func sameContent(_ a: Crm_Compensation_V1_Scheme, _ b: Crm_Compensation_V1_Scheme) -> Bool {
        var a = a, b = b
        a.version = 0; b.version = 0
        a.clearCreatedAt(); b.clearCreatedAt()
        return a == b
    }

    // MARK: Coefficients

    func set(_ request: Crm_Compensation_V1_SetCoefficientsRequest) async throws -> Crm_Compensation_V1_SetCoefficientsResponse {
        guard (1...Self.maxBatch).contains(request.coefficients.count) else {
            throw RPCError.invalidArgument(field: "coefficients", "must hold 1 to \(Self.maxBatch) entries, holds \(request.coefficients.count)")
        }
        var refusals = Refusals()
        var months: [CalendarMonth?] = []
        var seen: [String: Int] = [:]
        for (index, entry) in request.coefficients.enumerated() {
            let prefix = "coefficients[\(index)]"
            if let problem = ManagerValidation.idProblem(entry.managerID) { refusals.invalid("\(prefix).manager_id", problem) }
            let month = CalendarMonth(entry.month)
            months.append(month)
            if month == nil { refusals.invalid("\(prefix).month", "'\(entry.month)' is not a month (YYYY-MM)") }
            if !entry.assessment.isEmpty, Coefficient(entry.assessment).map(\.isAllowed) != true {
                refusals.invalid("\(prefix).assessment", "'\(entry.assessment)' is not a coefficient from 0 to 10 with at most six decimals")
            }
            if entry.complianceBreach {
                if !entry.compliance.isEmpty, Coefficient(entry.compliance) != .zero {
                    refusals.invalid("\(prefix).compliance", "must be empty or 0 with compliance_breach")
                }
            } else if !entry.compliance.isEmpty, Coefficient(entry.compliance).map(\.isAllowed) != true {
                refusals.invalid("\(prefix).compliance", "'\(entry.compliance)' is not a coefficient from 0 to 10 with at most six decimals")
            }
            if let first = seen.updateValue(index, forKey: "\(entry.managerID)|\(entry.month)") {
                refusals.invalid(prefix, "manager \(entry.managerID) in \(entry.month) is also coefficients[\(first)]")
            }
        }
        try refusals.check()
        let parsedMonths = months
        return try await gate.run {
            try await database.write { db in
                var refusals = Refusals()
                let managers = try ManagerStore.existing(db, ids: Set(request.coefficients.map(\.managerID)))
                let closed = Set(try StatementStore.closings(db).map(\.month))
                let first = try StatementStore.closings(db).first?.month
                for (index, entry) in request.coefficients.enumerated() {
                    if managers[entry.managerID] == nil { refusals.notFound("coefficients[\(index)].manager_id", "no manager \(entry.managerID)") }
                    if let month = parsedMonths[index], closed.contains(month) || first.map({ month < $0 }) == true {
                        refusals.conflict("coefficients[\(index)].month", "\(month) is closed; its statements never change")
                    }
                }
                try refusals.check()
                let now = currentUnixMillis()
                for var entry in request.coefficients {
                    if entry.complianceBreach { entry.compliance = "0" }
                    if entry.assessment.isEmpty { entry.assessment = "1" }
                    if entry.compliance.isEmpty { entry.compliance = "1" }
                    try RulesStore.save(db, entry, atMillis: now)
                }
                return .with { $0.stored = UInt32(request.coefficients.count) }
            }
        }
    }

    func list(_ request: Crm_Compensation_V1_ListCoefficientsRequest, context: CallContext) async throws -> Crm_Compensation_V1_ListCoefficientsResponse {
        guard let month = CalendarMonth(request.month) else {
            throw RPCError.invalidArgument(field: "month", "'\(request.month)' is not a month (YYYY-MM)")
        }
        let scope = try ManagerAccess.scope(of: context.principal)
        let principal = context.principal
        return try await database.read { db in
            var managerIDs: [String]?
            switch scope {
            case .everything:
                if !request.managerID.isEmpty { managerIDs = [request.managerID] }
            case .branch(let branchID):
                let inBranch = try String.fetchAll(db, sql: "SELECT manager_id FROM client_manager WHERE branch_id = ?", arguments: [branchID])
                if !request.managerID.isEmpty {
                    guard inBranch.contains(request.managerID) else { throw ManagerAccess.denied(request.managerID, for: principal) }
                    managerIDs = [request.managerID]
                } else {
                    managerIDs = inBranch
                }
            case .manager(let own):
                guard request.managerID.isEmpty || request.managerID == own else { throw ManagerAccess.denied(request.managerID, for: principal) }
                managerIDs = [own]
            }
            let coefficients = try RulesStore.coefficients(db, month: month, managerIDs: managerIDs)
            return .with { $0.coefficients = coefficients }
        }
    }
}

extension CompensationScheme {
    /// Whether the two versions' periods share a day.
    func overlaps(_ other: CompensationScheme) -> Bool {
        (other.effectiveUntil.map { effectiveFrom < $0 } ?? true) && (effectiveUntil.map { other.effectiveFrom < $0 } ?? true)
    }
}
