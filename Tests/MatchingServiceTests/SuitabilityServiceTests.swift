import CRMProtos
import CRMSuitability
import CRMRPC
import CRMTestSupport
import Testing
@testable import MatchingService

/// Suitability decisions, target lists and recommendations from matching's copy of profiles and
/// products, with every service in process over real stores.
@Suite(.serialized) struct SuitabilityServiceTests {
    /// C3 ordinary (funds, bonds; 3–5 years), C1 lowest category, C5 professional, a frozen C5, an
    /// unassessed customer, one whose assessment expired; R2 and R5 mixed funds, an R1 money fund.
    static func seeded() async throws -> MatchingHarness {
        let harness = try await MatchingHarness.start()
        try await harness.customer("C3")
        try await harness.customer("LOW", tolerance: .c1, lowest: true)
        try await harness.customer("PRO", tolerance: .c1, professional: true, horizon: .upTo1Year, varieties: [.bonds])
        try await harness.customer("FROZEN", status: .frozen, tolerance: .c5)
        try await harness.customer("NEW", tolerance: nil)
        try await harness.customer("OLD", assessedDaysAgo: 800)
        try await harness.product("R2", risk: .r2)
        try await harness.product("R5", risk: .r5, horizon: .over5Years, variety: .equities)
        try await harness.product("MM", risk: .r1, type: .fundMoneyMarket, horizon: .upTo1Year, variety: .depositsAndMoneyMarket)
        try await harness.waitUntilCaughtUp()
        try await harness.useConstantModel()
        return harness
    }

    @Test func decisionsFollowTheRulesWithEveryReason() async throws {
        let harness = try await Self.seeded()
        func expectDecision(_ customer: String, _ product: String, _ decision: Crm_Matching_V1_SuitabilityDecision, _ codes: [String]) async throws {
            let answer = try await harness.decide(customer, product)
            #expect(answer.decision == decision, "\(customer) buying \(product)")
            #expect(answer.reasons.map(\.code) == codes, "\(customer) buying \(product)")
            #expect(answer.ruleVersion == SuitabilityRules.currentVersion)
        }
        try await expectDecision("C3", "R2", .match, [])
        try await expectDecision("C3", "R5", .mismatch, ["RISK_ABOVE_TOLERANCE", "HORIZON_MISMATCH", "VARIETY_NOT_CHOSEN"])
        try await expectDecision("C3", "MM", .mismatch, ["VARIETY_NOT_CHOSEN"])
        try await expectDecision("LOW", "R2", .prohibited, ["LOWEST_CATEGORY_ABOVE_R1", "RISK_ABOVE_TOLERANCE"])
        try await expectDecision("PRO", "R5", .match, [])
        try await expectDecision("FROZEN", "R2", .prohibited, ["ACCOUNT_FROZEN"])
        try await expectDecision("NEW", "MM", .prohibited, ["ASSESSMENT_MISSING"])
        try await expectDecision("OLD", "R2", .prohibited, ["ASSESSMENT_EXPIRED"])

        let unknown = await statusOf { _ = try await harness.decide("NOBODY", "R2") }
        #expect(unknown?.code == .notFound)
        #expect(unknown?.fieldViolations.first?.field == "customer_id")
        let noProduct = await statusOf { _ = try await harness.decide("C3", "NOPE") }
        #expect(noProduct?.fieldViolations.first?.field == "product_code")
        let missing = await statusOf { _ = try await harness.decide("", "R2") }
        #expect(missing?.code == .invalidArgument)

        // The audit log holds each decision with the rule version and the inputs it read.
        let log = try await harness.matching.unary(Crm_Matching_V1_Matching.listDecisions, Crm_Matching_V1_ListDecisionsRequest.with {
            $0.customerID = "C3"
        })
        #expect(log.decisions.map(\.productCode) == ["MM", "R5", "R2"])
        #expect(log.decisions[1].inputs.contains("risk_tolerance=C3"))
        #expect(log.decisions[1].inputs.contains("product_risk=R5"))
        #expect(log.decisions[1].ruleVersion == SuitabilityRules.currentVersion)
        try await harness.stop()
    }

    @Test func targetListsAndRecommendationsHoldOnlyMatches() async throws {
        let harness = try await Self.seeded()
        // R2 matches C3 and PRO only (LOW is prohibited, FROZEN, NEW, OLD may not buy).
        let r2 = try await harness.targets("R2")
        #expect(Set(r2.customers.map(\.customerID)) == ["C3", "PRO"])
        #expect(r2.eligible == 2)
        #expect(r2.customers.map(\.rank) == [1, 2])
        // R5 is a mismatch for C3: never actively recommended.
        #expect(try await harness.targets("R5").customers.map(\.customerID) == ["PRO"])
        #expect(try await harness.recommend("C3").products.map(\.productCode) == ["R2"])
        #expect(Set(try await harness.recommend("PRO").products.map(\.productCode)) == ["R2", "R5", "MM"])
        #expect(try await harness.recommend("FROZEN").products.isEmpty)

        // A target rule narrows the list; profiles' dimensions and classes are in matching's copy.
        try await harness.product("RULED", risk: .r1, rule: "risk_tolerance_level >= 3 and status = normal")
        try await harness.waitUntilCaughtUp()
        #expect(try await harness.targets("RULED").customers.map(\.customerID) == ["C3"])
        try await harness.product("BROKEN", risk: .r1, rule: "no_such_dimension > 3")
        try await harness.waitUntilCaughtUp()
        let broken = await statusOf { _ = try await harness.targets("BROKEN") }
        #expect(broken?.code == .failedPrecondition)
        #expect(await statusOf { _ = try await harness.targets("R2", k: 10_001) }?.fieldViolations.first?.field == "k")
        try await harness.stop()
    }

    @Test func aReplicaStartedLaterGivesTheSameAnswers() async throws {
        var harness = try await Self.seeded()
        let second = try await harness.addReplica()
        try await harness.waitUntilCaughtUp()
        let late = second.client(token: "office")
        for customer in ["C3", "LOW", "PRO", "FROZEN", "NEW", "OLD"] {
            for product in ["R2", "R5", "MM"] {
                let first = try await harness.decide(customer, product)
                let other = try await harness.decide(customer, product, client: late)
                #expect(first.decision == other.decision && first.reasons == other.reasons)
            }
            let mine = try await harness.recommend(customer), theirs = try await harness.recommend(customer, client: late)
            #expect(mine == theirs, "\(mine) vs \(theirs)")
        }
        for product in ["R2", "R5", "MM"] {
            #expect(try await harness.targets(product) == (try await harness.targets(product, client: late)))
        }
        let status = try await late.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
        #expect(status.customers == 6 && status.products == 3 && status.ready)
        try await harness.stop()
    }
}
