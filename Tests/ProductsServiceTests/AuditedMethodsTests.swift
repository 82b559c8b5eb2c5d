import CRMAudit
import CRMProtos
import CRMRPC
import CRMStore
import CRMTestSupport
import Testing
@testable import ProductsService

/// Every products method that returns a customer's sale records or acts for a customer leaves a
/// record in the trail, holding who called, the method, the customers and the status the caller
/// got: one row per method, real calls over the wire.
@Suite struct AuditedMethodsTests {
    @Test func everyAuditedProductsMethodRecordsWhatItShouldHold() async throws {
        let matching = try await FakeMatching.start { _ in .with { $0.decision = .match; $0.ruleVersion = "fake-1" } }
        let peer = matching.client()
        try await withService(try await ProductsHarness.start(matching: peer)) { harness in
            let office = harness.service.client(token: "office")
            defer { Task { await office.close() } }
            try await harness.upsert(ProductsHarness.product("P1"))
            try await harness.upsert(ProductsHarness.product("ADV1", type: .advisoryPackage, risk: .r1))
            try await harness.putTemplate("P1")
            let signed = try await harness.sign("C1", "P1")
            let historical = Crm_Products_V1_Order.with {
                $0 = ProductsHarness.order("H1", customer: "C3")
                $0.acceptedAt = .with { $0.unixMillis = currentUnixMillis() - 30 * BeijingCalendar.millisPerDay }
                $0.suitability = .match
                $0.suitabilityRuleVersion = "legacy-2025"
            }
            let web = harness.web
            typealias P = Crm_Products_V1_Products
            let cases: [AuditCase] = [
                AuditCase(P.signContract.path, principal: "website", customers: ["C2"]) {
                    _ = try await harness.sign("C2", "P1")
                },
                AuditCase(P.getContract.path, principal: "head-office", customers: ["C1"]) {
                    _ = try await office.unary(P.getContract, .with { $0.contractID = signed.contractID })
                },
                AuditCase(P.verifyContract.path, principal: "website", customers: ["C1"]) {
                    _ = try await harness.verify(signed.contractID)
                },
                AuditCase(P.placeOrder.path, principal: "website", customers: ["C1"]) {
                    _ = try await harness.place(ProductsHarness.order("O1", customer: "C1"))
                },
                AuditCase(P.getOrder.path, principal: "head-office", customers: ["C1"]) {
                    _ = try await office.unary(P.getOrder, .with { $0.orderID = "O1" })
                },
                // Refused: recorded with the status, and no customer (none was returned).
                AuditCase(P.getOrder.path, principal: "head-office", customers: [], status: .notFound) {
                    _ = try await office.unary(P.getOrder, .with { $0.orderID = "O404" })
                },
                AuditCase(P.importOrders.path, principal: "head-office", customers: ["C3"]) {
                    _ = try await office.unary(P.importOrders, .with { $0.orders = [historical] })
                },
                AuditCase(P.subscribePackage.path, principal: "website", customers: ["C1"]) {
                    _ = try await web.unary(P.subscribePackage, .with {
                        $0.subscription = .with {
                            $0.customerID = "C1"
                            $0.packageCode = "ADV1"
                            $0.feeSchedule = .with { $0.monthlyFee = .with { $0.minorUnits = 29_900 } }
                            $0.startDate = ProductsHarness.day(0)
                        }
                    })
                },
            ]
            var router = Router()
            harness.service.service.register(into: &router)
            #expect(Set(cases.map(\.method)) == router.auditedMethods)
            for row in cases {
                let problems = try await row.mismatches(in: harness.service.auditTrail)
                #expect(problems.isEmpty, "\(row.method) \(row.status): \(problems)")
            }
        }
        await peer.close()
        await matching.stop()
    }
}
