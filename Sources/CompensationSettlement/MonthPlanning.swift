import CRMPrimitives
import Dispatch
import Synchronization

/// A manager who may get a statement for the month being settled.
public struct SettlementMember: Sendable, Hashable {
    public var managerID: String
    public var grade: String
    public var branchID: String
    public var teamID: String
    /// Gets a statement even with no income (every manager not LEFT, when the grade has a scheme).
    public var settleWithoutIncome: Bool
    /// A LEFT manager's last working day: sales naming them after it are not theirs.
    public var leftOn: CalendarDay?

    public init(managerID: String, grade: String, branchID: String, teamID: String, settleWithoutIncome: Bool, leftOn: CalendarDay? = nil) {
        self.managerID = managerID
        self.grade = grade
        self.branchID = branchID
        self.teamID = teamID
        self.settleWithoutIncome = settleWithoutIncome
        self.leftOn = leftOn
    }
}

/// One manager to settle: who, with which items.
public struct SettlementTask: Sendable {
    public var member: SettlementMember
    /// The items that belong on the statement, in load order.
    public var items: [IncomeItem]

    public init(member: SettlementMember, items: [IncomeItem]) {
        self.member = member
        self.items = items
    }
}

/// Everything a month's statements are computed from, besides the items.
public struct MonthInputs: Sendable {
    public var month: CalendarMonth
    /// The highest ingest sequence settled: items recorded after it belong to a later month.
    public var through: Int64
    public var book: SettlementBook
    public var assignments: AssignmentIndex
    public var catalog: SchemeCatalog
    public var coefficients: [String: ManagerCoefficients]

    public init(month: CalendarMonth, through: Int64, book: SettlementBook, assignments: AssignmentIndex, catalog: SchemeCatalog,
                coefficients: [String: ManagerCoefficients]) {
        self.month = month
        self.through = through
        self.book = book
        self.assignments = assignments
        self.catalog = catalog
        self.coefficients = coefficients
    }
}

/// The statements to compute, and the month's income with no manager in charge, per source.
public struct MonthPlan: Sendable {
    public var tasks: [SettlementTask]
    public var unassigned: [SourceTotal]
}

/// Decides who gets a statement for a month and which items go on each: the pure part of settling,
/// from inputs the service has read. Kept apart from the store so it is tested with plain values
/// and the service only reads, computes and writes.
public enum MonthPlanning {
    /// The most conflicts one refusal lists (the rest are counted), so a firm with thousands of
    /// managers missing a scheme gets a readable status.
    static let listedConflicts = 100

    /// Who gets a statement, checked before anything is computed: a manager with income in the
    /// month needs a roster entry, a grade and a scheme in force; a manager without income is settled
    /// when not LEFT and the grade has a scheme (`strict`: every member must be settled). Anything
    /// missing is refused (FAILED_PRECONDITION) naming every manager at fault.
    ///
    /// Attribution runs on every core: each item goes to its credited manager when the roster of
    /// members honours that one on the item's day (``CreditRoster``), else to the manager in charge
    /// of its customer on its day (as ``IncomeAttribution``), and counts when it belongs on that
    /// manager's statement for the month
    /// (``Settlement/belongsOnStatement(_:month:throughSequence:managerID:book:)``). `phase` is told
    /// when attribution ends (the service logs how long each phase took).
    public static func plan(_ inputs: MonthInputs, parts: consuming [[IncomeItem]], members: [String: SettlementMember], strict: Bool,
                            phase: (String) -> Void = { _ in }) throws -> MonthPlan {
        let index = inputs.assignments
        var credited: [String: Int32] = [:]
        for id in members.keys { if let slot = index.slots[id] { credited[id] = slot } }
        let creditable = credited
        let roster = CreditRoster(managers: members.values.map { ($0.managerID, $0.leftOn) })
        let noManager: Int32 = -1, notThisMonth: Int32 = -2
        let slotOf = { @Sendable (item: IncomeItem) -> Int32 in
            let slot: Int32
            if let credited = roster.creditedManager(of: item), let creditedSlot = creditable[credited] {
                slot = creditedSlot
            } else if let inCharge = index.slot(of: item.customerID, on: item.day) {
                slot = inCharge
            } else {
                return noManager
            }
            return Settlement.belongsOnStatement(item, month: inputs.month, throughSequence: inputs.through,
                                                 managerID: index.managerIDs[Int(slot)], book: inputs.book) ? slot : notThisMonth
        }
        let computed = Mutex<[Int: [Int32]]>([:])
        var parts = consume parts
        let shared = parts
        DispatchQueue.concurrentPerform(iterations: shared.count) { part in
            let slots = shared[part].map(slotOf)
            computed.withLock { $0[part] = slots }
        }
        _ = consume shared
        let slots = computed.withLock { all in (0..<all.count).map { all[$0] ?? [] } }
        phase("attribution")

        // Hand each item to its manager's list by moving it (popping parts from the end, so no item
        // is copied and each part is let go once empty), then put each list back in load order.
        var counts = [Int](repeating: 0, count: index.managerIDs.count)
        for partSlots in slots { for slot in partSlots where slot >= 0 { counts[Int(slot)] += 1 } }
        var lists: [[IncomeItem]] = counts.map { count in
            var list: [IncomeItem] = []
            list.reserveCapacity(count)
            return list
        }
        var unassigned: [IncomeItem] = []
        for part in parts.indices.reversed() {
            var remaining: [IncomeItem] = []
            swap(&remaining, &parts[part])
            let partSlots = slots[part]
            while let item = remaining.popLast() {
                let slot = partSlots[remaining.count]
                if slot >= 0 {
                    lists[Int(slot)].append(item)
                } else if slot == noManager {
                    unassigned.append(item)
                }
            }
        }
        for slot in lists.indices { lists[slot].reverse() }

        var conflicts: [Refusal.Field] = []
        var tasks: [SettlementTask] = []
        let withIncome = counts.indices.filter { counts[$0] > 0 }.map { index.managerIDs[$0] }
        for managerID in Set(members.keys).union(withIncome).sorted() {
            let slot = index.slots[managerID].map(Int.init)
            let member = members[managerID]
            let hasIncome = slot.map { counts[$0] > 0 } ?? false
            guard hasIncome || member?.settleWithoutIncome == true else { continue }
            let mustSettle = hasIncome || strict
            let field = "managers[\(managerID)].grade"
            guard let member else {
                conflicts.append(.init(field: field, description: "manager \(managerID) has income in \(inputs.month) but is not on the roster"))
                continue
            }
            guard !member.grade.isEmpty else {
                if mustSettle { conflicts.append(.init(field: field, description: "manager \(managerID) has income in \(inputs.month) but no grade")) }
                continue
            }
            do {
                _ = try inputs.catalog.scheme(grade: member.grade, month: inputs.month)
            } catch {
                if mustSettle {
                    conflicts.append(.init(field: field, description: "no scheme version for grade \(member.grade) is in force on \(inputs.month.firstDay)"))
                }
                continue
            }
            var chosen: [IncomeItem] = []
            if let slot { swap(&chosen, &lists[slot]) }
            tasks.append(SettlementTask(member: member, items: chosen))
        }
        if !conflicts.isEmpty { throw Refusal.listing(.failedPrecondition, conflicts, limit: listedConflicts) }
        // Unassigned commission is net of exchange and regulatory fees only: no scheme applies to it.
        return MonthPlan(tasks: tasks, unassigned: IncomeAttribution.totals(of: unassigned, in: inputs.month, deducting: []))
    }
}
