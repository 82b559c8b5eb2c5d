import CRMProtos

/// The account's status over time: the status from each day on, the first segment starting on the
/// day the customer record was created.
struct StatusTimeline: Sendable {
    struct Segment: Sendable {
        let from: WorldDay
        let status: Crm_Profiles_V1_AccountStatus
        let reason: String
    }

    private(set) var segments: [Segment]

    init(created: WorldDay, status: Crm_Profiles_V1_AccountStatus, reason: String) {
        segments = [Segment(from: created, status: status, reason: reason)]
    }

    mutating func change(on day: WorldDay, to status: Crm_Profiles_V1_AccountStatus, reason: String) {
        segments.append(Segment(from: day, status: status, reason: reason))
    }

    var created: WorldDay { segments[0].from }
    var initial: Crm_Profiles_V1_AccountStatus { segments[0].status }
    var final: Crm_Profiles_V1_AccountStatus { segments[segments.count - 1].status }

    /// The status in force on `day` (the initial one before the record existed).
    func status(on day: WorldDay) -> Crm_Profiles_V1_AccountStatus {
        var status = segments[0].status
        for segment in segments where segment.from <= day { status = segment.status }
        return status
    }

    /// Whether the account is NORMAL on every day of `first...last`.
    func isNormal(from first: WorldDay, through last: WorldDay) -> Bool {
        guard status(on: first) == .normal else { return false }
        return !segments.contains { $0.from > first && $0.from <= last && $0.status != .normal }
    }

    /// The day the account closed, if it did.
    var closedOn: WorldDay? { segments.first { $0.status == .closed }?.from }
}

/// One suitability assessment with its dates.
struct AssessmentRecord: Sendable {
    let assessedOn: WorldDay
    let expiresOn: WorldDay

    /// Whether it is in force on every day of `first...last`.
    func covers(_ first: WorldDay, _ last: WorldDay) -> Bool {
        assessedOn <= first && expiresOn > last
    }
}

/// A customer in a client manager's charge from `effectiveFrom` (inclusive) until `effectiveUntil`
/// (exclusive; nil while it lasts). A transfer ends one assignment on the day the next begins, the
/// convention of the compensation service.
public struct ManagerAssignment: Sendable, Hashable {
    public let customerID: String
    public let managerID: String
    public let effectiveFrom: WorldDay
    public let effectiveUntil: WorldDay?

    /// `effectiveFrom` as a wire date.
    public var effectiveFromDate: Crm_Common_V1_Date { WorldDays.date(effectiveFrom) }
    /// `effectiveUntil` as a wire date.
    public var effectiveUntilDate: Crm_Common_V1_Date? { effectiveUntil.map(WorldDays.date) }

    /// Whether the assignment is in force on `day`.
    public func covers(_ day: WorldDay) -> Bool {
        day >= effectiveFrom && effectiveUntil.map { day < $0 } ?? true
    }
}
