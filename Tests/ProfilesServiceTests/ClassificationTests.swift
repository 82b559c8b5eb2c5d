import CRMRules
@testable import CustomerDimensions
@testable import ProfilesService
import Testing

@Suite struct ClassificationTests {
    let asOf = Fixture.asOf

    struct Sample: Sendable, CustomTestStringConvertible {
        var name: String
        var facts: CustomerFacts
        var events: [CustomerEvent]
        var testDescription: String { name }
    }

    static let samples: [Sample] = {
        let asOf = Fixture.asOf
        return [
            Sample(name: "prospect", facts: CustomerFacts(kind: .individual, status: .prospect), events: []),
            Sample(name: "active", facts: Fixture.activeFacts, events: Fixture.activeEvents),
            Sample(name: "new", facts: CustomerFacts(status: .normal, openDay: asOf - 10, riskTolerance: 1),
                   events: [Fixture.deposit(asOf - 9, 50_000), Fixture.position(asOf, cash: 50_000)]),
            Sample(name: "dormant rich", facts: CustomerFacts(status: .normal, openDay: asOf - 3_000, birthDay: Days.day(year: 1950, month: 1, day: 1)),
                   events: [Fixture.trade(asOf - 200, amount: 10_000), Fixture.position(asOf - 200, cash: 1, holdings: [Fixture.holding("A", value: 50_000_000, cost: 1)])]),
            Sample(name: "lost", facts: CustomerFacts(status: .frozen, openDay: asOf - 5_000),
                   events: [Fixture.trade(asOf - 800, amount: 10_000), Fixture.position(asOf, cash: 500)]),
            Sample(name: "closed", facts: CustomerFacts(status: .closed, openDay: asOf - 900), events: [Fixture.position(asOf - 30, cash: 0)]),
            Sample(name: "institution", facts: CustomerFacts(kind: .institution, status: .reportedLost, openDay: asOf - 400, riskTolerance: 5),
                   events: [Fixture.trade(asOf, amount: 900_000_000, type: .bond), Fixture.position(asOf, cash: 1_000_000, products: [Fixture.product("X", "FUND_MONEY_MARKET", value: 9_000_000, cost: 9_000_000)])]),
            Sample(name: "margin heavy", facts: CustomerFacts(openDay: asOf - 700, birthDay: Days.day(year: 2000, month: 1, day: 1), riskTolerance: 5),
                   events: [Fixture.margin(asOf, collateral: 1_200_000, financing: 900_000, limit: 1_000_000), Fixture.trade(asOf, amount: 5_000_000, account: .margin)]),
            Sample(name: "trades only", facts: CustomerFacts(openDay: asOf - 100), events: [Fixture.trade(asOf - 1, amount: 10_000, type: .etf)]),
        ]
    }()

    @Test(arguments: samples)
    func everySchemePutsEachCustomerInExactlyOneOfItsClasses(sample: Sample) throws {
        let classifier = try Classifier()
        let values = Fixture.compute(sample.events, facts: sample.facts)
        let classes = classifier.classes(values, customer: sample.facts)
        #expect(classes.count == classifier.schemes.count)
        for (scheme, assigned) in zip(classifier.schemes, classes) {
            #expect(scheme.classes.filter { $0 == assigned }.count == 1, "\(scheme.name): \(assigned)")
        }
        let byName = classifier.classify(values, customer: sample.facts)
        #expect(byName.count == classifier.schemes.count)
        #expect(byName == Dictionary(uniqueKeysWithValues: zip(classifier.schemes.map(\.name), classes)))
    }

    @Test func samplesLandWhereExpected() throws {
        let classifier = try Classifier()
        func classes(_ name: String) -> [String: String] {
            let sample = Self.samples.first { $0.name == name } ?? Self.samples[0]
            return classifier.classify(Fixture.compute(sample.events, facts: sample.facts), customer: sample.facts)
        }
        let prospect = classes("prospect")
        #expect(prospect["risk_tolerance"] == "unassessed")
        #expect(prospect["lifecycle_stage"] == "prospect")
        #expect(prospect["account_age_band"] == "not_opened")
        #expect(prospect["asset_tier"] == "basic")
        #expect(prospect["position_level"] == "no_assets")
        #expect(prospect["investment_preference"] == "cash_only")
        #expect(prospect["trading_style"] == "inactive")
        #expect(prospect["margin_use"] == "no_margin")
        #expect(prospect["maintenance_level"] == "no_liability")
        #expect(prospect["product_holding_style"] == "no_products")
        #expect(prospect["age_group"] == "undisclosed")
        #expect(prospect["contribution_tier"] == "none")

        let active = classes("active")
        #expect(active["risk_tolerance"] == "C4")
        #expect(active["lifecycle_stage"] == "active")
        #expect(active["account_age_band"] == "established")   // 1,000 days: 365 ≤ d < 1,095
        #expect(active["age_group"] == "mature")                // 46: 45 ≤ age < 60
        // avg_assets_90d about 14.1M fen (141k yuan): silver (10M ≤ v < 50M).
        #expect(active["asset_tier"] == "silver")
        #expect(active["margin_use"] == "moderate")             // 3,000,000 / 10,000,000 = 0.3
        // 9,000,000 / (3,000,000 + 500,000 + 20,000) = 2.56: 1.5 ≤ v < 3.
        #expect(active["maintenance_level"] == "adequate")
        #expect(active["product_holding_style"] == "supplementary")
        #expect(active["investment_preference"] == "balanced")

        #expect(classes("new")["lifecycle_stage"] == "new")
        #expect(classes("new")["account_age_band"] == "newcomer")
        #expect(classes("new")["position_level"] == "empty")
        let dormant = classes("dormant rich")
        #expect(dormant["lifecycle_stage"] == "dormant")
        #expect(dormant["age_group"] == "senior")
        #expect(dormant["asset_tier"] == "gold")   // 50,000,001 fen every day of the 90: 50M ≤ v < 200M
        #expect(dormant["position_level"] == "full")
        #expect(dormant["investment_preference"] == "equities")
        #expect(dormant["trading_style"] == "inactive")
        #expect(classes("lost")["lifecycle_stage"] == "lost")
        #expect(classes("closed")["lifecycle_stage"] == "closed")
        let institution = classes("institution")
        #expect(institution["age_group"] == "institution")
        #expect(institution["risk_tolerance"] == "C5")
        #expect(institution["investment_preference"] == "fixed_income")
        #expect(institution["product_holding_style"] == "product_focused")
        #expect(institution["trading_style"] == "hyperactive")
        let margin = classes("margin heavy")
        #expect(margin["margin_use"] == "heavy")                // 0.9
        #expect(margin["maintenance_level"] == "below_warning")  // 1,200,000 / 900,000 = 1.33: 1.3 ≤ v < 1.5
        #expect(margin["age_group"] == "young")
        #expect(classes("trades only")["investment_preference"] == "funds")
    }

    @Test func bandsPutEachBoundaryInTheUpperClass() {
        let classes = ["a", "b", "c"]
        #expect(Classifier.band(0.99, [1, 2], classes) == "a")
        #expect(Classifier.band(1, [1, 2], classes) == "b")
        #expect(Classifier.band(1.5, [1, 2], classes) == "b")
        #expect(Classifier.band(2, [1, 2], classes) == "c")
        #expect(Classifier.band(1e300, [1, 2], classes) == "c")
        #expect(Classifier.band(.nan, [1, 2], classes) == "a")
    }

    @Test func schemesDescribeThemselves() throws {
        let classifier = try Classifier()
        #expect(classifier.schemes.count >= 10)
        #expect(Set(classifier.schemes.map(\.name)).count == classifier.schemes.count)
        for scheme in classifier.schemes {
            #expect(!scheme.description.isEmpty)
            #expect(Set(scheme.classes).count == scheme.classes.count, "\(scheme.name)")
            if let ordered = scheme.ordered {
                // The ordered classes come last, in the same order.
                #expect(Array(scheme.classes.suffix(ordered.count)) == ordered, "\(scheme.name)")
            }
            if !scheme.dimension.isEmpty {
                #expect(DimensionCatalog.definition(named: scheme.dimension) != nil, "\(scheme.name)")
            }
        }
        let tier = try #require(classifier.scheme(named: "asset_tier"))
        #expect(tier.classes == ["basic", "silver", "gold", "platinum", "diamond"])
        #expect(tier.thresholds == ["10000000", "50000000", "200000000", "1000000000"])
        #expect(tier.dimension == "avg_assets_90d")
        #expect(classifier.scheme(named: "maintenance_level")?.thresholds == ["1.3", "1.5", "3"])
        #expect(classifier.scheme(named: "lifecycle_stage")?.ordered == nil)
    }

    @Test func classesAreOrderedCategoriesForTheRuleLanguage() throws {
        let classifier = try Classifier()
        var schema = RuleSchema()
        for scheme in classifier.schemes { schema.add(scheme.name, scheme.ruleType) }
        let rule = try Rule.parse("asset_tier >= gold and risk_tolerance between C3 and C5 and lifecycle_stage in (active, new)", schema: schema)
        let compiled = try rule.compile(against: schema)
        #expect(compiled.matches(DictionaryRecord(["asset_tier": "platinum", "risk_tolerance": "C4", "lifecycle_stage": "active"])))
        #expect(!compiled.matches(DictionaryRecord(["asset_tier": "silver", "risk_tolerance": "C4", "lifecycle_stage": "active"])))
        #expect(!compiled.matches(DictionaryRecord(["asset_tier": "gold", "risk_tolerance": "unassessed", "lifecycle_stage": "active"])))
        #expect(throws: RuleError.self) { try Rule.parse("lifecycle_stage > new", schema: schema) }
        #expect(throws: RuleError.self) { try Rule.parse("asset_tier = bronze", schema: schema) }
    }

    // MARK: Configuration

    @Test func settingsOverrideDefaultsAndOtherKeysAreIgnored() throws {
        let configuration = try ClassificationConfiguration(settings: [
            "asset_tier.thresholds": "100000000, 500_000_000,1000000000 ,5000000000",
            "trading_style.thresholds": "0.5,2,8",
            "lifecycle_stage.active_days": "30",
            "investment_preference.dominance": "0.75",
            "database.path": "/var/lib/crm",   // not ours
        ])
        #expect(configuration.assetTierThresholdsFen == [100_000_000, 500_000_000, 1_000_000_000, 5_000_000_000])
        #expect(configuration.tradingStyleThresholds == [0.5, 2, 8])
        #expect(configuration.lifecycleActiveDays == 30)
        #expect(configuration.investmentPreferenceDominance == 0.75)
        #expect(configuration.positionLevelThresholds == ClassificationConfiguration().positionLevelThresholds)
        #expect(try ClassificationConfiguration(settings: [:]) == ClassificationConfiguration())
        let classifier = try Classifier(configuration: configuration)
        #expect(classifier.scheme(named: "asset_tier")?.thresholds.first == "100000000")
        // The new thresholds apply: 14M fen is basic below 100M.
        let values = Fixture.compute(Fixture.activeEvents, facts: Fixture.activeFacts)
        #expect(classifier.classify(values, customer: Fixture.activeFacts)["asset_tier"] == "basic")
    }

    struct BadSetting: Sendable, CustomTestStringConvertible {
        var settings: [String: String]
        var key: String
        var message: String
        var testDescription: String { "\(settings)" }
    }

    static let badSettings: [BadSetting] = [
        BadSetting(settings: ["asset_tier.thresholds": "100,500,500,900"], key: "asset_tier.thresholds",
                   message: "thresholds must be strictly increasing, but 500 follows 500"),
        BadSetting(settings: ["position_level.thresholds": "0.5,0.4,0.7,0.9"], key: "position_level.thresholds",
                   message: "thresholds must be strictly increasing, but 0.4 follows 0.5"),
        BadSetting(settings: ["asset_tier.thresholds": "100,500,900"], key: "asset_tier.thresholds", message: "expects 4 values, got 3"),
        BadSetting(settings: ["margin_use.thresholds": "0.3,lots"], key: "margin_use.thresholds", message: "\"lots\" is not a number"),
        BadSetting(settings: ["margin_use.thresholds": "0.3,,0.7"], key: "margin_use.thresholds", message: "has an empty value in \"0.3,,0.7\""),
        BadSetting(settings: ["margin_use.thresholds": "0.3,inf"], key: "margin_use.thresholds", message: "\"inf\" is not a number"),
        BadSetting(settings: ["age_group.thresholds": "-1,45,60"], key: "age_group.thresholds", message: "must not be negative, got -1"),
        BadSetting(settings: ["asset_tier.threshold": "1,2,3,4"], key: "asset_tier.threshold", message: "is not a setting; known: asset_tier.thresholds"),
        BadSetting(settings: ["investment_preference.dominance": "0.5"], key: "investment_preference.dominance",
                   message: "must be above 0.5 and at most 1 (so that at most one family dominates), got 0.5"),
        BadSetting(settings: ["lifecycle_stage.active_days": "400"], key: "lifecycle_stage.lost_days",
                   message: "must be greater than lifecycle_stage.active_days (400), got 365"),
        BadSetting(settings: ["lifecycle_stage.new_days": "1,2"], key: "lifecycle_stage.new_days", message: "expects one value, got 2"),
    ]

    @Test(arguments: badSettings)
    func badSettingsAreRefusedWithAClearMessage(bad: BadSetting) {
        #expect {
            _ = try ClassificationConfiguration(settings: bad.settings)
        } throws: { error in
            guard let error = error as? ClassificationConfigurationError else { return false }
            return error.key == bad.key && error.message == bad.message && error.description == "\(bad.key): \(bad.message)"
        }
    }

    @Test func aClassifierRefusesAnInvalidConfiguration() throws {
        var configuration = ClassificationConfiguration()
        configuration.contributionTierThresholdsFen = [5, 4, 3, 2]
        #expect(throws: ClassificationConfigurationError.self) { try Classifier(configuration: configuration) }
        // The configuration is Codable (for a JSON settings file) and round-trips.
        let decoded = try JSONRoundTrip.roundTrip(ClassificationConfiguration())
        #expect(decoded == ClassificationConfiguration())
    }
}

import Foundation

enum JSONRoundTrip {
    static func roundTrip<T: Codable>(_ value: T) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
    }
}
