import CRMProtos
import CRMRPC
import CRMWorld

extension WorldLoader {
    public struct CompensationReport: Sendable, Equatable {
        public var branches = 0
        public var teams = 0
        public var managers = 0
        public var schemesCreated = 0
        /// Assignments stored by this call.
        public var assignmentsCreated = 0
        /// Assignments the service held already (an earlier, perhaps interrupted, load).
        public var assignmentsUnchanged = 0
    }

    /// Loads the world's organisation into compensation, assigns the customers of `range` (all by
    /// default) to their client managers over time, and puts one commission scheme per grade
    /// (``CompensationPlan``). The customers must be in profiles first: compensation checks every
    /// customer it is told about.
    ///
    /// Repeatable after an interruption or a full load: branches, teams and managers are upserts,
    /// a scheme whose content is the grade's latest version and an assignment already stored are
    /// counted unchanged by the service. Managers who left are recorded ACTIVE until their
    /// customers' assignments are in (the service refuses to assign to a manager who has left),
    /// then LEFT, so the roster ends as it stands today. `progress` is called after each batch of
    /// assignments with the customers done so far.
    @discardableResult
    public func loadCompensation(customers range: Range<Int>? = nil,
                                 progress: @Sendable (Int) -> Void = { _ in }) async throws -> CompensationReport {
        guard let compensation = clients.compensation else {
            throw RPCError(.failedPrecondition, "the loader was given no compensation client")
        }
        let plan = CompensationPlan(world: world)
        var report = CompensationReport()
        for batch in plan.branches.chunked(1_000) {
            _ = try await compensation.unary(Crm_Compensation_V1_Compensation.upsertBranches, Crm_Compensation_V1_UpsertBranchesRequest.with {
                $0.branches = batch
            })
            report.branches += batch.count
        }
        for batch in plan.teams.chunked(1_000) {
            _ = try await compensation.unary(Crm_Compensation_V1_Compensation.upsertTeams, Crm_Compensation_V1_UpsertTeamsRequest.with {
                $0.teams = batch
            })
            report.teams += batch.count
        }
        try await upsertManagers(plan.startingRoster, on: compensation)
        report.managers = plan.startingRoster.count
        for scheme in plan.schemes {
            let answer = try await compensation.unary(Crm_Compensation_V1_Compensation.putScheme, Crm_Compensation_V1_PutSchemeRequest.with {
                $0.scheme = scheme
            })
            if answer.created { report.schemesCreated += 1 }
        }
        let customers = range ?? 0..<world.configuration.customers
        // Batches are built a part of the customers at a time, so a million customers' assignments
        // are never held at once.
        let part = 20_000
        for start in stride(from: customers.lowerBound, to: customers.upperBound, by: part) {
            let slice = start..<min(customers.upperBound, start + part)
            for batch in plan.assignmentBatches(slice, limit: AssignmentLimits.batch) {
                let answer = try await compensation.unary(Crm_Compensation_V1_Compensation.assignCustomers, Crm_Compensation_V1_AssignCustomersRequest.with {
                    $0.assignments = batch
                }, options: .timeout(.seconds(300)))
                report.assignmentsCreated += Int(answer.created)
                report.assignmentsUnchanged += Int(answer.unchanged)
            }
            progress(slice.upperBound - customers.lowerBound)
        }
        try await upsertManagers(plan.currentRoster, on: compensation)
        return report
    }

    private func upsertManagers(_ managers: [Crm_Compensation_V1_ClientManager], on compensation: RPCClient) async throws {
        for batch in managers.chunked(5_000) {
            _ = try await compensation.unary(Crm_Compensation_V1_Compensation.upsertManagers, Crm_Compensation_V1_UpsertManagersRequest.with {
                $0.managers = batch
            })
        }
    }
}

/// The compensation service's batch limit for AssignCustomers.
enum AssignmentLimits {
    static let batch = 5_000
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min(count, $0 + size)]) }
    }
}
