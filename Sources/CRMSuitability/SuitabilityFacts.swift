/// What the suitability rules read about a customer: the account status and the assessment in force.
///
/// Plain integers rather than the wire enums so the rules stay a pure module with no dependency:
/// the matching service maps its copy of the profiles data onto these.
public struct SuitabilityCustomer: Sendable, Hashable {
    public enum AccountStatus: Sendable, Hashable, CaseIterable {
        case prospect, normal, frozen, reportedLost, closed
    }

    public enum InvestorClass: Sendable, Hashable {
        case ordinary, professional
    }

    /// The assessment in force; nil when the customer was never assessed.
    public struct Assessment: Sendable, Hashable {
        public var investorClass: InvestorClass
        /// 1 (C1, most conservative) … 5 (C5); nil when the assessment left it unspecified.
        public var riskTolerance: Int?
        /// Within C1: the lowest risk category, who may buy R1 only.
        public var lowestCategory: Bool
        /// Days since 1970-01-01 (any day numbering works if the rules' `today` uses the same).
        public var assessedOn: Int32
        /// Last valid day; nil means assessedOn plus the rules' default validity.
        public var expiresOn: Int32?
        /// 1 up to one year … 4 over five years; nil when not stated.
        public var horizon: Int?
        /// The investment varieties the customer chose (1…8, the proto's numbering).
        public var varieties: Set<Int>

        public init(investorClass: InvestorClass, riskTolerance: Int?, lowestCategory: Bool = false, assessedOn: Int32,
                    expiresOn: Int32? = nil, horizon: Int?, varieties: Set<Int>) {
            self.investorClass = investorClass
            self.riskTolerance = riskTolerance
            self.lowestCategory = lowestCategory
            self.assessedOn = assessedOn
            self.expiresOn = expiresOn
            self.horizon = horizon
            self.varieties = varieties
        }
    }

    public var status: AccountStatus
    public var assessment: Assessment?

    public init(status: AccountStatus, assessment: Assessment?) {
        self.status = status
        self.assessment = assessment
    }
}

/// What the rules read about a product.
public struct SuitabilityProduct: Sendable, Hashable {
    /// 1 (R1) … 5 (R5).
    public var riskLevel: Int
    /// 1 … 4 like the customer's; nil when the product states none (no horizon test).
    public var horizon: Int?
    /// 1 … 8; nil when the product states none (no variety test).
    public var variety: Int?

    public init(riskLevel: Int, horizon: Int?, variety: Int?) {
        self.riskLevel = riskLevel
        self.horizon = horizon
        self.variety = variety
    }
}
