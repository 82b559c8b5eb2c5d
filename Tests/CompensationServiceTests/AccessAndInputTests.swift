import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMStore
import Testing
@testable import CompensationService

/// Who reads what, and how bad input is refused (each status naming the field).
@Suite struct AccessAndInputTests {
    typealias H = CompensationHarness

    /// M1, M2 in branch B1 with C1 and C2; M3 in B2 with C3; March settled.
    func settledMarch() async throws -> CompensationHarness {
        let harness = try await H.start()
        try await harness.organisation()
        try await harness.putScheme()
        try await harness.customers(["C1", "C2", "C3"])
        try await harness.assign("C1", to: "M1", from: .day(2025, 1, 1))
        try await harness.assign("C2", to: "M2", from: .day(2025, 1, 1))
        try await harness.assign("C3", to: "M3", from: .day(2025, 1, 1))
        try await harness.record([
            H.trade(1, customer: "C1", on: (2025, 3, 3), commission: 10_000, fees: 0, amount: 0),
            H.trade(2, customer: "C2", on: (2025, 3, 4), commission: 20_000, fees: 0, amount: 0),
            H.trade(3, customer: "C3", on: (2025, 3, 5), commission: 30_000, fees: 0, amount: 0),
        ])
        try await harness.settle("2025-03")
        return harness
    }

    @Test func managersSeeTheirOwnBranchHeadsTheirBranchHeadOfficeEverything() async throws {
        let harness = try await settledMarch()
        // A manager: their own statement (also by leaving the id out), nobody else's, and an
        // unknown id reads exactly like someone else's.
        #expect(try await harness.statement("M1", "2025-03", token: "m1").statement.totalFen == 2_000)
        #expect(try await harness.statement("", "2025-03", token: "m1").statement.managerID == "M1")
        let other = await statusOf { _ = try await harness.statement("M2", "2025-03", token: "m1") }
        let unknown = await statusOf { _ = try await harness.statement("M404", "2025-03", token: "m1") }
        #expect(other?.code == .permissionDenied)
        #expect(unknown?.code == .permissionDenied)
        // A branch head: their branch only; an unknown id reads as outside it.
        #expect(try await harness.statement("M2", "2025-03", token: "b1").statement.totalFen == 4_000)
        #expect(await statusOf { _ = try await harness.statement("M3", "2025-03", token: "b1") }?.code == .permissionDenied)
        #expect(await statusOf { _ = try await harness.statement("M404", "2025-03", token: "b1") }?.code == .permissionDenied)
        // Head office: everything; an unknown id is NOT_FOUND, as is an unsettled month.
        #expect(try await harness.statement("M3", "2025-03").statement.totalFen == 6_000)
        #expect(await statusOf { _ = try await harness.statement("M404", "2025-03") }?.code == .notFound)
        #expect(await statusOf { _ = try await harness.statement("M1", "2025-02") }?.code == .notFound)

        func listed(_ token: String, _ fill: (inout Crm_Compensation_V1_ListStatementsRequest) -> Void = { _ in }) async throws -> [String] {
            try await harness.call(Crm_Compensation_V1_Compensation.listStatements, Crm_Compensation_V1_ListStatementsRequest.with(fill), token: token).statements.map(\.managerID)
        }
        #expect(try await listed("m1") == ["M1"])
        #expect(try await listed("b1") == ["M1", "M2"])
        #expect(try await listed("office") == ["M1", "M2", "M3"])
        #expect(await statusOf { _ = try await listed("b1") { $0.branchID = "B2" } }?.code == .permissionDenied)
        #expect(await statusOf { _ = try await listed("m1") { $0.managerID = "M2" } }?.code == .permissionDenied)
        // A filter outside the scope is refused, not answered with an empty list: a manager naming
        // another branch, a branch head naming another branch's manager or an id that does not exist.
        #expect(await statusOf { _ = try await listed("m1") { $0.branchID = "B2" } }?.code == .permissionDenied)
        #expect(await statusOf { _ = try await listed("b1") { $0.managerID = "M3" } }?.code == .permissionDenied)
        #expect(await statusOf { _ = try await listed("b1") { $0.managerID = "M404" } }?.code == .permissionDenied)
        // Inside it, the filters narrow as before.
        #expect(try await listed("m1") { $0.branchID = "B1" } == ["M1"])
        #expect(try await listed("b1") { $0.managerID = "M2" } == ["M2"])

        // Managers and customers, the same way.
        let managers = try await harness.call(Crm_Compensation_V1_Compensation.listManagers, Crm_Compensation_V1_ListManagersRequest(), token: "b1")
        #expect(managers.managers.map(\.managerID) == ["M1", "M2"])
        let own = try await harness.call(Crm_Compensation_V1_Compensation.listAssignments, Crm_Compensation_V1_ListAssignmentsRequest(), token: "m1")
        #expect(own.assignments.map(\.customerID) == ["C1"])
        let foreign = await statusOf {
            _ = try await harness.call(Crm_Compensation_V1_Compensation.listAssignments, Crm_Compensation_V1_ListAssignmentsRequest.with { $0.customerID = "C3" }, token: "m1")
        }
        #expect(foreign?.code == .permissionDenied)
        #expect(await statusOf { _ = try await harness.call(Crm_Compensation_V1_Compensation.getManager, Crm_Compensation_V1_GetManagerRequest.with { $0.managerID = "M3" }, token: "b1") }?.code == .permissionDenied)

        // Figures: a manager gets their own, ranked among everyone without seeing the others.
        let mine = try await harness.call(Crm_Compensation_V1_Compensation.getAssessmentFigures, Crm_Compensation_V1_GetAssessmentFiguresRequest.with {
            $0.month = "2025-03"
            $0.metrics = [.commissionContributed]
        }, token: "m1")
        #expect(mine.managers.map(\.managerID) == ["M1"])
        #expect(mine.teams.isEmpty && mine.branches.isEmpty)
        let firmRanking = mine.rankings.first { $0.within == .firm && $0.unit == .manager }
        #expect(firmRanking?.population == 3)
        #expect(firmRanking?.entries.map(\.id) == ["M1"])
        #expect(firmRanking?.entries.map(\.rank) == [3])  // 10 000 after 30 000 and 20 000
        #expect(await statusOf {
            _ = try await harness.call(Crm_Compensation_V1_Compensation.getAssessmentFigures, Crm_Compensation_V1_GetAssessmentFiguresRequest.with { $0.month = "2025-03"; $0.branchID = "B1" }, token: "m1")
        }?.code == .permissionDenied)
        let branch = try await harness.call(Crm_Compensation_V1_Compensation.getAssessmentFigures, Crm_Compensation_V1_GetAssessmentFiguresRequest.with { $0.month = "2025-03" }, token: "b1")
        #expect(branch.managers.map(\.managerID) == ["M1", "M2"])
        #expect(branch.branches.map(\.unitID) == ["B1"])
        #expect(branch.scopeTotal.figures.commissionContributedFen == 30_000)

        // Only HR and head office settle.
        #expect(await statusOf { _ = try await harness.settle("2025-04", token: "m1") }?.code == .permissionDenied)
        #expect(await statusOf { _ = try await harness.settle("2025-04", token: "b1") }?.code == .permissionDenied)
        try await harness.stop()
    }

    @Test func badInputIsRefusedNamingTheField() async throws {
        let harness = try await H.start()
        try await harness.organisation()
        try await harness.putScheme()
        try await harness.customers(["C1", "C2"])
        try await harness.assign("C1", to: "M1", from: .day(2025, 1, 1))

        // Assignments.
        let unknownManager = await statusOf { try await harness.assign("C2", to: "M9", from: .day(2025, 1, 1)) }
        #expect(unknownManager?.code == .notFound)
        #expect(unknownManager?.fieldViolations.map(\.field) == ["assignment.manager_id"])
        let unknownCustomer = await statusOf { try await harness.assign("C9", to: "M1", from: .day(2025, 1, 1)) }
        #expect(unknownCustomer?.code == .notFound)
        #expect(unknownCustomer?.fieldViolations.map(\.field) == ["assignment.customer_id"])
        let overlapping = await statusOf { try await harness.assign("C1", to: "M2", from: .day(2025, 2, 1)) }
        #expect(overlapping?.code == .failedPrecondition)
        #expect(overlapping?.fieldViolations.map(\.field) == ["assignment"])
        #expect(overlapping?.message.contains("overlaps stored assignment") == true)
        let inBatch = await statusOf {
            try await harness.call(Crm_Compensation_V1_Compensation.assignCustomers, Crm_Compensation_V1_AssignCustomersRequest.with {
                $0.assignments = [
                    .with { $0.customerID = "C2"; $0.managerID = "M1"; $0.effectiveFrom = .day(2025, 1, 1); $0.effectiveUntil = .day(2025, 3, 1) },
                    .with { $0.customerID = "C2"; $0.managerID = "M2"; $0.effectiveFrom = .day(2025, 2, 1) },
                ]
            })
        }
        #expect(inBatch?.code == .invalidArgument)
        #expect(inBatch?.fieldViolations.map(\.field) == ["assignments[1]"])
        let undated = await statusOf {
            try await harness.call(Crm_Compensation_V1_Compensation.assignCustomer, Crm_Compensation_V1_AssignCustomerRequest.with { $0.assignment = .with { $0.customerID = "C2"; $0.managerID = "M1" } })
        }
        #expect(undated?.code == .invalidArgument)
        #expect(undated?.fieldViolations.map(\.field) == ["assignment.effective_from"])
        // The same assignment again changes nothing (a loader may retry).
        let retried = try await harness.call(Crm_Compensation_V1_Compensation.assignCustomers, Crm_Compensation_V1_AssignCustomersRequest.with {
            $0.assignments = [.with { $0.customerID = "C1"; $0.managerID = "M1"; $0.effectiveFrom = .day(2025, 1, 1) }]
        })
        #expect(retried.unchanged == 1 && retried.created == 0)

        // Schemes whose tiers leave a gap or overlap, or that have no rates.
        var gap = H.scheme(grade: "G2")
        gap.commissionTiers[1].lowerFen = 120_000
        let gapped = await statusOf { try await harness.putScheme(gap) }
        #expect(gapped?.code == .invalidArgument)
        #expect(gapped?.fieldViolations.map(\.field) == ["scheme.commission_tiers[1]"])
        #expect(gapped?.message.contains("leaves a gap") == true)
        var overlap = H.scheme(grade: "G2")
        overlap.commissionTiers[1].lowerFen = 90_000
        let overlapped = await statusOf { try await harness.putScheme(overlap) }
        #expect(overlapped?.code == .invalidArgument)
        #expect(overlapped?.fieldViolations.map(\.field) == ["scheme.commission_tiers[1]"])
        var rateless = H.scheme(grade: "G2")
        rateless.clearRates()
        #expect(await statusOf { try await harness.putScheme(rateless) }?.fieldViolations.map(\.field) == ["scheme.rates"])

        // Coefficients.
        let coefficients = await statusOf {
            try await harness.call(Crm_Compensation_V1_Compensation.setCoefficients, Crm_Compensation_V1_SetCoefficientsRequest.with {
                $0.coefficients = [
                    .with { $0.managerID = "M1"; $0.month = "2025-03"; $0.assessment = "11" },
                    .with { $0.managerID = "M1"; $0.month = "March" },
                ]
            })
        }
        #expect(coefficients?.code == .invalidArgument)
        #expect(coefficients?.fieldViolations.map(\.field) == ["coefficients[0].assessment", "coefficients[1].month"])
        let nobody = await statusOf {
            try await harness.call(Crm_Compensation_V1_Compensation.setCoefficients, Crm_Compensation_V1_SetCoefficientsRequest.with {
                $0.coefficients = [.with { $0.managerID = "M9"; $0.month = "2025-03" }]
            })
        }
        #expect(nobody?.code == .notFound)
        #expect(nobody?.fieldViolations.map(\.field) == ["coefficients[0].manager_id"])

        // Managers naming a team that does not exist, or another branch's.
        let noTeam = await statusOf {
            try await harness.call(Crm_Compensation_V1_Compensation.upsertManager, Crm_Compensation_V1_UpsertManagerRequest.with { $0.manager = H.manager("M4", team: "T9", branch: "B1") })
        }
        #expect(noTeam?.code == .notFound)
        #expect(noTeam?.fieldViolations.map(\.field) == ["manager.team_id"])
        let wrongBranch = await statusOf {
            try await harness.call(Crm_Compensation_V1_Compensation.upsertManager, Crm_Compensation_V1_UpsertManagerRequest.with { $0.manager = H.manager("M4", team: "T2", branch: "B1") })
        }
        #expect(wrongBranch?.code == .failedPrecondition)
        #expect(wrongBranch?.fieldViolations.map(\.field) == ["manager.team_id"])

        // Settling: a malformed month, a month not ended, a manager with income but no grade.
        let malformed = await statusOf { try await harness.settle("2025-13") }
        #expect(malformed?.code == .invalidArgument)
        #expect(malformed?.fieldViolations.map(\.field) == ["month"])
        let today = BusinessCalendar.day(ofUnixMillis: currentUnixMillis())
        let current = await statusOf { try await harness.settle(today.month.description) }
        #expect(current?.code == .failedPrecondition)
        #expect(current?.fieldViolations.map(\.field) == ["month"])
        #expect(current?.message.contains("has not ended") == true)

        try await harness.call(Crm_Compensation_V1_Compensation.upsertManager, Crm_Compensation_V1_UpsertManagerRequest.with { $0.manager = H.manager("M4", team: "T1", branch: "B1", grade: "") })
        try await harness.assign("C2", to: "M4", from: .day(2025, 1, 1))
        try await harness.record([
            H.trade(1, customer: "C2", on: (2025, 3, 3), commission: 10_000, fees: 0, amount: 0),
            H.trade(2, customer: "C1", on: (2025, 2, 3), commission: 10_000, fees: 0, amount: 0),
        ])
        // February has income, so the books must open with February, not March.
        let outOfOrder = await statusOf { try await harness.settle("2025-03") }
        #expect(outOfOrder?.code == .failedPrecondition)
        #expect(outOfOrder?.fieldViolations.map(\.field) == ["month"])
        #expect(outOfOrder?.message.contains("2025-02") == true)
        try await harness.settle("2025-02")
        let gradeless = await statusOf { try await harness.settle("2025-03") }
        #expect(gradeless?.code == .failedPrecondition)
        #expect(gradeless?.fieldViolations.map(\.field) == ["managers[M4].grade"])
        // Refused means nothing written: March is still open and settles once M4 has a grade.
        try await harness.call(Crm_Compensation_V1_Compensation.upsertManager, Crm_Compensation_V1_UpsertManagerRequest.with { $0.manager = H.manager("M4", team: "T1", branch: "B1") })
        #expect(try await harness.settle("2025-03").closedNow)
        try await harness.stop()
    }
}
