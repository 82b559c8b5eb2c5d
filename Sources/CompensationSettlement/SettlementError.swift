import CRMPrimitives

/// One refused field of a settlement input: the field's path (as the RPC layer names it, e.g.
/// `scheme.commission_tiers[1]`) and what is wrong with it.
public struct SettlementViolation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var field: String
    public var description: String

    public init(field: String, description: String) {
        self.field = field
        self.description = description
    }
}

/// Why a settlement, validation or closing was refused. Every case can be told as field
/// violations (``violations``), so handlers map it to a status naming the field without knowing
/// the domain: `invalid` → invalid argument; the others → failed precondition.
public enum SettlementError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Bad input: every violated field.
    case invalid([SettlementViolation])
    /// The manager's month is closed; its statement is immutable.
    case monthClosed(managerID: String, month: CalendarMonth)
    /// The month has not ended on `today`, so it cannot be settled yet.
    case monthNotEnded(month: CalendarMonth, today: CalendarDay)
    /// No version of the grade's scheme is in force on the month's first day.
    case noSchemeInForce(grade: String, month: CalendarMonth)

    /// The refusal as field violations.
    public var violations: [SettlementViolation] {
        switch self {
        case .invalid(let violations):
            return violations
        case .monthClosed(let managerID, let month):
            return [SettlementViolation(field: "month", description: "\(month) is closed for manager \(managerID); late items land in the next open month")]
        case .monthNotEnded(let month, let today):
            return [SettlementViolation(field: "month", description: "\(month) has not ended (today is \(today))")]
        case .noSchemeInForce(let grade, let month):
            return [SettlementViolation(field: "grade", description: "no scheme version for grade \(grade) is in force on \(month.firstDay)")]
        }
    }

    public var description: String {
        violations.map { "\($0.field): \($0.description)" }.joined(separator: "; ")
    }
}
