import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMStore
import Foundation
import Testing
@testable import ProductsService

/// ImportOrders: the order history of the previous system, recorded as it was.
@Suite struct OrderImportTests {
    static func historical(_ id: String, daysAgo: Int64, fen: Int64 = 500_000, suitability: Crm_Products_V1_SuitabilityOutcome = .match) -> Crm_Products_V1_Order {
        var order = ProductsHarness.order(id, fen: fen)
        order.acceptedAt = .with { $0.unixMillis = currentUnixMillis() - daysAgo * BeijingCalendar.millisPerDay }
        order.suitability = suitability
        order.suitabilityRuleVersion = "legacy-2025"
        return order
    }

    func importing(_ harness: ProductsHarness, _ orders: [Crm_Products_V1_Order]) async throws -> Crm_Products_V1_ImportOrdersResponse {
        try await harness.service.client(token: "office").unary(
            Crm_Products_V1_Products.importOrders, Crm_Products_V1_ImportOrdersRequest.with { $0.orders = orders })
    }

    @Test func historyIsRecordedAsItWasOnceAndInTimeOrder() async throws {
        let harness = try await ProductsHarness.start()
        try await harness.upsert(ProductsHarness.product("P1"))
        let batch = [Self.historical("H2", daysAgo: 30), Self.historical("H1", daysAgo: 90)]
        let first = try await importing(harness, batch)
        #expect(first.imported == 2 && first.duplicates == 0)
        let again = try await importing(harness, batch)
        #expect(again.imported == 0 && again.duplicates == 2)

        let feed = try await harness.changes(after: 0).filter { $0.order.orderID.hasPrefix("H") }
        #expect(feed.map(\.order.orderID) == ["H1", "H2"])
        #expect(feed[0].at.unixMillis == batch[1].acceptedAt.unixMillis)
        #expect(feed[0].order.suitabilityRuleVersion == "legacy-2025")
        #expect(feed[0].order.productVersion == 1)
        try await harness.stop()
    }

    @Test func aBadOrderRefusesTheWholeBatchNamingItsIndex() async throws {
        let harness = try await ProductsHarness.start()
        try await harness.upsert(ProductsHarness.product("P1"))
        func refusal(_ orders: [Crm_Products_V1_Order]) async -> RPCError? {
            await statusOf { _ = try await importing(harness, orders) }
        }
        var future = Self.historical("F", daysAgo: -2)
        #expect(await refusal([Self.historical("A", daysAgo: 3), future])?.fieldViolations.first?.field == "orders[1].accepted_at")
        future.clearAcceptedAt()
        #expect(await refusal([future])?.fieldViolations.first?.field == "orders[0].accepted_at")
        #expect(await refusal([Self.historical("Z", daysAgo: 3, fen: 0)])?.fieldViolations.first?.field == "orders[0].amount.minor_units")
        #expect(await refusal([Self.historical("U", daysAgo: 3, suitability: .unspecified)])?.fieldViolations.first?.field == "orders[0].suitability")
        var unknown = Self.historical("N", daysAgo: 3)
        unknown.productCode = "NOPE"
        let notFound = await refusal([Self.historical("OK", daysAgo: 4), unknown])
        #expect(notFound?.code == .notFound)
        #expect(notFound?.fieldViolations.first?.field == "orders[1].product_code")
        var changed = Self.historical("OK", daysAgo: 4)
        _ = try await importing(harness, [changed])
        changed.amount.minorUnits += 1
        #expect(await refusal([changed])?.code == .alreadyExists)
        // Nothing of the refused batches was written: only OK is in the feed.
        #expect(try await harness.changes(after: 0).compactMap { if case .order(let order)? = $0.body { return order.orderID } else { return nil } } == ["OK"])
        // Only head office (or an operator) may import.
        let denied = await statusOf { _ = try await harness.web.unary(Crm_Products_V1_Products.importOrders, Crm_Products_V1_ImportOrdersRequest()) }
        #expect(denied?.code == .permissionDenied)
        try await harness.stop()
    }
}
