import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMStore
import NIOCore
import Testing
@testable import ProductsService

/// Orders: bad input, idempotency, the suitability gate's paths; advisory packages.
@Suite struct OrderTests {
    /// A product on sale, its template, and C1's signed contract (mismatch not confirmed).
    static func seeded(matching: RPCClient? = nil, settings: [String: String] = [:]) async throws -> ProductsHarness {
        let harness = try await ProductsHarness.start(matching: matching, settings: settings)
        try await harness.upsert(ProductsHarness.product("P1"))
        try await harness.putTemplate("P1")
        _ = try await harness.sign("C1", "P1")
        return harness
    }

    @Test func eachBadOrderGetsAClearStatusNamingTheField() async throws {
        let gate = FixedGate(.match)
        let harness = try await Self.seeded()
        let orders = harness.orderHandlers(gate: gate)
        func refusal(_ order: Crm_Products_V1_Order) async -> RPCError? {
            await statusOf { _ = try await orders.place(.with { $0.order = order }, principal: nil) }
        }
        func expectRefused(_ order: Crm_Products_V1_Order, _ code: StatusCode, _ field: String, _ comment: Comment) async {
            let error = await refusal(order)
            #expect(error?.code == code, comment)
            #expect(error?.fieldViolations.map(\.field).contains(field) == true, comment)
            #expect(error?.message.contains(field) == true, comment)
        }
        var order = ProductsHarness.order("O1")
        order.productCode = "NOPE"
        await expectRefused(order, .notFound, "order.product_code", "unknown product")
        await expectRefused(ProductsHarness.order("O1", fen: 0), .invalidArgument, "order.amount.minor_units", "zero amount")
        await expectRefused(ProductsHarness.order("O1", fen: -5), .invalidArgument, "order.amount.minor_units", "negative amount")
        await expectRefused(ProductsHarness.order("O1", fen: 99_999), .invalidArgument, "order.amount.minor_units", "below the minimum")
        order = ProductsHarness.order("O1")
        order.amount.currency = "USD"
        await expectRefused(order, .invalidArgument, "order.amount.currency", "another currency")
        await expectRefused(ProductsHarness.order("O1", customer: "C9"), .failedPrecondition, "order.customer_id", "no contract")
        order = ProductsHarness.order("")
        order.channel = .clientManager
        order.managerID = ""
        await expectRefused(order, .invalidArgument, "order.order_id", "no id")
        #expect(await refusal(order)?.fieldViolations.map(\.field).contains("order.manager_id") == true)

        // Not on sale: suspended, then a window that ended yesterday, then one that opens tomorrow.
        var product = ProductsHarness.product("P1", status: .suspended)
        try await harness.upsert(product)
        await expectRefused(ProductsHarness.order("O1"), .failedPrecondition, "order.product_code", "suspended")
        product.status = .onSale
        product.salesWindow = .with { $0.start = ProductsHarness.day(-10); $0.end = ProductsHarness.day(-1) }
        try await harness.upsert(product)
        await expectRefused(ProductsHarness.order("O1"), .failedPrecondition, "order.product_code", "window ended")
        product.salesWindow = .with { $0.start = ProductsHarness.day(1) }
        try await harness.upsert(product)
        await expectRefused(ProductsHarness.order("O1"), .failedPrecondition, "order.product_code", "window not open")

        // Matching was never asked, nothing was stored, and the feed holds no order.
        #expect(gate.callCount == 0)
        let feed = try await harness.changes(after: 0)
        #expect(!feed.contains { $0.kind == .orderPlaced })
        try await harness.stop()
    }

    @Test func salesWindowsIncludeBothEnds() throws {
        var product = ProductsHarness.product("P1")
        product.salesWindow = .with { $0.start = .init(year: 2026, month: 6, day: 1); $0.end = .init(year: 2026, month: 6, day: 30) }
        let order = ProductsHarness.order("O1")
        for day in [Int32(1), 15, 30] {
            try SaleRules.check(order, against: product, today: .init(year: 2026, month: 6, day: day))
        }
        #expect(throws: Refusal.self) { try SaleRules.check(order, against: product, today: .init(year: 2026, month: 5, day: 31)) }
        #expect(throws: Refusal.self) { try SaleRules.check(order, against: product, today: .init(year: 2026, month: 7, day: 1)) }
        // Redemptions are not held to the minimum purchase.
        let small = ProductsHarness.order("O2", fen: 1, side: .redemption)
        try SaleRules.check(small, against: product, today: .init(year: 2026, month: 6, day: 2))
        // Beijing dates: 2026-06-30 16:00 UTC is already 1 July in Beijing.
        #expect(BeijingCalendar.date(ofUnixMillis: 1_782_835_200_000).isoString == "2026-07-01")
        #expect(BeijingCalendar.date(ofUnixMillis: 1_782_835_199_999).isoString == "2026-06-30")
    }

    @Test func ordersAreIdempotentByOrderID() async throws {
        let gate = FixedGate(.match)
        let harness = try await Self.seeded()
        let orders = harness.orderHandlers(gate: gate)
        let order = ProductsHarness.order("O1")
        let first = try await orders.place(.with { $0.order = order }, principal: nil)
        #expect(first.created)
        #expect(first.order.suitability == .match)
        #expect(first.order.suitabilityRuleVersion == "rules-v7")
        #expect(first.order.productVersion == 1)
        #expect(first.order.contractID == 1)
        let again = try await orders.place(.with { $0.order = order }, principal: nil)
        #expect(!again.created)
        #expect(again.order == first.order)
        #expect(gate.callCount == 1)  // the repeat is answered from the store

        var changed = order
        changed.amount.minorUnits += 1
        let conflict = await statusOf { _ = try await orders.place(.with { $0.order = changed }, principal: nil) }
        #expect(conflict?.code == .alreadyExists)
        #expect(conflict?.fieldViolations.first?.field == "order.order_id")

        // Even once the product is suspended, the same order id and content return the stored order.
        try await harness.upsert(ProductsHarness.product("P1", status: .suspended))
        #expect(try await orders.place(.with { $0.order = order }, principal: nil).order == first.order)
        let feed = try await harness.changes(after: 0).filter { $0.kind == .orderPlaced }
        #expect(feed.map(\.order.orderID) == ["O1"])
        try await harness.stop()
    }

    @Test func theSuitabilityGateDecides() async throws {
        let harness = try await Self.seeded()
        try await harness.upsert(ProductsHarness.product("P2", risk: .r5))
        try await harness.putTemplate("P2")
        _ = try await harness.sign("C2", "P2", mismatchConfirmed: true)
        _ = try await harness.sign("C1", "P2")

        // MATCH: accepted.
        let match = try await harness.orderHandlers(gate: FixedGate(.match)).place(.with { $0.order = ProductsHarness.order("O1") }, principal: nil)
        #expect(match.created && match.order.suitability == .match)

        // MISMATCH without the confirmation: refused, saying so.
        let mismatch = harness.orderHandlers(gate: FixedGate(.mismatch, reasons: [("RISK_ABOVE_TOLERANCE", "R5 product, C3 customer")]))
        let unconfirmed = await statusOf { _ = try await mismatch.place(.with { $0.order = ProductsHarness.order("O2", product: "P2") }, principal: nil) }
        #expect(unconfirmed?.code == .failedPrecondition)
        #expect(unconfirmed?.message.contains("confirming the mismatch warning") == true)
        #expect(unconfirmed?.fieldViolations.map(\.description) == ["RISK_ABOVE_TOLERANCE: R5 product, C3 customer"])

        // MISMATCH with the signed confirmation: accepted, and the reasons kept with the order.
        let confirmed = try await mismatch.place(.with { $0.order = ProductsHarness.order("O3", customer: "C2", product: "P2") }, principal: nil)
        #expect(confirmed.created)
        #expect(confirmed.order.suitability == .mismatchConfirmed)
        #expect(confirmed.order.suitabilityReasons.map(\.code) == ["RISK_ABOVE_TOLERANCE"])

        // PROHIBITED: refused with every reason, even with the mismatch confirmed.
        let prohibited = harness.orderHandlers(gate: FixedGate(.prohibited, reasons: [
            ("ASSESSMENT_EXPIRED", "the risk assessment expired on 2026-02-28"), ("RISK_ABOVE_TOLERANCE", "R5 product, C1 customer"),
        ]))
        let refused = await statusOf { _ = try await prohibited.place(.with { $0.order = ProductsHarness.order("O4", customer: "C2", product: "P2") }, principal: nil) }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.message.contains("prohibited") == true)
        #expect(refused?.fieldViolations.map(\.description) == [
            "ASSESSMENT_EXPIRED: the risk assessment expired on 2026-02-28", "RISK_ABOVE_TOLERANCE: R5 product, C1 customer",
        ])

        // No decision at all is never an acceptance.
        let undecided = await statusOf { _ = try await harness.orderHandlers(gate: FixedGate(.unspecified)).place(.with { $0.order = ProductsHarness.order("O5") }, principal: nil) }
        #expect(undecided?.code == .unavailable)

        // A redemption is not a sale: no gate, even a prohibiting one.
        let redemption = try await prohibited.place(.with { $0.order = ProductsHarness.order("O6", fen: 10, side: .redemption) }, principal: nil)
        #expect(redemption.order.suitability == .notChecked)

        let accepted = try await harness.changes(after: 0).filter { $0.kind == .orderPlaced }.map(\.order.orderID)
        #expect(accepted == ["O1", "O3", "O6"])
        try await harness.stop()
    }

    @Test func theGateAsksMatchingOverTheWire() async throws {
        let matching = try await FakeMatching.start { request in
            request.customerID == "C1"
                ? .with { $0.decision = .match; $0.ruleVersion = "fake-1" }
                : .with {
                    $0.decision = .prohibited
                    $0.reasons = [.with { $0.code = "RISK_ABOVE_TOLERANCE"; $0.text = "R3 product, C1 customer" }]
                    $0.ruleVersion = "fake-1"
                }
        }
        let harness = try await Self.seeded(matching: matching.client())
        _ = try await harness.sign("C7", "P1")
        let accepted = try await harness.place(ProductsHarness.order("O1"))
        #expect(accepted.created)
        #expect(accepted.order.suitabilityRuleVersion == "fake-1")
        let asked = matching.requests
        #expect(asked.count == 1)
        #expect(asked.first?.orderID == "O1")
        #expect(asked.first?.amount.minorUnits == 500_000)
        let refused = await statusOf { _ = try await harness.place(ProductsHarness.order("O2", customer: "C7")) }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.fieldViolations.map(\.description) == ["RISK_ABOVE_TOLERANCE: R3 product, C1 customer"])
        try await harness.stop()
        await matching.stop()
    }

    @Test func matchingGetsTheSmallerOfItsTimeoutAndWhatIsLeftOfTheOrdersDeadline() async throws {
        let matching = try await FakeMatching.start { _ in .with { $0.decision = .match; $0.ruleVersion = "fake-1" } }
        // Deadlines far longer than any call takes, so a busy machine cannot make the test: the
        // configured limit is 10 minutes.
        let harness = try await Self.seeded(matching: matching.client(), settings: ["suitability.timeout_ms": "600000"])
        // The caller allows 5 minutes: matching is asked with no more than that.
        let web = harness.service.client(token: "web")
        _ = try await web.unary(Crm_Products_V1_Products.placeOrder, Crm_Products_V1_PlaceOrderRequest.with { $0.order = ProductsHarness.order("O1") }, options: .timeout(.seconds(300)))
        // The caller allows an hour: matching gets the configured 10 minutes at most.
        _ = try await web.unary(Crm_Products_V1_Products.placeOrder, Crm_Products_V1_PlaceOrderRequest.with { $0.order = ProductsHarness.order("O2") }, options: .timeout(.seconds(3_600)))
        let left = matching.deadlinesLeft
        #expect(left.count == 2)
        #expect(left.allSatisfy { $0 != nil })
        // Typed one step at a time: under load the type checker gave up on the one-line form.
        let firstLeft: TimeAmount? = left.first ?? nil, lastLeft: TimeAmount? = left.last ?? nil
        #expect(firstLeft.map { (amount: TimeAmount) -> Bool in amount <= TimeAmount.seconds(300) && amount > TimeAmount.zero } == true, "\(left)")
        #expect(lastLeft.map { (amount: TimeAmount) -> Bool in amount <= TimeAmount.seconds(600) && amount > TimeAmount.seconds(300) } == true, "\(left)")
        // The rule itself, at fixed instants.
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        #expect(MatchingSuitabilityGate.timeout(configured: 3_000, callerDeadline: now + .milliseconds(700), now: now) == .milliseconds(700))
        #expect(MatchingSuitabilityGate.timeout(configured: 3_000, callerDeadline: now + .seconds(9), now: now) == .milliseconds(3_000))
        #expect(MatchingSuitabilityGate.timeout(configured: 3_000, callerDeadline: nil, now: now) == .milliseconds(3_000))
        #expect(MatchingSuitabilityGate.timeout(configured: 3_000, callerDeadline: now - .seconds(1), now: now) == .milliseconds(1))
        await web.close()
        try await harness.stop()
        await matching.stop()
    }

    @Test func matchingOutOfReachMeansUnavailable() async throws {
        // A port that was just listening and is now closed.
        let gone = try await FakeMatching.start { _ in .with { $0.decision = .match } }
        let client = gone.client()
        await gone.stop()
        let harness = try await Self.seeded(matching: client, settings: ["suitability.timeout_ms": "300"])
        let refused = await statusOf { _ = try await harness.place(ProductsHarness.order("O1")) }
        #expect(refused?.code == .unavailable)
        #expect(refused?.message.contains("not accepted unchecked") == true)
        let notStored = await statusOf {
            _ = try await harness.web.unary(Crm_Products_V1_Products.getOrder, Crm_Products_V1_GetOrderRequest.with { $0.orderID = "O1" })
        }
        #expect(notStored?.code == .notFound)
        try await harness.stop()

        // No matching configured at all: the same.
        let alone = try await Self.seeded()
        let noPeer = await statusOf { _ = try await alone.place(ProductsHarness.order("O1")) }
        #expect(noPeer?.code == .unavailable)
        try await alone.stop()
    }

    @Test func aManagersWorkbenchCreditsOnlyItsManager() async throws {
        let harness = try await Self.seeded()
        let profiles = try await SalesAccessTests.profilesWithTwoBooks()
        // Profiles stays up throughout: a client with no deadline, so a machine that stalls the test
        // cannot turn the book check into UNAVAILABLE (SalesAccessTests covers profiles going away).
        let orders = harness.orderHandlers(gate: FixedGate(.match), access: SalesAccess(profiles: profiles.client(token: "service")))
        let manager = Principal(name: "manager:M1", roles: ["workbench"], attributes: ["manager_id": "M1"])
        var order = ProductsHarness.order("O1")
        order.managerID = ""
        #expect(try await orders.place(.with { $0.order = order }, principal: manager).order.managerID == "M1")
        order = ProductsHarness.order("O2")
        order.managerID = "M2"
        let other = await statusOf { _ = try await orders.place(.with { $0.order = order }, principal: manager) }
        #expect(other?.code == .permissionDenied)
        // The feed and product writes are not the workbench's.
        let client = harness.service.client(token: "m1")
        let feed = await statusOf { _ = try await harness.changes(after: 0, client: client) }
        #expect(feed?.code == .permissionDenied)
        await client.close()
        try await harness.stop()
        try await profiles.stop()
    }

    @Test func customersSubscribeToAdvisoryPackages() async throws {
        try await withService(await ProductsHarness.start()) { harness in
            try await harness.upsert(ProductsHarness.product("ADV1", type: .advisoryPackage, risk: .r1))
            try await harness.upsert(ProductsHarness.product("P1"))
            func subscribe(_ fill: (inout Crm_Products_V1_PackageSubscription) -> Void) async throws -> Crm_Products_V1_SubscribePackageResponse {
                try await harness.web.unary(Crm_Products_V1_Products.subscribePackage, Crm_Products_V1_SubscribePackageRequest.with {
                    $0.subscription = .with {
                        $0.customerID = "C1"
                        $0.packageCode = "ADV1"
                        $0.feeSchedule = .with { $0.monthlyFee = .with { $0.minorUnits = 29_900 } }
                        $0.startDate = .init(year: 2026, month: 7, day: 1)
                        fill(&$0)
                    }
                })
            }
            let first = try await subscribe { _ in }
            #expect(first.created)
            #expect(first.subscription.feeSchedule.monthlyFee.minorUnits == 29_900)
            #expect(try await subscribe { _ in }.created == false)
            let otherTerms = await statusOf { _ = try await subscribe { $0.feeSchedule = .with { $0.assetPercentageBp = 50 } } }
            #expect(otherTerms?.code == .alreadyExists)
            let percentage = try await subscribe { $0.customerID = "C2"; $0.feeSchedule = .with { $0.assetPercentageBp = 50 } }
            #expect(percentage.subscription.feeSchedule.assetPercentageBp == 50)
            let notPackage = await statusOf { _ = try await subscribe { $0.packageCode = "P1" } }
            #expect(notPackage?.code == .failedPrecondition)
            #expect(notPackage?.fieldViolations.first?.field == "subscription.package_code")
            // A date that is no date is refused by the contract's checks before the handler looks at the
            // rest; without it, the handler names what it finds.
            let notADate = await statusOf { _ = try await subscribe { $0.clearFeeSchedule(); $0.startDate = .init(year: 2026, month: 2, day: 30) } }
            #expect(notADate?.code == .invalidArgument)
            #expect(notADate?.fieldViolations.map(\.field) == ["subscription.start_date"])
            let noFee = await statusOf { _ = try await subscribe { $0.clearFeeSchedule() } }
            #expect(noFee?.fieldViolations.map(\.field) == ["subscription.fee_schedule"])
            let unknown = await statusOf { _ = try await subscribe { $0.packageCode = "NOPE" } }
            #expect(unknown?.code == .notFound)
        }
    }
}
