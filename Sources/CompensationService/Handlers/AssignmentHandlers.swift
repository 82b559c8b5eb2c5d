import CompensationSettlement
import CRMProtos
import CRMRPC
import CRMStore
import GRDB

/// AssignCustomer(s) and ListAssignments.
struct AssignmentHandlers: Sendable {
    let database: DatabasePool
    let customers: CustomerDirectory
    let gate: SerialGate
    static let maxBatch = 5_000

    func register(into router: inout Router) {
        let writers = AccessPolicy.roles(CompensationRoles.hr, CompensationRoles.headOffice)
        router.unary(Crm_Compensation_V1_Compensation.assignCustomers, policy: writers, audit: .customers { $0.assignments.map(\.customerID) }) { request, _ in
            guard (1...Self.maxBatch).contains(request.assignments.count) else {
                throw RPCError.invalidArgument(field: "assignments", "must hold 1 to \(Self.maxBatch) assignments, holds \(request.assignments.count)")
            }
            let outcome = try await assign(request.assignments, transfer: request.transfer, field: { "assignments[\($0)]" })
            return Crm_Compensation_V1_AssignCustomersResponse.with {
                $0.created = UInt32(outcome.created.count)
                $0.unchanged = UInt32(outcome.unchanged.count)
                $0.ended = UInt32(outcome.ended.count)
            }
        }
        router.unary(Crm_Compensation_V1_Compensation.assignCustomer, policy: writers, audit: .customers { [$0.assignment.customerID] }) { request, _ in
            guard request.hasAssignment else { throw RPCError.invalidArgument(field: "assignment", "is required") }
            let outcome = try await assign([request.assignment], transfer: request.transfer, field: { _ in "assignment" })
            return Crm_Compensation_V1_AssignCustomerResponse.with {
                $0.created = !outcome.created.isEmpty
                if let stored = outcome.created.first ?? outcome.unchanged.first { $0.assignment = AssignmentStore.wire(stored) }
                $0.ended = outcome.ended.map(AssignmentStore.wire)
            }
        }
        router.unary(
            Crm_Compensation_V1_Compensation.listAssignments,
            policy: .roles(CompensationRoles.headOffice, CompensationRoles.hr, CompensationRoles.branchHead, CompensationRoles.manager, CompensationRoles.service),
            audit: .returned { $0.assignments.map(\.customerID) }
        ) { request, context in
            try await list(request, context: context)
        }
    }

    struct Outcome {
        var created: [AssignmentStore.Stored] = []
        var unchanged: [AssignmentStore.Stored] = []
        var ended: [AssignmentStore.Stored] = []
    }

    /// Checks and records a batch (see AssignCustomersRequest in the proto), all or nothing.
    func assign(_ entries: [Crm_Compensation_V1_Assignment], transfer: Bool, field: @escaping @Sendable (Int) -> String) async throws -> Outcome {
        try await gate.run {
            var refusals = Refusals()
            var parsed: [CustomerAssignment?] = []
            for (index, entry) in entries.enumerated() {
                let prefix = field(index)
                var ok = true
                if let problem = ManagerValidation.idProblem(entry.customerID) { refusals.invalid("\(prefix).customer_id", problem); ok = false }
                if let problem = ManagerValidation.idProblem(entry.managerID) { refusals.invalid("\(prefix).manager_id", problem); ok = false }
                let from = entry.hasEffectiveFrom ? CalendarDay(entry.effectiveFrom) : nil
                if from == nil {
                    refusals.invalid("\(prefix).effective_from", entry.hasEffectiveFrom ? "is not a calendar date" : "is required")
                    ok = false
                }
                var until: CalendarDay?
                if entry.hasEffectiveUntil {
                    until = CalendarDay(entry.effectiveUntil)
                    if until == nil { refusals.invalid("\(prefix).effective_until", "is not a calendar date"); ok = false }
                }
                if ok, let from {
                    parsed.append(CustomerAssignment(customerID: entry.customerID, managerID: entry.managerID, effectiveFrom: from, effectiveUntil: until))
                } else {
                    parsed.append(nil)
                }
            }
            // Periods that end before they start, and overlaps inside the batch (named as the batch names them).
            let usable = parsed.enumerated().compactMap { index, assignment in assignment.map { (index, $0) } }
            for violation in AssignmentTimeline.violations(of: usable.map(\.1)) {
                refusals.invalid(Self.rename(violation.field, positions: usable.map(\.0), field: field),
                                 Self.rename(violation.description, positions: usable.map(\.0), field: field))
            }
            try refusals.check()

            let assignments = usable.map(\.1)
            let positions = usable.map(\.0)
            let (managers, closings) = try await database.read { db in
                (try ManagerStore.existing(db, ids: Set(assignments.map(\.managerID))), try StatementStore.closings(db))
            }
            for (position, assignment) in zip(positions, assignments) {
                guard let manager = managers[assignment.managerID] else {
                    refusals.notFound("\(field(position)).manager_id", "no manager \(assignment.managerID)")
                    continue
                }
                if manager.status == .left {
                    refusals.conflict("\(field(position)).manager_id", "manager \(assignment.managerID) has left")
                }
            }
            let unknown = try await customers.unknown(among: assignments.map(\.customerID))
            for (position, assignment) in zip(positions, assignments) where unknown.contains(assignment.customerID) {
                refusals.notFound("\(field(position)).customer_id", "no customer \(assignment.customerID)")
            }
            try refusals.check()

            let now = currentUnixMillis()
            let lastClosed = closings.last?.month
            return try await database.write { db -> Outcome in
                var refusals = Refusals()
                var stored = try AssignmentStore.assignments(db, of: Array(Set(assignments.map(\.customerID))))
                var outcome = Outcome()
                var toEnd: [(Int64, CalendarDay)] = []
                var toInsert: [CustomerAssignment] = []
                for (position, assignment) in zip(positions, assignments) {
                    let prefix = field(position)
                    var existing = stored[assignment.customerID] ?? []
                    if let same = existing.first(where: { $0.assignment == assignment }) {
                        outcome.unchanged.append(same)
                        continue
                    }
                    if let lastClosed, assignment.effectiveFrom <= lastClosed.lastDay {
                        refusals.conflict("\(prefix).effective_from",
                                          "\(assignment.effectiveFrom) lies in or before closed month \(lastClosed); assignments change only from \(lastClosed.next.firstDay)")
                        continue
                    }
                    if transfer, let index = existing.firstIndex(where: { $0.assignment.effectiveUntil == nil && $0.assignment.effectiveFrom < assignment.effectiveFrom }) {
                        existing[index].assignment.effectiveUntil = assignment.effectiveFrom
                        toEnd.append((existing[index].id, assignment.effectiveFrom))
                        outcome.ended.append(existing[index])
                    }
                    if let clash = existing.first(where: { $0.assignment.overlaps(assignment) }) {
                        refusals.conflict(prefix, "customer \(assignment.customerID): \(Self.period(assignment)) overlaps stored assignment \(clash.id) (\(Self.period(clash.assignment)))")
                        continue
                    }
                    existing.append(AssignmentStore.Stored(id: 0, assignment: assignment, recordedAtMillis: now))
                    stored[assignment.customerID] = existing
                    toInsert.append(assignment)
                }
                try refusals.check()
                for (id, day) in toEnd { try AssignmentStore.end(db, id: id, on: day) }
                for assignment in toInsert {
                    let id = try AssignmentStore.insert(db, assignment, recordedAtMillis: now)
                    outcome.created.append(AssignmentStore.Stored(id: id, assignment: assignment, recordedAtMillis: now))
                }
                return outcome
            }
        }
    }

    static func period(_ assignment: CustomerAssignment) -> String {
        "manager \(assignment.managerID) from \(assignment.effectiveFrom) " + (assignment.effectiveUntil.map { "until \($0)" } ?? "onwards")
    }

    /// The domain names the i-th usable assignment `assignments[i]`; the request names it by its
    /// own position (or `assignment` for the single call).
    static func rename(_ text: String, positions: [Int], field: (Int) -> String) -> String {
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: "assignments[") {
            result += rest[..<range.lowerBound]
            let after = rest[range.upperBound...]
            guard let close = after.firstIndex(of: "]"), let index = Int(after[..<close]), positions.indices.contains(index) else {
                result += rest[range]
                rest = after
                continue
            }
            result += field(positions[index])
            rest = after[after.index(after: close)...]
        }
        return result + rest
    }

    // MARK: Listing

    func list(_ request: Crm_Compensation_V1_ListAssignmentsRequest, context: CallContext) async throws -> Crm_Compensation_V1_ListAssignmentsResponse {
        var asOf: CalendarDay?
        if request.hasAsOf {
            guard let day = CalendarDay(request.asOf) else { throw RPCError.invalidArgument(field: "as_of", "is not a calendar date") }
            asOf = day
        }
        let size = Paging.size(request.page, standard: 1_000, maximum: 10_000)
        var after: (String, Int32, Int64)?
        if !request.page.pageToken.isEmpty {
            let parts = request.page.pageToken.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let from = Int32(parts[0]), let id = Int64(parts[1]) else {
                throw RPCError.invalidArgument(field: "page.page_token", "is not a token this method returned")
            }
            after = (String(parts[2]), from, id)
        }
        let scope = try ManagerAccess.scope(of: context.principal)
        let principal = context.principal
        let day = asOf, pageAfter = after
        return try await database.read { db in
            var managerIDs: [String]?
            switch scope {
            case .everything:
                if !request.managerID.isEmpty { managerIDs = [request.managerID] }
            case .branch(let branchID):
                if !request.managerID.isEmpty {
                    guard let manager = try ManagerStore.manager(db, id: request.managerID), manager.branchID == branchID else {
                        throw ManagerAccess.denied(request.managerID, for: principal)
                    }
                    managerIDs = [request.managerID]
                } else {
                    managerIDs = try String.fetchAll(db, sql: "SELECT manager_id FROM client_manager WHERE branch_id = ?", arguments: [branchID])
                }
            case .manager(let own):
                guard request.managerID.isEmpty || request.managerID == own else { throw ManagerAccess.denied(request.managerID, for: principal) }
                managerIDs = [own]
            }
            if scope != .everything, !request.customerID.isEmpty,
               !(try AssignmentStore.everAssigned(db, customerID: request.customerID, managerIDs: managerIDs ?? [])) {
                throw RPCError(.permissionDenied, "\(principal?.name ?? "the caller") may not read customer \(request.customerID)")
            }
            let (rows, total) = try AssignmentStore.list(db, customerID: request.customerID, managerIDs: managerIDs, asOf: day, after: pageAfter, limit: size)
            return .with {
                $0.assignments = rows.map(AssignmentStore.wire)
                let last = rows.last
                $0.page = Paging.info(
                    next: rows.count == size && last != nil ? "\(last?.assignment.effectiveFrom.daysSince1970 ?? 0)|\(last?.id ?? 0)|\(last?.assignment.customerID ?? "")" : "",
                    total: total
                )
            }
        }
    }
}
