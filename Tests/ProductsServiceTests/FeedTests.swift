import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import ProductsService

/// The change feed: products, templates, contracts, orders and packages in one order, resumable.
@Suite struct FeedTests {
    @Test func theFeedResumesAcrossARestartWithNoGapOrRepeat() async throws {
        let harness = try await ProductsHarness.start()
        var product = ProductsHarness.product("P1", risk: .r2)
        try await harness.upsert(product)
        try await harness.putTemplate("P1")
        let contract = try await harness.sign("C1", "P1")
        _ = try await harness.orderHandlers(gate: FixedGate(.match)).place(.with { $0.order = ProductsHarness.order("O1") }, principal: nil)
        let all = try await harness.changes(after: 0)
        #expect(all.map(\.sequence) == [1, 2, 3, 4])
        #expect(all.map(\.kind) == [.productCreated, .templatePut, .contractSigned, .orderPlaced])
        #expect(all[2].contract.contractID == contract.contractID)
        #expect(all[2].contract.sha256 == contract.sha256)
        #expect(all[2].contract.signedText.isEmpty)
        #expect(all[3].customerID == "C1")
        #expect(all[3].order.productCode == "P1")
        let resumeAt = all[1].sequence
        try await harness.stop()

        // The service restarts on the same file; more changes arrive; the consumer resumes.
        let restarted = try await ProductsHarness.start(path: harness.path)
        product.riskLevel = .r3
        try await restarted.upsert(product)
        product.status = .suspended
        try await restarted.upsert(product)
        let rest = try await restarted.changes(after: resumeAt)
        #expect(rest.map(\.sequence) == [3, 4, 5, 6])
        #expect(rest.map(\.kind) == [.contractSigned, .orderPlaced, .productUpdated, .productStatusChanged])
        #expect(rest[2].product.riskLevel == .r3)
        #expect(rest.last?.product.status == .suspended)
        let limited = try await restarted.service.client(token: "office").serverStreaming(
            Crm_Products_V1_Products.streamChanges, Crm_Products_V1_StreamChangesRequest.with { $0.afterSequence = 4; $0.limit = 1 }).collect()
        #expect(limited.map(\.sequence) == [5])
        let website = await statusOf { _ = try await restarted.changes(after: 0, client: restarted.web) }
        #expect(website?.code == .permissionDenied)
        try await restarted.stop()
    }
}
