/// What the dimension engine needs to know of a customer besides its events: identity facts from
/// the customer record and its current suitability assessment. The store fills it in; a `nil`
/// field means the fact is not known.
public struct CustomerFacts: Sendable, Hashable, Codable {
    /// Mirrors crm.profiles.v1.CustomerKind.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case individual, institution
    }

    /// Mirrors crm.profiles.v1.AccountStatus; the raw value is the category text.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case prospect, normal, frozen
        case reportedLost = "reported_lost"
        case closed
    }

    /// Mirrors crm.profiles.v1.InvestorClass.
    public enum InvestorClass: String, Sendable, Hashable, Codable, CaseIterable {
        case ordinary, professional
    }

    public var kind: Kind
    public var status: Status
    /// The account's open date; nil for a prospect.
    public var openDay: DayNumber?
    /// Individuals' birth date, when known.
    public var birthDay: DayNumber?
    /// The current assessment's risk tolerance, 1 (C1) … 5 (C5); nil when never assessed.
    public var riskTolerance: Int?
    /// The current assessment's investor class; nil when never assessed.
    public var investorClass: InvestorClass?
    /// The day the current assessment expires; nil when never assessed.
    public var assessmentExpiresDay: DayNumber?

    public init(kind: Kind = .individual, status: Status = .normal, openDay: DayNumber? = nil, birthDay: DayNumber? = nil,
                riskTolerance: Int? = nil, investorClass: InvestorClass? = nil, assessmentExpiresDay: DayNumber? = nil) {
        self.kind = kind
        self.status = status
        self.openDay = openDay
        self.birthDay = birthDay
        self.riskTolerance = riskTolerance
        self.investorClass = investorClass
        self.assessmentExpiresDay = assessmentExpiresDay
    }

    /// ``riskTolerance`` when it is a valid level (1…5), else nil.
    var validRiskTolerance: Int? {
        guard let level = riskTolerance, (1...5).contains(level) else { return nil }
        return level
    }
}
