import Testing
import CRMProtos

/// The text a profiles event is stored under by compensation (income items, flows) and matching
/// (behaviour rows): readable for ordinary ids, never the same text for two different events
/// whatever their customer ids and idempotency keys hold, and byte for byte what both services
/// stored before they shared this function.
@Suite struct ProfilesEventIdentityTests {
    typealias I = ProfilesEventIdentity

    @Test func ordinaryIdsReadAsTheyAre() {
        #expect(I.key(.trade, customerID: "C000001", idempotencyKey: "T-2025-03-01-17") == "pe:trade:C000001:T-2025-03-01-17")
        #expect(I.key(.marginInterest, customerID: "C2", idempotencyKey: "I1") == "pe:margin_interest:C2:I1")
        #expect(I.key(.fundTransfer, customerID: "C2", idempotencyKey: "F1") == "pe:fund_transfer:C2:F1")
        #expect(I.key(.productView, customerID: "C1", idempotencyKey: "V1") == "pe:product_view:C1:V1")
        #expect(I.key(.serviceContact, customerID: "C1", idempotencyKey: "K1") == "pe:service_contact:C1:K1")
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
        // Matching's case: both escapes in one id, the key's own colons verbatim.
        #expect(I.key(.productView, customerID: "C:1%", idempotencyKey: "a:b") == "pe:product_view:C%3A1%25:a:b")
        #expect(I.key(.serviceContact, customerID: "%%", idempotencyKey: "%3A") == "pe:service_contact:%25%25:%3A")
        // Scalars other than % and : stay as they are, combining marks included.
        #expect(I.key(.trade, customerID: "客户:1\u{301}", idempotencyKey: "键") == "pe:trade:客户%3A1\u{301}:键")
    }

    @Test func keysReadBackIntoTheirParts() {
        let cases: [(I.Kind, String, String)] = [
            (.trade, "C1", "T1"), (.fundTransfer, "A:B%", "k:e:y"), (.marginInterest, "客户:1", "键"), (.trade, "C1", ""),
            (.trade, "C1", "\u{301}combining first"), (.trade, "%%", "%3A"), (.productView, "C:1%", "a:b"), (.serviceContact, "C1", "K1"),
        ]
        for (kind, customer, key) in cases {
            let parsed = I.parse(I.key(kind, customerID: customer, idempotencyKey: key))
            #expect(parsed?.kind == kind && parsed?.customerID == customer && parsed?.idempotencyKey == key, "\(kind) \(customer) \(key)")
        }
        // Legacy ids and other sources' ids are not identities.
        #expect(I.parse("pe:17") == nil)
        #expect(I.parse("order:O1") == nil)
        #expect(I.parse("pe:trade:A%3XB:C") == nil)
        #expect(I.parse("pe:position:C1:P1") == nil)
    }

    @Test func aLoggedEventHasAKeyOnlyAmongTheKindsAsked() {
        let events: [(I.Kind, String, Crm_Profiles_V1_LoggedEvent)] = [
            (.trade, "pe:trade:C%3A1:T9", .with { $0.trade = .with { $0.customerID = "C:1"; $0.idempotencyKey = "T9" } }),
            (.marginInterest, "pe:margin_interest:C%3A1:I9", .with { $0.marginInterest = .with { $0.customerID = "C:1"; $0.idempotencyKey = "I9" } }),
            (.fundTransfer, "pe:fund_transfer:C%3A1:F9", .with { $0.fundTransfer = .with { $0.customerID = "C:1"; $0.idempotencyKey = "F9" } }),
            (.productView, "pe:product_view:C%3A1:V9", .with { $0.productView = .with { $0.customerID = "C:1"; $0.idempotencyKey = "V9" } }),
            (.serviceContact, "pe:service_contact:C%3A1:K9", .with { $0.serviceContact = .with { $0.customerID = "C:1"; $0.idempotencyKey = "K9" } }),
        ]
        for (kind, expected, event) in events {
            #expect(I.key(of: event, among: [kind]) == expected)
            #expect(I.key(of: event, among: Set(I.Kind.allCases)) == expected)
            #expect(I.key(of: event, among: Set(I.Kind.allCases).subtracting([kind])) == nil, "\(kind) asked for other kinds")
        }
        let position = Crm_Profiles_V1_LoggedEvent.with { $0.dailyPosition = .with { $0.idempotencyKey = "P9"; $0.customerID = "C1" } }
        #expect(I.key(of: position, among: Set(I.Kind.allCases)) == nil)
        #expect(I.key(of: Crm_Profiles_V1_LoggedEvent(), among: Set(I.Kind.allCases)) == nil)
    }
}
