/// The investor suitability measures (证券期货投资者适当性管理办法) as one pure function.
///
/// A sale is PROHIBITED when anything forbids it outright (an account that may not buy, no
/// assessment in force — none, one dated after the decision day, or an expired one —, the lowest
/// category buying above R1, a product risk the rules do not know), a MISMATCH when it may go ahead
/// only after a special risk warning and the customer's written confirmation (risk above the
/// tolerance, a longer horizon, a variety not chosen), and otherwise a MATCH. Every reason that applies is returned, PROHIBITED ones first, so the customer and the
/// client manager see the whole picture in one answer, and `version` names the rule set so an
/// audited decision can be replayed.
public struct SuitabilityRules: Sendable, Hashable {
    /// Changes whenever the rules' behaviour changes; stored with every decision.
    public static let currentVersion = "suitability-2026.2"

    public var version: String
    /// Validity of an assessment without an explicit expiry, in years (2 by default).
    public var assessmentValidityYears: Int

    public init(version: String = SuitabilityRules.currentVersion, assessmentValidityYears: Int = 2) {
        self.version = version
        self.assessmentValidityYears = assessmentValidityYears
    }

    /// The decision for `customer` buying `product` on `today` (same day numbering as the facts).
    public func decide(customer: SuitabilityCustomer, product: SuitabilityProduct, today: Int32) -> SuitabilityVerdict {
        var prohibited: [SuitabilityReason] = []
        var mismatches: [SuitabilityReason] = []

        switch customer.status {
        case .normal: break
        case .prospect: prohibited.append(.accountNotOpen)
        case .frozen: prohibited.append(.accountFrozen)
        case .reportedLost: prohibited.append(.accountReportedLost)
        case .closed: prohibited.append(.accountClosed)
        }
        if !(1...5).contains(product.riskLevel) { prohibited.append(.productRiskUnknown) }

        // An assessment dated after `today` is not yet in force: on this day the customer has none.
        guard let assessment = customer.assessment, assessment.assessedOn <= today else {
            prohibited.append(.assessmentMissing)
            return SuitabilityVerdict(decision: .prohibited, reasons: prohibited, ruleVersion: version)
        }
        if today > expiry(of: assessment) { prohibited.append(.assessmentExpired) }

        if assessment.investorClass == .professional {
            // Professional investors match every product; only the account and assessment rules apply.
            return SuitabilityVerdict(decision: prohibited.isEmpty ? .match : .prohibited, reasons: prohibited, ruleVersion: version)
        }

        if let tolerance = assessment.riskTolerance, (1...5).contains(tolerance) {
            // The lowest category forbids anything above R1 outright; the risk above the tolerance
            // (C1) still applies beside it, so both reasons are reported.
            if assessment.lowestCategory, tolerance == 1, product.riskLevel > 1 { prohibited.append(.lowestCategoryAboveR1) }
            if product.riskLevel > tolerance { mismatches.append(.riskAboveTolerance) }
        } else {
            prohibited.append(.riskToleranceMissing)
        }
        if let wanted = product.horizon {
            if let own = assessment.horizon {
                if wanted > own { mismatches.append(.horizonLonger) }
            } else {
                mismatches.append(.horizonNotStated)
            }
        }
        if let variety = product.variety, !assessment.varieties.contains(variety) {
            mismatches.append(.varietyNotChosen)
        }

        let decision: SuitabilityDecision = !prohibited.isEmpty ? .prohibited : (!mismatches.isEmpty ? .mismatch : .match)
        return SuitabilityVerdict(decision: decision, reasons: prohibited + mismatches, ruleVersion: version)
    }

    /// Whether `decide` would answer MATCH, without building the reasons: the scan over every
    /// customer for a target list asks this a million times.
    public func matches(customer: SuitabilityCustomer, product: SuitabilityProduct, today: Int32) -> Bool {
        guard customer.status == .normal, (1...5).contains(product.riskLevel), let assessment = customer.assessment,
              isInForce(assessment, on: today)
        else { return false }
        if assessment.investorClass == .professional { return true }
        guard let tolerance = assessment.riskTolerance, (1...5).contains(tolerance), product.riskLevel <= tolerance else { return false }
        if let wanted = product.horizon {
            guard let own = assessment.horizon, wanted <= own else { return false }
        }
        if let variety = product.variety, !assessment.varieties.contains(variety) { return false }
        return true
    }

    /// Whether the assessment is in force on `day`: from the day it was made through its expiry.
    public func isInForce(_ assessment: SuitabilityCustomer.Assessment, on day: Int32) -> Bool {
        assessment.assessedOn <= day && day <= expiry(of: assessment)
    }

    /// The last valid day of an assessment: its own expiry, else assessedOn plus the validity
    /// (calendar years, counted as 365 days plus one per leap day crossed, via the civil calendar).
    public func expiry(of assessment: SuitabilityCustomer.Assessment) -> Int32 {
        if let expires = assessment.expiresOn { return expires }
        return CivilDay.adding(years: assessmentValidityYears, to: assessment.assessedOn)
    }
}

public enum SuitabilityDecision: Sendable, Hashable {
    case match, mismatch, prohibited
}

/// One rule that applied: a stable code for programs and an explanation for people.
public struct SuitabilityReason: Sendable, Hashable {
    public let code: String
    public let text: String
    /// Whether this reason alone forbids the sale.
    public let prohibits: Bool

    static let accountNotOpen = prohibit("ACCOUNT_NOT_OPEN", "The account is a prospect and not yet opened.")
    static let accountFrozen = prohibit("ACCOUNT_FROZEN", "The account is frozen.")
    static let accountReportedLost = prohibit("ACCOUNT_REPORTED_LOST", "The account is reported lost.")
    static let accountClosed = prohibit("ACCOUNT_CLOSED", "The account is closed.")
    static let assessmentMissing = prohibit("ASSESSMENT_MISSING", "The customer has no risk assessment in force; assess before any sale.")
    static let assessmentExpired = prohibit("ASSESSMENT_EXPIRED", "The risk assessment has expired; re-assess before any sale.")
    static let riskToleranceMissing = prohibit("RISK_TOLERANCE_MISSING", "The assessment states no risk tolerance.")
    static let lowestCategoryAboveR1 = prohibit("LOWEST_CATEGORY_ABOVE_R1", "A customer in the lowest risk category may buy R1 products only.")
    static let productRiskUnknown = prohibit("PRODUCT_RISK_UNKNOWN", "The product has no valid risk level.")
    static let riskAboveTolerance = mismatch("RISK_ABOVE_TOLERANCE", "The product's risk level is above the customer's risk tolerance.")
    static let horizonLonger = mismatch("HORIZON_MISMATCH", "The product's investment horizon is longer than the customer's intended horizon.")
    static let horizonNotStated = mismatch("HORIZON_NOT_STATED", "The customer stated no investment horizon; the product has one.")
    static let varietyNotChosen = mismatch("VARIETY_NOT_CHOSEN", "The product's investment variety is not among the customer's chosen varieties.")

    private static func prohibit(_ code: String, _ text: String) -> SuitabilityReason { .init(code: code, text: text, prohibits: true) }
    private static func mismatch(_ code: String, _ text: String) -> SuitabilityReason { .init(code: code, text: text, prohibits: false) }
}

public struct SuitabilityVerdict: Sendable, Hashable {
    public let decision: SuitabilityDecision
    public let reasons: [SuitabilityReason]
    public let ruleVersion: String
}
