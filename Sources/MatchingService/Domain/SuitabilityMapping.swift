import CRMProtos
import CRMSuitability

/// Maps the copies of profiles' and products' wire messages onto the pure rules' facts.
enum SuitabilityMapping {
    static func customer(_ customer: Crm_Profiles_V1_Customer, assessment: Crm_Profiles_V1_SuitabilityAssessment?) -> SuitabilityCustomer {
        SuitabilityCustomer(status: status(customer.status), assessment: assessment.flatMap(Self.assessment))
    }

    static func status(_ status: Crm_Profiles_V1_AccountStatus) -> SuitabilityCustomer.AccountStatus {
        switch status {
        case .normal: return .normal
        case .frozen: return .frozen
        case .reportedLost: return .reportedLost
        case .closed: return .closed
        // A prospect, and any status this replica does not know yet, may not buy.
        default: return .prospect
        }
    }

    /// nil when the record has no assessment date (then it is no usable assessment).
    static func assessment(_ wire: Crm_Profiles_V1_SuitabilityAssessment) -> SuitabilityCustomer.Assessment? {
        guard wire.hasAssessedOn, wire.assessedOn.isValid else { return nil }
        let tolerance = wire.riskTolerance.rawValue
        let horizon = wire.horizon.rawValue
        return .init(
            investorClass: wire.investorClass == .professional ? .professional : .ordinary,
            riskTolerance: (1...5).contains(tolerance) ? tolerance : nil,
            lowestCategory: wire.lowestCategory,
            assessedOn: BusinessDays.day(wire.assessedOn),
            expiresOn: wire.hasExpiresOn && wire.expiresOn.isValid ? BusinessDays.day(wire.expiresOn) : nil,
            horizon: (1...4).contains(horizon) ? horizon : nil,
            varieties: Set(wire.varieties.map(\.rawValue).filter { (1...8).contains($0) })
        )
    }

    static func product(_ product: Crm_Products_V1_Product) -> SuitabilityProduct {
        let horizon = product.horizon.rawValue
        let variety = product.variety.rawValue
        return SuitabilityProduct(
            riskLevel: product.riskLevel.rawValue,
            horizon: (1...4).contains(horizon) ? horizon : nil,
            variety: (1...8).contains(variety) ? variety : nil
        )
    }

    static func wire(_ decision: SuitabilityDecision) -> Crm_Matching_V1_SuitabilityDecision {
        switch decision {
        case .match: return .match
        case .mismatch: return .mismatch
        case .prohibited: return .prohibited
        }
    }

    /// The inputs a decision read, one "name=value" line each, for the audit log.
    static func inputs(_ customer: SuitabilityCustomer, _ product: SuitabilityProduct, rules: SuitabilityRules) -> [String] {
        func date(_ day: Int32?) -> String {
            guard let day else { return "none" }
            let civil = CivilDay.civil(day)
            return String(format: "%04d-%02d-%02d", civil.year, civil.month, civil.day)
        }
        var lines = ["status=\(customer.status)"]
        if let assessment = customer.assessment {
            lines += [
                "investor_class=\(assessment.investorClass)",
                "risk_tolerance=\(assessment.riskTolerance.map { "C\($0)" } ?? "none")",
                "lowest_category=\(assessment.lowestCategory)",
                "assessed_on=\(date(assessment.assessedOn))",
                "expires_on=\(date(rules.expiry(of: assessment)))",
                "horizon=\(assessment.horizon.map(String.init) ?? "none")",
                "varieties=\(assessment.varieties.sorted().map(String.init).joined(separator: ","))",
            ]
        } else {
            lines.append("assessment=none")
        }
        lines += [
            "product_risk=R\(product.riskLevel)",
            "product_horizon=\(product.horizon.map(String.init) ?? "none")",
            "product_variety=\(product.variety.map(String.init) ?? "none")",
        ]
        return lines
    }
}
