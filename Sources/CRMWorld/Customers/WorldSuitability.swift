import CRMProtos

/// What the suitability rules read of a customer: their current assessment, reduced to facts.
public struct SuitabilityProfile: Sendable, Hashable {
    public var investorClass: Crm_Profiles_V1_InvestorClass
    /// 1 (C1) … 5 (C5).
    public var riskTolerance: Int
    /// Within C1, the lowest risk category (R1 products only).
    public var lowestCategory: Bool
    /// The intended horizon as the enum's raw value, 1 (up to a year) … 4 (over five years).
    public var horizon: Int
    /// The chosen investment varieties' raw values, as a bit set (bit n = variety n).
    public var varietyBits: UInt16

    public init(investorClass: Crm_Profiles_V1_InvestorClass, riskTolerance: Int, lowestCategory: Bool, horizon: Int, varieties: [Int]) {
        self.investorClass = investorClass
        self.riskTolerance = riskTolerance
        self.lowestCategory = lowestCategory
        self.horizon = horizon
        self.varietyBits = varieties.reduce(0) { $0 | (1 << UInt16($1)) }
    }

    /// Whether the customer chose variety `raw` (1…8).
    public func chose(variety raw: Int) -> Bool {
        raw >= 0 && raw < 16 && varietyBits & (1 << UInt16(raw)) != 0
    }
}

/// The investor-suitability predicate the world's purchases obey, in one place.
///
/// An ordinary investor with risk tolerance Cn may buy products of risk R1…Rn (the lowest category
/// within C1: R1 only), whose horizon is no longer than their intended horizon, and whose variety is
/// among the varieties they chose. A professional investor may buy anything. Whether a customer may
/// buy at all on a day (a normal account and an assessment in force) is the other half, decided
/// per month by the simulation.
public enum WorldSuitability {
    /// Whether `product` matches the customer's `profile`.
    public static func matches(_ profile: SuitabilityProfile, _ product: Crm_Products_V1_Product) -> Bool {
        matches(profile, risk: product.riskLevel.rawValue, horizon: product.horizon.rawValue, variety: product.variety.rawValue)
    }

    /// Whether the generated product matches the generated customer (false when never assessed).
    public static func matches(_ customer: GeneratedCustomer, _ product: GeneratedProduct) -> Bool {
        guard let profile = customer.profile else { return false }
        return matches(profile, product.record)
    }

    /// The rule on raw values: risk 1…5, horizon 1…4 (0 = unspecified, no constraint), variety 1…8.
    @inline(__always)
    static func matches(_ profile: SuitabilityProfile, risk: Int, horizon: Int, variety: Int) -> Bool {
        if profile.investorClass == .professional { return true }
        let ceiling = profile.lowestCategory ? 1 : profile.riskTolerance
        guard risk >= 1, risk <= ceiling else { return false }
        guard horizon <= profile.horizon else { return false }
        return profile.chose(variety: variety)
    }
}
