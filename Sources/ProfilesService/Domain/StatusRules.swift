import CRMPrimitives
import CRMProtos

/// Which account-status changes are allowed. A closed account is final; a prospect becomes
/// normal when the account is opened (or is dropped, closed); frozen and reported-lost accounts
/// return to normal or close. Everything else is FAILED_PRECONDITION.
public enum StatusRules {
    public typealias Status = Crm_Profiles_V1_AccountStatus

    static let allowed: [Status: Set<Status>] = [
        .prospect: [.normal, .closed],
        .normal: [.frozen, .reportedLost, .closed],
        .frozen: [.normal, .closed],
        .reportedLost: [.normal, .closed],
        .closed: [],
    ]

    public static func isAllowed(from: Status, to: Status) -> Bool {
        allowed[from]?.contains(to) ?? false
    }

    /// Throws FAILED_PRECONDITION naming both states when the change is not allowed.
    public static func check(from: Status, to: Status, customerID: String) throws {
        guard from != to else { return }
        guard isAllowed(from: from, to: to) else {
            let options = (allowed[from] ?? []).map(\.name).sorted().joined(separator: ", ")
            throw Refusal(
                .failedPrecondition,
                "customer \(customerID) is \(from.name); it cannot become \(to.name) (allowed: \(options.isEmpty ? "none, the account is closed" : options))",
                fields: [Refusal.Field(field: "status", description: "\(from.name) cannot change to \(to.name)")]
            )
        }
    }

    /// Whether an account in this status may trade (ingested trades for others are refused).
    public static func mayTrade(_ status: Status) -> Bool {
        status == .normal
    }
}

extension Crm_Profiles_V1_AccountStatus {
    /// The wire name: PROSPECT, NORMAL, FROZEN, REPORTED_LOST, CLOSED.
    public var name: String {
        switch self {
        case .unspecified: return "ACCOUNT_STATUS_UNSPECIFIED"
        case .prospect: return "PROSPECT"
        case .normal: return "NORMAL"
        case .frozen: return "FROZEN"
        case .reportedLost: return "REPORTED_LOST"
        case .closed: return "CLOSED"
        case let .UNRECOGNIZED(value): return "STATUS_\(value)"
        }
    }
}
