import CRMProtos
import CRMRPC
import GRDB

/// GetAssessmentFigures: a month's figures per manager, rolled up per team, branch and firm, with
/// rankings, computed from the store as it stands.
struct AssessmentHandlers: Sendable {
    let database: DatabasePool
    let settings: CompensationSettings

    func register(into router: inout Router) {
        router.unary(
            Crm_Compensation_V1_Compensation.getAssessmentFigures,
            policy: .roles(CompensationRoles.headOffice, CompensationRoles.hr, CompensationRoles.branchHead, CompensationRoles.manager, CompensationRoles.service)
        ) { request, context in
            try await figures(request, context: context)
        }
    }

    /// The part of the organisation a request covers.
    enum Unit: Sendable, Hashable {
        case firm
        case branch(String)
        case team(String)
        case manager(String)
    }

    func figures(_ request: Crm_Compensation_V1_GetAssessmentFiguresRequest, context: CallContext) async throws -> Crm_Compensation_V1_GetAssessmentFiguresResponse {
        guard let month = CalendarMonth(request.month) else {
            throw RPCError.invalidArgument(field: "month", "'\(request.month)' is not a month (YYYY-MM)")
        }
        let named = [("manager_id", request.managerID), ("team_id", request.teamID), ("branch_id", request.branchID)].filter { !$0.1.isEmpty }
        guard named.count <= 1 else {
            throw RPCError.invalidArgument(field: named[1].0, "give at most one of manager_id, team_id and branch_id")
        }
        var metrics: [AssessmentMetric] = []
        for (index, wire) in request.metrics.enumerated() {
            guard let metric = AssessmentMetric(wire: wire) else { throw RPCError.invalidArgument(field: "metrics[\(index)]", "is not a metric") }
            if !metrics.contains(metric) { metrics.append(metric) }
        }
        if metrics.isEmpty { metrics = AssessmentMetric.allCases }
        let scope = try ManagerAccess.scope(of: context.principal)
        let principal = context.principal
        let settings = self.settings
        let top = Int(request.top)
        let chosen = metrics

        return try await database.read { db in
            let roster = try ManagerStore.all(db)
            let byID = Dictionary(uniqueKeysWithValues: roster.map { ($0.managerID, $0) })
            let storedTeams = try ManagerStore.teams(db)
            func teamBranch(_ teamID: String) -> String? {
                storedTeams[teamID]?.branchID ?? roster.first { $0.teamID == teamID }?.branchID
            }
            func denied(_ what: String) -> RPCError {
                RPCError(.permissionDenied, "\(principal?.name ?? "the caller") may not read \(what)")
            }

            // The unit asked for, checked against the caller's scope.
            var unit: Unit
            if !request.managerID.isEmpty {
                unit = .manager(request.managerID)
            } else if !request.teamID.isEmpty {
                unit = .team(request.teamID)
            } else if !request.branchID.isEmpty {
                unit = .branch(request.branchID)
            } else {
                switch scope {
                case .everything: unit = .firm
                case .branch(let id): unit = .branch(id)
                case .manager(let id): unit = .manager(id)
                }
            }
            switch (unit, scope) {
            case (_, .everything):
                switch unit {
                case .manager(let id) where byID[id] == nil: throw RPCError(.notFound, "no manager \(id)")
                case .team(let id) where teamBranch(id) == nil: throw RPCError(.notFound, "no team \(id)")
                case .branch(let id) where !roster.contains(where: { $0.branchID == id }): throw RPCError(.notFound, "no manager in branch \(id)")
                default: break
                }
            case (.manager(let id), .manager(let own)):
                guard id == own else { throw ManagerAccess.denied(id, for: principal) }
            case (.manager(let id), .branch(let own)):
                guard byID[id]?.branchID == own else { throw ManagerAccess.denied(id, for: principal) }
            case (.team(let id), .branch(let own)):
                guard teamBranch(id) == own else { throw denied("team \(id)") }
            case (.branch(let id), .branch(let own)):
                guard id == own else { throw denied("branch \(id)") }
            case (.team(let id), _): throw denied("team \(id)")
            case (.branch(let id), _): throw denied("branch \(id)")
            case (.firm, _): throw denied("the whole firm")
            }

            let report = try Self.report(db, month: month, roster: roster, settings: settings)
            return Self.response(report, month: month, unit: unit, roster: byID, teamBranch: teamBranch, metrics: chosen, top: top,
                                 definition: settings.effectiveAccountText)
        }
    }

    /// The month's assessment over the whole firm.
    static func report(_ db: Database, month: CalendarMonth, roster: [Crm_Compensation_V1_ClientManager], settings: CompensationSettings) throws -> AssessmentReport {
        let catalog = try RulesStore.catalog(db)
        var deducted: Set<String> = []
        for grade in Set(roster.map(\.grade)) where !grade.isEmpty {
            if let scheme = try? catalog.scheme(grade: grade, month: month) { deducted.formUnion(scheme.deductedCosts) }
        }
        let inputs = AssessmentInputs(
            month: month,
            managers: roster.map {
                ManagerPlacement(managerID: $0.managerID, teamID: $0.teamID, branchID: $0.branchID, leftOn: $0.hasLeftOn ? CalendarDay($0.leftOn) : nil)
            },
            timeline: try AssignmentStore.timeline(db),
            items: try IncomeStore.items(db, days: month.firstDay...month.lastDay, through: .max),
            assets: try IncomeStore.assetPoints(db, month: month),
            flows: try IncomeStore.flows(db, month: month),
            openings: try IncomeStore.openings(db, month: month),
            effectiveAccount: settings.effectiveAccount,
            deductedCosts: deducted
        )
        do {
            return try Assessment.report(inputs)
        } catch {
            throw RPCError(.internal, "assessment of \(month) failed: \(error)")
        }
    }

    static func response(_ report: AssessmentReport, month: CalendarMonth, unit: Unit, roster: [String: Crm_Compensation_V1_ClientManager],
                         teamBranch: (String) -> String?, metrics: [AssessmentMetric], top: Int,
                         definition: String) -> Crm_Compensation_V1_GetAssessmentFiguresResponse {
        // Managers who left and did nothing this month are not assessed.
        let managers = report.managers.filter { manager in
            roster[manager.placement.managerID]?.status != .left || manager.figures != AssessmentFigures()
                && manager.figures != Self.emptyWithAverage
        }
        let teams = report.teams.compactMap { unit -> (String, UnitAssessment)? in
            guard case .team(let id) = unit.scope, !id.isEmpty else { return nil }
            return (id, unit)
        }
        let branches = report.branches.compactMap { unit -> (String, UnitAssessment)? in
            guard case .branch(let id) = unit.scope else { return nil }
            return (id, unit)
        }

        func contains(manager: ManagerAssessment) -> Bool {
            switch unit {
            case .firm: return true
            case .branch(let id): return manager.placement.branchID == id
            case .team(let id): return manager.placement.teamID == id
            case .manager(let id): return manager.placement.managerID == id
            }
        }
        func contains(team id: String) -> Bool {
            switch unit {
            case .firm: return true
            case .branch(let branch): return teamBranch(id) == branch
            case .team(let team): return team == id
            case .manager: return false
            }
        }
        func contains(branch id: String) -> Bool {
            switch unit {
            case .firm: return true
            case .branch(let branch): return branch == id
            case .team, .manager: return false
            }
        }

        var response = Crm_Compensation_V1_GetAssessmentFiguresResponse()
        response.month = month.description
        response.effectiveAccountDefinition = definition
        let inUnit = managers.filter(contains(manager:))
        response.managers = inUnit.map { manager in
            .with {
                $0.managerID = manager.placement.managerID
                $0.teamID = manager.placement.teamID
                $0.branchID = manager.placement.branchID
                $0.figures = manager.figures.wire
            }
        }
        response.teams = teams.filter { contains(team: $0.0) }.map { id, team in wireUnit(id, branchID: teamBranch(id) ?? "", team) }
        response.branches = branches.filter { contains(branch: $0.0) }.map { id, branch in wireUnit(id, branchID: id, branch) }
        let total = inUnit.map(\.figures).reduce(nil as AssessmentFigures?) { sum, next in sum.map { $0 + next } ?? next } ?? AssessmentFigures()
        response.scopeTotal = .with {
            switch unit {
            case .firm: $0.unitID = ""
            case .branch(let id), .team(let id), .manager(let id): $0.unitID = id
            }
            if case .team(let id) = unit { $0.branchID = teamBranch(id) ?? "" }
            if case .branch(let id) = unit { $0.branchID = id }
            $0.managers = UInt32(inUnit.count)
            $0.figures = total.wire
        }
        if unit == .firm { response.unassigned = report.unassigned.wire }

        // Rankings: within the firm, and within the branch and team that contain the unit.
        var levels: [(Crm_Compensation_V1_RankingScope, String)] = [(.firm, "")]
        var containingBranch: String?
        var containingTeam: String?
        switch unit {
        case .firm: break
        case .branch(let id): containingBranch = id
        case .team(let id): containingBranch = teamBranch(id); containingTeam = id
        case .manager(let id):
            containingBranch = roster[id]?.branchID
            if let team = roster[id]?.teamID, !team.isEmpty { containingTeam = team }
        }
        if let containingBranch { levels.append((.branch, containingBranch)) }
        if let containingTeam { levels.append((.team, containingTeam)) }
        let rankTeams: Bool = { if case .manager = unit { return false }; return true }()
        let rankBranches: Bool = { switch unit { case .firm, .branch: return true; default: return false } }()

        for metric in metrics {
            for (level, levelID) in levels {
                let members = managers.filter { manager in
                    switch level {
                    case .branch: return manager.placement.branchID == levelID
                    case .team: return manager.placement.teamID == levelID
                    default: return true
                    }
                }
                response.rankings.append(ranking(metric, .manager, level, levelID,
                                                 members.map { ($0.placement.managerID, metric.value(of: $0.figures)) },
                                                 keep: Set(inUnit.map(\.placement.managerID)), top: top))
                if rankTeams, level != .team {
                    let ranked = teams.filter { level == .firm || teamBranch($0.0) == levelID }
                    response.rankings.append(ranking(metric, .team, level, levelID, ranked.map { ($0.0, metric.value(of: $0.1.figures)) },
                                                     keep: Set(ranked.map(\.0).filter(contains(team:))), top: top))
                }
                if rankBranches, level == .firm {
                    response.rankings.append(ranking(metric, .branch, level, levelID, branches.map { ($0.0, metric.value(of: $0.1.figures)) },
                                                     keep: Set(branches.map(\.0).filter(contains(branch:))), top: top))
                }
            }
        }
        return response
    }

    /// Figures of someone with nothing in the month when positions are known (average 0).
    private static let emptyWithAverage: AssessmentFigures = {
        var figures = AssessmentFigures()
        figures.averageAssetsFen = 0
        return figures
    }()

    private static func wireUnit(_ id: String, branchID: String, _ unit: UnitAssessment) -> Crm_Compensation_V1_UnitAssessment {
        .with {
            $0.unitID = id
            $0.branchID = branchID
            $0.managers = UInt32(unit.managerIDs.count)
            $0.figures = unit.figures.wire
        }
    }

    private static func ranking(_ metric: AssessmentMetric, _ kind: Crm_Compensation_V1_RankedUnit, _ level: Crm_Compensation_V1_RankingScope,
                                _ levelID: String, _ values: [(String, Int64)], keep: Set<String>, top: Int) -> Crm_Compensation_V1_Ranking {
        let ranked = AssessmentRanking.rank(values.map { (id: $0.0, value: $0.1) })
        var kept = ranked.filter { keep.contains($0.id) }
        if top > 0, kept.count > top { kept = Array(kept.prefix(top)) }
        return .with {
            $0.metric = metric.wire
            $0.unit = kind
            $0.within = level
            $0.withinID = levelID
            $0.population = UInt32(ranked.count)
            $0.entries = kept.map { entry in
                .with {
                    $0.position = UInt32(entry.position)
                    $0.rank = UInt32(entry.rank)
                    $0.id = entry.id
                    $0.value = entry.value
                }
            }
        }
    }
}
