import CRMSuitability

/// The customers' suitability facts without their dates, interned: a million customers share a few
/// hundred distinct profiles (status, class, tolerance, category, horizon, varieties), so a target
/// list decides once per profile and product and reads a per-row code, and checks the assessment's
/// expiry (the only per-customer date) separately.
struct SuitabilityKeys: Sendable {
    /// The distinct profiles, each with a valid far-future assessment window so that the pure rules
    /// decide everything but the expiry.
    private(set) var profiles: [SuitabilityCustomer] = []
    private var codeOf: [SuitabilityCustomer: UInt32] = [:]

    static let farFuture: Int32 = Int32.max - 1

    /// The code of a customer's dateless profile, and the last valid day of its assessment
    /// (`Int32.min` without one).
    mutating func intern(_ customer: SuitabilityCustomer, rules: SuitabilityRules) -> (code: UInt32, expiry: Int32) {
        var dateless = customer
        var expiry = Int32.min
        if let assessment = customer.assessment {
            expiry = rules.expiry(of: assessment)
            dateless.assessment?.assessedOn = 0
            dateless.assessment?.expiresOn = Self.farFuture
        }
        if let code = codeOf[dateless] { return (code, expiry) }
        let code = UInt32(profiles.count)
        profiles.append(dateless)
        codeOf[dateless] = code
        return (code, expiry)
    }
}
