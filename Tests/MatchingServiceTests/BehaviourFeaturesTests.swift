import CRMSuitability
import Testing
@testable import MatchingService

/// The per-family behaviour features at an instant: whole-day windows, only what came before the
/// instant, and the replica forgetting nothing that can still count.
struct BehaviourFeaturesTests {
    /// 2026-03-10 00:00 Beijing, and an instant `hours` after it.
    static let day = BusinessDays.day(ofMillis: 1_773_072_000_000)
    static func at(day offset: Int32, hour: Int64 = 0) -> Int64 {
        BusinessDays.millis(ofDay: day + offset) + hour * 3_600_000
    }

    static func slot(_ values: [Float], _ family: Int, _ slot: BehaviourFeatures.Slot) -> Float {
        BehaviourFeatures.family(values, family)[slot.rawValue]
    }

    @Test func windowsAreWholeDaysBeforeTheInstantsDayPlusItsOwnPartBeforeTheInstant() {
        let bond = 1, equity = 3
        let events = [
            BehaviourEvent(at: Self.at(day: -7, hour: 1), kind: .view, family: bond),    // 7 days before: in 7d
            BehaviourEvent(at: Self.at(day: -8, hour: 23), kind: .view, family: bond),   // 8 days: 30d only
            BehaviourEvent(at: Self.at(day: -90), kind: .view, family: bond),            // 90 days: 90d
            BehaviourEvent(at: Self.at(day: -91), kind: .view, family: bond),            // too old to count
            BehaviourEvent(at: Self.at(day: 0, hour: 9), kind: .view, family: bond),     // today, before noon
            BehaviourEvent(at: Self.at(day: 0, hour: 13), kind: .view, family: bond),    // after the instant
            BehaviourEvent(at: Self.at(day: -3), kind: .contact, family: equity),
            BehaviourEvent(at: Self.at(day: -31), kind: .contact, family: nil),          // too old to count
            BehaviourEvent(at: Self.at(day: -20), kind: .contact, family: nil),
            BehaviourEvent(at: Self.at(day: -400), kind: .subscription, family: bond, amountFen: 12_345),
            BehaviourEvent(at: Self.at(day: -5), kind: .subscription, family: bond, amountFen: 100_000),
            BehaviourEvent(at: Self.at(day: -1), kind: .redemption, family: bond, amountFen: 50_000),
        ]
        let noon = Self.at(day: 0, hour: 12)
        let values = BehaviourFeatures.compute(events.reversed(), at: noon)
        #expect(Self.slot(values, bond, .views7) == 2)
        #expect(Self.slot(values, bond, .views30) == 3)
        #expect(Self.slot(values, bond, .views90) == 4)
        #expect(Self.slot(values, bond, .daysSinceView) == 0)
        #expect(Self.slot(values, bond, .orders) == 2)
        #expect(Self.slot(values, bond, .orderAmount) == 1_123.45)
        #expect(Self.slot(values, bond, .daysSinceOrder) == 5)
        #expect(Self.slot(values, bond, .redemptions) == 1)
        #expect(Self.slot(values, equity, .familyContacts7) == 1 && Self.slot(values, bond, .familyContacts7) == 0)
        #expect(Self.slot(values, bond, .contacts7) == 1 && Self.slot(values, bond, .contacts30) == 2)
        #expect(Self.slot(values, equity, .daysSinceFamilyContact) == 3 && Self.slot(values, bond, .daysSinceFamilyContact).isNaN)
        #expect(Self.slot(values, bond, .daysSinceContact) == 3)
        #expect(Self.slot(values, equity, .views90) == 0 && Self.slot(values, equity, .daysSinceView).isNaN)

        // At the day's first instant nothing of the day counts, and the 7 days are the 7 before.
        let midnight = BehaviourFeatures.compute(events, at: Self.at(day: 0))
        #expect(Self.slot(midnight, bond, .views7) == 1)
        #expect(Self.slot(midnight, bond, .daysSinceView) == 7)
        // Anywhere in the day the figures are the same until an event arrives.
        #expect(BehaviourFeatures.compute(events.filter { $0.at < noon }, at: Self.at(day: 0, hour: 23)).map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func theReplicasCopyForgetsOnlyWhatCanNoLongerCount() {
        var copy = BehaviourCopy()
        let events = [
            BehaviourEvent(at: Self.at(day: -120), kind: .view, family: 2),
            BehaviourEvent(at: Self.at(day: -60), kind: .view, family: 2),
            BehaviourEvent(at: Self.at(day: -40), kind: .contact, family: 2),
            BehaviourEvent(at: Self.at(day: -10), kind: .contact, family: nil),
            BehaviourEvent(at: Self.at(day: -700), kind: .subscription, family: 2, amountFen: 1_000),
        ]
        // Out of order on purpose: the copy keeps each customer's list in time order.
        for event in events.reversed() { copy.add(event, row: 3) }
        #expect(copy.events[3].map(\.at) == events.map(\.at).sorted())
        let before = copy.features(row: 3, at: Self.at(day: 0, hour: 8))
        copy.forget(before: Self.day)
        #expect(copy.events[3].count == 3, "the old view and the old contact are gone, the order stays")
        #expect(copy.features(row: 3, at: Self.at(day: 0, hour: 8)).map(\.bitPattern) == before.map(\.bitPattern))
    }

    /// The event log can run ahead of the products feed: a contact about a product the copy does
    /// not hold yet counts as a contact at once, and as one about the product's family once the
    /// product arrives.
    @Test func aContactAboutAProductNotYetInTheCopyGetsItsFamilyWhenTheProductArrives() throws {
        var memory = ReplicaMemory(rules: SuitabilityRules(assessmentValidityYears: 2))
        memory.applyBehaviour(BehaviourEvent(at: Self.at(day: -2), kind: .contact, family: nil), customerID: "C1", productCode: "EQ9")
        let row = try #require(memory.customers.row(of: "C1"))
        let noon = Self.at(day: 0, hour: 12)
        var values = memory.behaviour.features(row: row, at: noon)
        #expect(Self.slot(values, 3, .contacts7) == 1 && Self.slot(values, 3, .familyContacts7) == 0)
        memory.applyProduct(.with { $0.productCode = "EQ9"; $0.type = .fundEquity; $0.riskLevel = .r4; $0.status = .onSale })
        values = memory.behaviour.features(row: row, at: noon)
        #expect(Self.slot(values, 3, .familyContacts7) == 1 && Self.slot(values, 3, .daysSinceFamilyContact) == 2)
        #expect(memory.unresolved.isEmpty)
    }

    /// The event log's follower looks families up before it writes the store and applies the page
    /// to memory; a product arriving in between must not leave the event without its family for
    /// good (it did: `PartitionedMatchingTests` once saw one replica score a contact without its
    /// family while the other, whose products came first, scored it with).
    @Test func aContactWhoseProductArrivedAfterItsFamilyWasLookedUpTakesTheFamily() throws {
        var memory = ReplicaMemory(rules: SuitabilityRules(assessmentValidityYears: 2))
        memory.applyProduct(.with { $0.productCode = "EQ9"; $0.type = .fundEquity; $0.riskLevel = .r4; $0.status = .onSale })
        memory.applyBehaviour(BehaviourEvent(at: Self.at(day: -2), kind: .contact, family: nil), customerID: "C1", productCode: "EQ9")
        let row = try #require(memory.customers.row(of: "C1"))
        let values = memory.behaviour.features(row: row, at: Self.at(day: 0, hour: 12))
        #expect(Self.slot(values, 3, .contacts7) == 1)
        #expect(Self.slot(values, 3, .familyContacts7) == 1 && Self.slot(values, 3, .daysSinceFamilyContact) == 2)
        #expect(memory.unresolved.isEmpty)
    }

    @Test func recentSalesAreTheThirtyDaysBeforeTheDay() {
        let times = [Self.at(day: -31), Self.at(day: -30), Self.at(day: -1, hour: 23), Self.at(day: 0, hour: 1)]
        #expect(BehaviourCopy.recentSales(times, day: Self.day) == 2)
    }
}
