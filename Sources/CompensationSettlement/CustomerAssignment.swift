import CRMPrimitives

/// A customer in a manager's charge from `effectiveFrom` (inclusive) until `effectiveUntil`
/// (exclusive; nil while it lasts). A transfer ends one assignment on the day the next begins.
public struct CustomerAssignment: Sendable, Hashable, Codable {
    public var customerID: String
    public var managerID: String
    public var effectiveFrom: CalendarDay
    public var effectiveUntil: CalendarDay?

    public init(customerID: String, managerID: String, effectiveFrom: CalendarDay, effectiveUntil: CalendarDay? = nil) {
        self.customerID = customerID
        self.managerID = managerID
        self.effectiveFrom = effectiveFrom
        self.effectiveUntil = effectiveUntil
    }

    /// Whether the assignment is in force on `day`.
    public func covers(_ day: CalendarDay) -> Bool {
        day >= effectiveFrom && effectiveUntil.map { day < $0 } ?? true
    }

    /// Whether the two periods share a day.
    public func overlaps(_ other: CustomerAssignment) -> Bool {
        let startsBeforeOtherEnds = other.effectiveUntil.map { effectiveFrom < $0 } ?? true
        let otherStartsBeforeThisEnds = effectiveUntil.map { other.effectiveFrom < $0 } ?? true
        return startsBeforeOtherEnds && otherStartsBeforeThisEnds
    }

    /// "manager M1 from 2025-03-01 until 2025-03-16" (or "onwards").
    var periodDescription: String {
        "manager \(managerID) from \(effectiveFrom) " + (effectiveUntil.map { "until \($0)" } ?? "onwards")
    }
}

/// Validated assignments, indexed for "who was in charge of this customer on this day" and "whose
/// customers were these on this day". Building one refuses overlapping assignments of a customer.
public struct AssignmentTimeline: Sendable {
    /// Each customer's assignments, sorted by start.
    private let byCustomer: [String: [CustomerAssignment]]
    /// Each manager's assignments, sorted by customer then start.
    private let byManager: [String: [CustomerAssignment]]

    /// Validates `assignments` (see ``violations(of:knownManagers:)``) and indexes them.
    public init(_ assignments: [CustomerAssignment], knownManagers: Set<String>? = nil) throws(SettlementError) {
        let violations = Self.violations(of: assignments, knownManagers: knownManagers)
        guard violations.isEmpty else { throw .invalid(violations) }
        var byCustomer: [String: [CustomerAssignment]] = [:]
        var byManager: [String: [CustomerAssignment]] = [:]
        for assignment in assignments {
            byCustomer[assignment.customerID, default: []].append(assignment)
            byManager[assignment.managerID, default: []].append(assignment)
        }
        // Sorted in place; iterating a copy of the keys keeps each array uniquely referenced.
        for key in Array(byCustomer.keys) { byCustomer[key]?.sort { $0.effectiveFrom < $1.effectiveFrom } }
        for key in Array(byManager.keys) {
            byManager[key]?.sort { a, b in
                a.customerID == b.customerID ? a.effectiveFrom < b.effectiveFrom : a.customerID.utf8.lexicographicallyPrecedes(b.customerID.utf8)
            }
        }
        self.byCustomer = byCustomer
        self.byManager = byManager
    }

    /// Every refused assignment, named `assignments[i]`: missing ids, an end not after the start, a
    /// manager not in `knownManagers` (when given), and a period sharing a day with another
    /// assignment of the same customer (naming both).
    public static func violations(of assignments: [CustomerAssignment], knownManagers: Set<String>? = nil) -> [SettlementViolation] {
        var violations: [SettlementViolation] = []
        var usable: [String: [Int]] = [:]
        for (index, assignment) in assignments.enumerated() {
            let field = "assignments[\(index)]"
            var ok = true
            if assignment.customerID.isEmpty {
                violations.append(SettlementViolation(field: "\(field).customer_id", description: "is required"))
                ok = false
            }
            if assignment.managerID.isEmpty {
                violations.append(SettlementViolation(field: "\(field).manager_id", description: "is required"))
                ok = false
            } else if let knownManagers, !knownManagers.contains(assignment.managerID) {
                violations.append(SettlementViolation(field: "\(field).manager_id", description: "unknown manager \(assignment.managerID)"))
            }
            if let until = assignment.effectiveUntil, until <= assignment.effectiveFrom {
                violations.append(SettlementViolation(
                    field: "\(field).effective_until",
                    description: "\(until) is not after effective_from \(assignment.effectiveFrom)"
                ))
                ok = false
            }
            if ok { usable[assignment.customerID, default: []].append(index) }
        }
        var overlaps: [(Int, SettlementViolation)] = []
        for indices in usable.values where indices.count > 1 {
            let sorted = indices.sorted { (assignments[$0].effectiveFrom, $0) < (assignments[$1].effectiveFrom, $1) }
            // The earlier assignment that reaches furthest; each later one must start at or after its end.
            var reaching = sorted[0]
            for index in sorted.dropFirst() {
                let earlier = assignments[reaching]
                let current = assignments[index]
                if current.overlaps(earlier) {
                    overlaps.append((index, SettlementViolation(
                        field: "assignments[\(index)]",
                        description: "customer \(current.customerID): \(current.periodDescription) overlaps assignments[\(reaching)] (\(earlier.periodDescription))"
                    )))
                }
                if Self.reachesFurther(current, than: earlier) { reaching = index }
            }
        }
        violations += overlaps.sorted { ($0.0, $0.1.description) < ($1.0, $1.1.description) }.map(\.1)
        return violations
    }

    private static func reachesFurther(_ a: CustomerAssignment, than b: CustomerAssignment) -> Bool {
        guard let bUntil = b.effectiveUntil else { return false }
        guard let aUntil = a.effectiveUntil else { return true }
        return aUntil > bUntil
    }

    /// The manager in charge of `customerID` on `day`, or nil when nobody was.
    public func managerID(of customerID: String, on day: CalendarDay) -> String? {
        byCustomer[customerID]?.first { $0.covers(day) }?.managerID
    }

    /// The customers in `managerID`'s charge on `day`, sorted by their UTF-8 bytes.
    public func customers(of managerID: String, on day: CalendarDay) -> [String] {
        (byManager[managerID] ?? []).filter { $0.covers(day) }.map(\.customerID)
    }

    /// Every customer with an assignment, sorted.
    public var customerIDs: [String] { byCustomer.keys.sorted() }

    /// Every customer with an assignment, in no particular order (for sums, where order is moot).
    var unorderedCustomerIDs: Dictionary<String, [CustomerAssignment]>.Keys { byCustomer.keys }

    /// Every manager with an assignment, sorted.
    public var managerIDs: [String] { byManager.keys.sorted() }

    /// A customer's assignments, sorted by start.
    public func assignments(of customerID: String) -> [CustomerAssignment] { byCustomer[customerID] ?? [] }
}
