import CompensationSettlement
import CRMProtos
import Foundation
import CRMRPC
import Dispatch
import GRDB
import Synchronization

/// Settles a month for the whole firm and closes it, or re-checks a closed one.
///
/// Settling runs in three steps. A short write transaction checks the month may close and records
/// the advisory fees due. Then, outside any write, a read snapshot fixes what is settled: the
/// highest ingest sequence recorded becomes the month's "through" sequence, and the items recorded
/// up to it are read in parts on several reader connections at once (rows up to a sequence never
/// change, so every reader sees the same ones), with the closings, roster, assignments, schemes and
/// coefficients. The statements are then computed on every core, a batch of managers at a time,
/// inside the final write transaction, which checks the month is still open, stores each batch as
/// it is encoded and closes the month; a refusal writes nothing of it. Income the feeds record
/// meanwhile gets a later sequence and lands in the next month. The caller runs settlements and
/// organisation changes one at a time (``SerialGate``), so what the snapshot read stays true.
public struct MonthSettler: Sendable {
    let database: DatabasePool

    public init(database: DatabasePool) {
        self.database = database
    }

    /// Managers settled in parallel per batch (then written before the next batch).
    static let batch = 256
    /// Parts of a month's items read at once.
    static let readersAtOnce = 2
    /// Days of the month read per part.
    static let daysPerPart: Int32 = 4

    /// Settles `month` (today being `today` in business time), or returns the stored summary of a
    /// closed month after recomputing its statements and comparing them with the stored ones.
    public func settle(_ month: CalendarMonth, today: CalendarDay, nowMillis: Int64) async throws -> Crm_Compensation_V1_SettleMonthResponse {
        try await settle(month, today: today, nowMillis: nowMillis).response
    }

    /// As ``settle(_:today:nowMillis:)``, with the time each phase took (for the log).
    func settle(_ month: CalendarMonth, today: CalendarDay, nowMillis: Int64) async throws
        -> (response: Crm_Compensation_V1_SettleMonthResponse, phases: String) {
        var phases = PhaseClock()
        let open = try await database.write { db in try Self.prepare(db, month: month, today: today) }
        phases.mark("checks and advisory fees")
        guard open else {
            guard var summary = try await database.read({ db in try StatementStore.summary(db, month: month) }) else {
                throw RPCError(.internal, "month \(month) is closed but has no summary")
            }
            summary.closedNow = false
            summary.recomputedIdentical = try await verify(month, phases: &phases)
            return (summary, phases.description)
        }

        let snapshot = try await database.read { db in try Snapshot(db) }
        var members: [String: SettlementMember] = [:]
        for manager in snapshot.roster {
            members[manager.managerID] = SettlementMember(managerID: manager.managerID, grade: manager.grade, branchID: manager.branchID,
                                                teamID: manager.teamID, settleWithoutIncome: manager.status != .left,
                                                leftOn: manager.status == .left && manager.hasLeftOn ? CalendarDay(manager.leftOn) : nil)
        }
        let book = try StatementStore.book(snapshot.closings)
        let (inputs, parts) = try await load(month: month, through: snapshot.through, previousThrough: snapshot.closings.last?.throughSequence ?? 0,
                                             book: book, managers: members.keys.sorted(), phases: &phases)
        let plan = try MonthPlanning.plan(inputs, parts: parts, members: members, strict: false) { phases.mark($0) }
        phases.mark("plan")

        let closings = snapshot.closings
        // Handed into the write so its items can be let go batch by batch.
        let handoff = Mutex<MonthPlan?>(plan)
        let summary = try await database.write { db -> Crm_Compensation_V1_SettleMonthResponse in
            guard try StatementStore.closings(db) == closings else {
                throw RPCError(.aborted, "month: the closings changed while \(month) was being settled; try again")
            }
            // The first month settled opens the books: nothing settled may be dated before it (an
            // earlier item recorded since the checks would otherwise never be settled).
            if closings.isEmpty, let earliest = try IncomeStore.earliestDay(db, through: inputs.through), earliest < month.firstDay {
                throw Refusal.refused(.failedPrecondition, field: "month", "income dated \(earliest) (\(earliest.month)) arrived while \(month) was being settled; settle \(earliest.month) first")
            }
            var summary = Crm_Compensation_V1_SettleMonthResponse()
            summary.month = month.description
            summary.closedNow = true
            summary.throughSequence = UInt64(inputs.through)
            summary.settledAt = .with { $0.unixMillis = nowMillis }
            var totals = SummaryTotals()
            guard let plan = handoff.withLock({ $0.take() }) else { throw RPCError(.internal, "the settlement plan was used twice") }
            let unassigned = plan.unassigned
            try Self.compute(plan, inputs: inputs, settledAtMillis: nowMillis) { encoded, statement in
                try StatementStore.insert(db, month: month, encoded)
                totals.add(statement)
            }
            summary.statements = UInt32(totals.statements)
            summary.lines = UInt64(totals.lines)
            summary.adjustments = UInt32(totals.adjustments)
            summary.totalPayFen = totals.totalPay
            summary.income = totals.sourceTotals
            summary.unassigned = unassigned.map(\.wire)
            try StatementStore.close(db, month: month, throughSequence: inputs.through, settledAtMillis: nowMillis, summary: summary)
            return summary
        }
        phases.mark("statements computed and written, month closed")
        return (summary, phases.description)
    }

    // MARK: Settling an open month

    /// Refuses a month that may not close, records the advisory fees due through it, and tells
    /// whether it is open (false: it is closed already).
    static func prepare(_ db: Database, month: CalendarMonth, today: CalendarDay) throws -> Bool {
        let closings = try StatementStore.closings(db)
        if closings.contains(where: { $0.month == month }) { return false }
        guard month.lastDay < today else {
            throw RPCError(.failedPrecondition, "month: \(month) has not ended (today is \(today) in Beijing time)",
                           fieldViolations: [FieldViolation(field: "month", description: "\(month) has not ended (today is \(today))")])
        }
        if let last = closings.last {
            if month < last.month {
                throw Refusal.refused(.failedPrecondition, field: "month", "\(month) is before the first settled month \(closings[0].month); its income lands in the next open month")
            }
            if month > last.month.next {
                throw Refusal.refused(.failedPrecondition, field: "month", "\(last.month.next) is still open; months close in order")
            }
        } else if let earliest = try IncomeStore.earliestDay(db), earliest < month.firstDay {
            throw Refusal.refused(.failedPrecondition, field: "month", "income dated \(earliest) (\(earliest.month)) is not settled; the first month settled must be the first with income")
        }
        try billAdvisoryFees(db, through: month)
        return true
    }

    /// What one read snapshot says before a month is settled.
    struct Snapshot: Sendable {
        var through: Int64
        var closings: [StatementStore.Closing]
        var roster: [Crm_Compensation_V1_ClientManager]

        init(_ db: Database) throws {
            through = try IncomeStore.lastSequence(db)
            closings = try StatementStore.closings(db)
            roster = try ManagerStore.all(db)
        }
    }

    /// Records every subscription's monthly fee up to `month` that is not yet recorded.
    static func billAdvisoryFees(_ db: Database, through month: CalendarMonth) throws {
        let exists = try db.cachedStatement(sql: "SELECT 1 FROM income_item WHERE source_event_id = ?")
        for subscription in try IncomeStore.subscriptions(db) {
            for billed in AdvisoryBilling.months(of: subscription, through: month) {
                let id = AdvisoryBilling.sourceEventID(of: subscription, month: billed)
                guard try Bool.fetchOne(exists, arguments: [id]) == nil else { continue }
                let assets = try IncomeStore.assets(db, customerID: subscription.customerID, on: billed.lastDay)
                if let fee = AdvisoryBilling.fee(of: subscription, in: billed, monthEndAssetsFen: assets) {
                    try IncomeStore.record(db, fee)
                }
            }
        }
    }

    // MARK: Re-checking a closed month

    /// Recomputes every stored statement of a closed month from the stored income, the rules and the
    /// closing's sequence; true when every one is byte for byte what is stored.
    func verify(_ month: CalendarMonth, phases: inout PhaseClock) async throws -> Bool {
        let (closings, stored) = try await database.read { db in (try StatementStore.closings(db), try StatementStore.stored(db, month: month)) }
        guard let index = closings.firstIndex(where: { $0.month == month }) else { return false }
        let closing = closings[index]
        let book = try StatementStore.book(Array(closings[..<index]))
        let previousThrough = index > 0 ? closings[index - 1].throughSequence : 0
        var members: [String: SettlementMember] = [:]
        for statement in stored {
            let header = try Crm_Compensation_V1_Statement(serializedBytes: statement.header)
            members[statement.managerID] = SettlementMember(managerID: statement.managerID, grade: header.grade, branchID: statement.branchID,
                                                  teamID: statement.teamID, settleWithoutIncome: true)
        }
        phases.mark("stored statements read")
        let (inputs, parts) = try await load(month: month, through: closing.throughSequence, previousThrough: previousThrough, book: book,
                                             managers: members.keys.sorted(), phases: &phases)
        guard let plan = try? MonthPlanning.plan(inputs, parts: parts, members: members, strict: true, phase: { phases.mark($0) }) else { return false }
        phases.mark("plan")
        var recomputed: [String: StatementStore.Encoded] = [:]
        try Self.compute(plan, inputs: inputs, settledAtMillis: closing.settledAtMillis) { encoded, _ in
            recomputed[encoded.managerID] = encoded
        }
        phases.mark("statements recomputed")
        guard recomputed.count == stored.count else { return false }
        return stored.allSatisfy { original in
            guard let again = recomputed[original.managerID] else { return false }
            return again.header == original.header && again.chunks == original.chunks && again.totalFen == original.totalFen
        }
    }

    /// The month's inputs and its items in parts: the late candidates of earlier months (recorded
    /// after `previousThrough`), then the month's items a few days per part, every part recorded
    /// through `through`. The parts are read on several reader connections at once, beside the
    /// assignments; each part can be let go once its items are handed out.
    func load(month: CalendarMonth, through: Int64, previousThrough: Int64, book: SettlementBook, managers: [String],
              phases: inout PhaseClock) async throws -> (MonthInputs, parts: [[IncomeItem]]) {
        var ranges: [ClosedRange<CalendarDay>] = []
        var first = month.firstDay
        while first <= month.lastDay {
            let last = min(first.adding(days: Self.daysPerPart - 1), month.lastDay)
            ranges.append(first...last)
            first = last.adding(days: 1)
        }
        let database = self.database
        let dayRanges = ranges
        // Two parts at a time beside the assignments: the machine's cores, and few reader connections
        // (each keeps its own page cache).
        let (assignments, parts) = try await withThrowingTaskGroup(of: (Int, [IncomeItem]).self) { group in
            var next = 0
            func addPart() {
                let index = next
                next += 1
                if index == 0 {
                    group.addTask {
                        (0, try await database.read { db in try IncomeStore.items(db, before: month.firstDay, recordedAfter: previousThrough, through: through) })
                    }
                } else {
                    let range = dayRanges[index - 1]
                    group.addTask { (index, try await database.read { db in try IncomeStore.items(db, days: range, through: through) }) }
                }
            }
            while next < min(Self.readersAtOnce, dayRanges.count + 1) { addPart() }
            let assignments = try await database.read { db in try AssignmentStore.index(db, managers: managers) }
            var parts = [[IncomeItem]](repeating: [], count: dayRanges.count + 1)
            for try await (index, items) in group {
                parts[index] = items
                if next <= dayRanges.count { addPart() }
            }
            return (assignments, parts)
        }
        phases.mark("income and assignments read (\(parts.map(\.count).reduce(0, +)) items)")
        let (catalog, coefficients) = try await database.read { db in (try RulesStore.catalog(db), try RulesStore.domainCoefficients(db, month: month)) }
        let inputs = MonthInputs(month: month, through: through, book: book, assignments: assignments, catalog: catalog, coefficients: coefficients)
        return (inputs, parts)
    }

    // MARK: Shared

    /// Computes and encodes the planned statements on every core, a batch at a time, handing each to
    /// `store` in manager order.
    static func compute(_ plan: consuming MonthPlan, inputs: MonthInputs, settledAtMillis: Int64,
                        store: (StatementStore.Encoded, ManagerStatement) throws -> Void) throws {
        let today = inputs.month.next.firstDay
        var tasks = plan.tasks
        _ = consume plan
        for start in stride(from: 0, to: tasks.count, by: batch) {
            let range = start..<min(start + batch, tasks.count)
            // The batch's items move into the batch and are let go once it is computed.
            var slice: [SettlementTask] = []
            slice.reserveCapacity(range.count)
            for index in range {
                var task = SettlementTask(member: tasks[index].member, items: [])
                swap(&task.items, &tasks[index].items)
                slice.append(task)
            }
            let batchTasks = slice
            let results = Mutex<[Int: Result<(StatementStore.Encoded, ManagerStatement), any Error>]>([:])
            DispatchQueue.concurrentPerform(iterations: batchTasks.count) { index in
                let task = batchTasks[index]
                let result = Result<(StatementStore.Encoded, ManagerStatement), any Error> {
                    let request = SettlementRequest(
                        managerID: task.member.managerID, grade: task.member.grade, month: inputs.month, today: today,
                        throughSequence: inputs.through, coefficients: inputs.coefficients[task.member.managerID] ?? ManagerCoefficients()
                    )
                    let statement = try Settlement.settle(request, items: task.items, schemes: inputs.catalog, book: inputs.book)
                    let encoded = try StatementStore.encode(statement, branchID: task.member.branchID, teamID: task.member.teamID,
                                                            settledAtMillis: settledAtMillis)
                    return (encoded, statement)
                }
                results.withLock { $0[index] = result }
            }
            let done = results.withLock { $0 }
            for index in batchTasks.indices {
                guard let result = done[index] else { continue }
                switch result {
                case .success(let (encoded, statement)): try store(encoded, statement)
                case .failure(let error): throw error
                }
            }
        }
    }

    /// Firm-wide sums over the statements of a month.
    struct SummaryTotals {
        var statements = 0
        var lines = 0
        var adjustments = 0
        var totalPay: Int64 = 0
        var bySource: [IncomeSource: (count: Int, income: Int64, pay: Int64)] = [:]

        mutating func add(_ statement: ManagerStatement) {
            statements += 1
            lines += statement.incomeLines.count
            adjustments += statement.incomeLines.lazy.filter(\.isAdjustment).count
            totalPay = Fen.sum(totalPay, statement.totalFen)
            for total in statement.sourceTotals {
                var entry = bySource[total.source] ?? (0, 0, 0)
                entry.count += total.itemCount
                entry.income = Fen.sum(entry.income, total.incomeFen)
                entry.pay = Fen.sum(entry.pay, total.payFen ?? 0)
                bySource[total.source] = entry
            }
        }

        /// Per source: items, income and the lines' pay (0 for commission: its pay is per month, in
        /// the bands, and counts in `totalPay`).
        var sourceTotals: [Crm_Compensation_V1_SourceTotal] {
            IncomeSource.allCases.compactMap { source in
                guard let entry = bySource[source] else { return nil }
                return SourceTotal(source: source, itemCount: entry.count, incomeFen: entry.income,
                                   payFen: source.isCommission ? nil : entry.pay).wire
            }
        }
    }
}

/// Times the phases of a settlement for the log: "phase 1.23 s, phase 0.45 s".
struct PhaseClock: CustomStringConvertible {
    private var last = ContinuousClock.now
    private var marks: [(String, Duration)] = []

    mutating func mark(_ phase: String) {
        let now = ContinuousClock.now
        marks.append((phase, now - last))
        last = now
    }

    var description: String {
        marks.map { phase, duration in
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            return "\(phase) \((seconds * 100).rounded() / 100) s"
        }.joined(separator: ", ")
    }
}
