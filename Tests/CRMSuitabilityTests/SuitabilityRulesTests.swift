import CRMSuitability
import Testing

/// Exhaustive tables for the suitability rules: every C × R pair, the lowest category, professional
/// investors, every horizon pair, varieties, assessment expiry and every account status.
@Suite struct SuitabilityRulesTests {
    static let rules = SuitabilityRules()
    static let today = CivilDay.day(year: 2026, month: 11, day: 29)

    static func customer(
        tolerance: Int? = 3, lowest: Bool = false, investorClass: SuitabilityCustomer.InvestorClass = .ordinary,
        status: SuitabilityCustomer.AccountStatus = .normal, assessedDaysAgo: Int32 = 100, expiresOn: Int32? = nil,
        horizon: Int? = 4, varieties: Set<Int> = Set(1...8)
    ) -> SuitabilityCustomer {
        SuitabilityCustomer(status: status, assessment: .init(
            investorClass: investorClass, riskTolerance: tolerance, lowestCategory: lowest,
            assessedOn: today - assessedDaysAgo, expiresOn: expiresOn, horizon: horizon, varieties: varieties
        ))
    }

    static func decide(_ customer: SuitabilityCustomer, risk: Int, horizon: Int? = 1, variety: Int? = 4) -> SuitabilityVerdict {
        rules.decide(customer: customer, product: SuitabilityProduct(riskLevel: risk, horizon: horizon, variety: variety), today: today)
    }

    @Test(arguments: 1...5, 1...5)
    func ordinaryInvestorsMatchUpToTheirToleranceAndMismatchAbove(tolerance: Int, risk: Int) {
        let verdict = Self.decide(Self.customer(tolerance: tolerance), risk: risk)
        if risk <= tolerance {
            #expect(verdict.decision == .match)
            #expect(verdict.reasons.isEmpty)
        } else {
            #expect(verdict.decision == .mismatch)
            #expect(verdict.reasons.map(\.code) == ["RISK_ABOVE_TOLERANCE"])
        }
        #expect(verdict.ruleVersion == SuitabilityRules.currentVersion)
    }

    @Test(arguments: 1...5)
    func theLowestCategoryMayBuyR1OnlyAndAnythingElseIsProhibited(risk: Int) {
        let verdict = Self.decide(Self.customer(tolerance: 1, lowest: true), risk: risk)
        if risk == 1 {
            #expect(verdict.decision == .match)
        } else {
            #expect(verdict.decision == .prohibited)
            // Every reason that applies: the prohibition, and the risk above the C1 tolerance.
            #expect(verdict.reasons.map(\.code) == ["LOWEST_CATEGORY_ABOVE_R1", "RISK_ABOVE_TOLERANCE"])
            #expect(verdict.reasons.map(\.prohibits) == [true, false])
        }
    }

    @Test(arguments: [1, 3, 5], 1...5)
    func professionalInvestorsMatchEveryProductWhateverTheirProfile(tolerance: Int, risk: Int) {
        let professional = Self.customer(tolerance: tolerance, investorClass: .professional, horizon: 1, varieties: [])
        let verdict = Self.decide(professional, risk: risk, horizon: 4, variety: 5)
        #expect(verdict.decision == .match)
        #expect(verdict.reasons.isEmpty)
    }

    @Test(arguments: 1...4, 1...4)
    func aLongerProductHorizonIsAMismatch(own: Int, product: Int) {
        let verdict = Self.decide(Self.customer(tolerance: 5, horizon: own), risk: 1, horizon: product)
        #expect(verdict.decision == (product > own ? .mismatch : .match))
        #expect(verdict.reasons.map(\.code) == (product > own ? ["HORIZON_MISMATCH"] : []))
    }

    @Test func noStatedHorizonMismatchesAProductWithOneAndAProductWithoutOneIsNotTested() {
        #expect(Self.decide(Self.customer(horizon: nil), risk: 1, horizon: 1).reasons.map(\.code) == ["HORIZON_NOT_STATED"])
        #expect(Self.decide(Self.customer(horizon: 1), risk: 1, horizon: nil).decision == .match)
    }

    @Test(arguments: 1...8)
    func aVarietyNotChosenIsAMismatch(variety: Int) {
        let chosen: Set<Int> = [2, 4, 6]
        let verdict = Self.decide(Self.customer(varieties: chosen), risk: 1, variety: variety)
        #expect(verdict.decision == (chosen.contains(variety) ? .match : .mismatch))
        #expect(Self.decide(Self.customer(varieties: []), risk: 1, variety: nil).decision == .match)
    }

    @Test func everyMismatchReasonIsReportedTogether() {
        let verdict = Self.decide(Self.customer(tolerance: 2, horizon: 1, varieties: [1]), risk: 4, horizon: 3, variety: 3)
        #expect(verdict.decision == .mismatch)
        #expect(verdict.reasons.map(\.code) == ["RISK_ABOVE_TOLERANCE", "HORIZON_MISMATCH", "VARIETY_NOT_CHOSEN"])
        #expect(verdict.reasons.allSatisfy { !$0.prohibits && !$0.text.isEmpty })
    }

    @Test(arguments: SuitabilityCustomer.AccountStatus.allCases)
    func onlyANormalAccountMayBuy(status: SuitabilityCustomer.AccountStatus) {
        let verdict = Self.decide(Self.customer(status: status), risk: 1)
        let expected: [SuitabilityCustomer.AccountStatus: String] = [
            .prospect: "ACCOUNT_NOT_OPEN", .frozen: "ACCOUNT_FROZEN", .reportedLost: "ACCOUNT_REPORTED_LOST", .closed: "ACCOUNT_CLOSED",
        ]
        if status == .normal {
            #expect(verdict.decision == .match)
        } else {
            #expect(verdict.decision == .prohibited)
            #expect(verdict.reasons.map(\.code) == [expected[status]])
        }
        // A professional investor's account rules are the same.
        let professional = Self.decide(Self.customer(investorClass: .professional, status: status), risk: 5)
        #expect(professional.decision == (status == .normal ? .match : .prohibited))
    }

    @Test func aMissingAssessmentIsProhibited() {
        let verdict = Self.rules.decide(customer: SuitabilityCustomer(status: .normal, assessment: nil),
                                        product: SuitabilityProduct(riskLevel: 1, horizon: nil, variety: nil), today: Self.today)
        #expect(verdict.decision == .prohibited)
        #expect(verdict.reasons.map(\.code) == ["ASSESSMENT_MISSING"])
    }

    @Test func anAssessmentIsValidThroughItsExpiryDayAndProhibitedAfter() {
        #expect(Self.decide(Self.customer(expiresOn: Self.today), risk: 1).decision == .match)
        let expired = Self.decide(Self.customer(expiresOn: Self.today - 1), risk: 1)
        #expect(expired.decision == .prohibited)
        #expect(expired.reasons.map(\.code) == ["ASSESSMENT_EXPIRED"])
        // Expired beats professional status, and comes with the other prohibitions.
        #expect(Self.decide(Self.customer(investorClass: .professional, expiresOn: Self.today - 1), risk: 1).decision == .prohibited)
        #expect(Self.decide(Self.customer(status: .frozen, expiresOn: Self.today - 1), risk: 1).reasons.map(\.code) == ["ACCOUNT_FROZEN", "ASSESSMENT_EXPIRED"])
    }

    @Test func anAssessmentDatedAfterTheDecisionDayIsNotYetInForce() {
        // Dated tomorrow: on the decision day the customer has no assessment, whatever it says.
        for investorClass in [SuitabilityCustomer.InvestorClass.ordinary, .professional] {
            for risk in 1...5 {
                let verdict = Self.decide(Self.customer(tolerance: 5, investorClass: investorClass, assessedDaysAgo: -1), risk: risk)
                #expect(verdict.decision == .prohibited)
                #expect(verdict.reasons.map(\.code) == ["ASSESSMENT_MISSING"])
            }
        }
        // In force from its own day on.
        #expect(Self.decide(Self.customer(assessedDaysAgo: 0), risk: 1).decision == .match)
        let frozen = Self.decide(Self.customer(status: .frozen, assessedDaysAgo: -30), risk: 1)
        #expect(frozen.reasons.map(\.code) == ["ACCOUNT_FROZEN", "ASSESSMENT_MISSING"])
        #expect(!Self.rules.isInForce(Self.customer(assessedDaysAgo: -1).assessment!, on: Self.today))
        #expect(Self.rules.isInForce(Self.customer(assessedDaysAgo: -1).assessment!, on: Self.today + 1))
    }

    @Test func withoutAnExpiryTheConfiguredValidityApplies() {
        let assessedOn = CivilDay.day(year: 2024, month: 11, day: 30)
        var customer = Self.customer()
        customer.assessment?.assessedOn = assessedOn
        // Two years: valid through 2026-11-29, today.
        #expect(SuitabilityRules().decide(customer: customer, product: .init(riskLevel: 1, horizon: nil, variety: nil), today: Self.today).decision == .match)
        #expect(SuitabilityRules().decide(customer: customer, product: .init(riskLevel: 1, horizon: nil, variety: nil), today: Self.today + 1).decision == .prohibited)
        // One year: long expired.
        #expect(SuitabilityRules(assessmentValidityYears: 1).decide(customer: customer, product: .init(riskLevel: 1, horizon: nil, variety: nil), today: Self.today).decision == .prohibited)
        #expect(CivilDay.adding(years: 1, to: CivilDay.day(year: 2024, month: 2, day: 29)) == CivilDay.day(year: 2025, month: 2, day: 27))
    }

    @Test func anUnknownRiskLevelOrMissingToleranceIsProhibited() {
        #expect(Self.decide(Self.customer(), risk: 0).reasons.map(\.code) == ["PRODUCT_RISK_UNKNOWN"])
        #expect(Self.decide(Self.customer(tolerance: nil), risk: 1).reasons.map(\.code) == ["RISK_TOLERANCE_MISSING"])
    }

    @Test func prohibitionsComeBeforeMismatches() {
        let verdict = Self.decide(Self.customer(tolerance: 2, status: .closed, varieties: []), risk: 3)
        #expect(verdict.decision == .prohibited)
        #expect(verdict.reasons.map(\.code) == ["ACCOUNT_CLOSED", "RISK_ABOVE_TOLERANCE", "VARIETY_NOT_CHOSEN"])
    }

    @Test func civilDaysRoundTrip() {
        for number in stride(from: Int32(-800), through: 40_000, by: 37) {
            let date = CivilDay.civil(number)
            #expect(CivilDay.day(year: date.year, month: date.month, day: date.day) == number)
        }
        #expect(CivilDay.day(year: 1970, month: 1, day: 1) == 0)
    }
}

/// The fast path agrees with the full decision on every combination of the tables above.
@Suite struct SuitabilityFastPathTests {
    @Test func matchesAgreesWithDecideEverywhere() {
        let rules = SuitabilityRules()
        let today = SuitabilityRulesTests.today
        var checked = 0
        for status in SuitabilityCustomer.AccountStatus.allCases {
            for investorClass in [SuitabilityCustomer.InvestorClass.ordinary, .professional] {
                for tolerance in [nil, 1, 2, 3, 4, 5] as [Int?] {
                    for lowest in [false, true] {
                        for horizon in [nil, 1, 2, 3, 4] as [Int?] {
                            for (assessed, expires) in [(today - 10, today - 1), (today - 10, today), (today + 1, today + 30)] {
                                let customer = SuitabilityCustomer(status: status, assessment: .init(
                                    investorClass: investorClass, riskTolerance: tolerance, lowestCategory: lowest,
                                    assessedOn: assessed, expiresOn: expires, horizon: horizon, varieties: [1, 4]
                                ))
                                for risk in 0...5 {
                                    for productHorizon in [nil, 1, 3, 4] as [Int?] {
                                        for variety in [nil, 1, 2] as [Int?] {
                                            let product = SuitabilityProduct(riskLevel: risk, horizon: productHorizon, variety: variety)
                                            let full = rules.decide(customer: customer, product: product, today: today).decision == .match
                                            #expect(rules.matches(customer: customer, product: product, today: today) == full)
                                            checked += 1
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(checked == 5 * 2 * 6 * 2 * 5 * 3 * 6 * 4 * 3)
        #expect(!rules.matches(customer: .init(status: .normal, assessment: nil), product: .init(riskLevel: 1, horizon: nil, variety: nil), today: today))
    }
}
