import CRMSuitability

/// The customers' suitability facts without their dates, interned: a million customers share a few
/// hundred distinct profiles (status, class, tolerance, category, horizon, varieties), so a target
/// list decides once per profile and product and reads a per-row code, and checks the assessment's
/// window (the only per-customer dates) separately.
struct SuitabilityKeys: Sendable {
    /// The distinct profiles, each with an assessment in force on every day, so that the pure rules
    /// decide everything but the assessment's window.
    private(set) var profiles: [SuitabilityCustomer] = []
    private var codeOf: [SuitabilityCustomer: UInt32] = [:]

    static let farFuture: Int32 = Int32.max - 1

    /// The code of a customer's dateless profile, and the days its assessment is in force
    /// (``AssessmentWindow/none`` without one).
    mutating func intern(_ customer: SuitabilityCustomer, rules: SuitabilityRules) -> (code: UInt32, window: AssessmentWindow) {
        var dateless = customer
        var window = AssessmentWindow.none
        if let assessment = customer.assessment {
            window = AssessmentWindow(from: assessment.assessedOn, through: rules.expiry(of: assessment))
            dateless.assessment?.assessedOn = Int32.min
            dateless.assessment?.expiresOn = Self.farFuture
        }
        if let code = codeOf[dateless] { return (code, window) }
        let code = UInt32(profiles.count)
        profiles.append(dateless)
        codeOf[dateless] = code
        return (code, window)
    }
}

/// The days an assessment is in force, from the day it was made through its last valid day: an
/// assessment dated after the decision day counts as none, as an expired one does.
struct AssessmentWindow: Sendable, Hashable {
    var from: Int32
    var through: Int32

    /// No assessment: in force on no day.
    static let none = AssessmentWindow(from: .max, through: .min)

    func contains(_ day: Int32) -> Bool { from <= day && day <= through }
}
