import CRMProtos
import Testing
@testable import CompensationService

/// The key a profiles event is recorded under: readable for ordinary ids, and never the same text
/// for two different events, whatever their customer ids and idempotency keys hold.
@Suite struct ProfilesEventIdentityTests {
    typealias I = ProfilesEventIdentity

    @Test func ordinaryIdsReadAsTheyAre() {
        #expect(I.key(.trade, customerID: "C000001", idempotencyKey: "T-2025-03-01-17") == "pe:trade:C000001:T-2025-03-01-17")
        #expect(I.key(.marginInterest, customerID: "C2", idempotencyKey: "I1") == "pe:margin_interest:C2:I1")
        #expect(I.key(.fundTransfer, customerID: "C2", idempotencyKey: "F1") == "pe:fund_transfer:C2:F1")
    }

    @Test func colonsAndPercentsInACustomerIdAreEscapedSoNoTwoEventsShareAKey() {
        // Unescaped, both would read "pe:trade:A:B:C".
        let first = I.key(.trade, customerID: "A:B", idempotencyKey: "C")
        let second = I.key(.trade, customerID: "A", idempotencyKey: "B:C")
        #expect(first == "pe:trade:A%3AB:C")
        #expect(second == "pe:trade:A:B:C")
        #expect(first != second)
        // A literal "%3A" in an id is not mistaken for an escaped colon.
        #expect(I.key(.trade, customerID: "A%3AB", idempotencyKey: "C") == "pe:trade:A%253AB:C")
        #expect(I.key(.trade, customerID: "A%3AB", idempotencyKey: "C") != first)
    }

    @Test func keysReadBackIntoTheirParts() {
        let cases: [(I.Kind, String, String)] = [
            (.trade, "C1", "T1"), (.fundTransfer, "A:B%", "k:e:y"), (.marginInterest, "客户:1", "键"), (.trade, "C1", ""),
            (.trade, "C1", "\u{301}combining first"), (.trade, "%%", "%3A"),
        ]
        for (kind, customer, key) in cases {
            let parsed = I.parse(I.key(kind, customerID: customer, idempotencyKey: key))
            #expect(parsed?.kind == kind && parsed?.customerID == customer && parsed?.idempotencyKey == key, "\(kind) \(customer) \(key)")
        }
        // Legacy ids and other sources' ids are not identities.
        #expect(I.parse("pe:17") == nil)
        #expect(I.parse("order:O1") == nil)
        #expect(I.parse("pe:trade:A%3XB:C") == nil)
    }

    @Test func onlyTheKindsCompensationRecordsHaveAKey() {
        #expect(I.key(of: CompensationHarness.trade(9, customer: "C1", on: (2025, 3, 3), commission: 1, fees: 0, amount: 1)) == "pe:trade:C1:T9")
        #expect(I.key(of: CompensationHarness.interest(9, customer: "C1", on: (2025, 3, 3), fen: 1)) == "pe:margin_interest:C1:I9")
        let position = Crm_Profiles_V1_LoggedEvent.with {
            $0.eventID = 9
            $0.dailyPosition = .with { $0.idempotencyKey = "P9"; $0.customerID = "C1" }
        }
        #expect(I.key(of: position) == nil)
    }
}
