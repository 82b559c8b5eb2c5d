import CRMProtos
import CRMRPC
@testable import CRMServiceHost
import CRMTestSupport
import Testing
@testable import ProductsService

/// Products' StreamChanges that waits for a change (`wait_ms`): a held read is answered with the
/// change committed while it waits, and a shutdown ends it instead of waiting it out.
@Suite struct ProductsFeedWaitTests {
    static func changes(_ client: RPCClient, after: UInt64, waitMs: UInt32) async throws -> [Crm_Products_V1_ChangeEvent] {
        // A deadline shorter than the longest wait: a held read nothing ends fails instead of passing.
        try await client.serverStreaming(
            Crm_Products_V1_Products.streamChanges,
            Crm_Products_V1_StreamChangesRequest.with { $0.afterSequence = after; $0.waitMs = waitMs },
            options: .timeout(.seconds(30))
        ).collect()
    }

    @Test func aHeldReadAnswersTheChangeCommittedWhileItWaits() async throws {
        try await withService(await ProductsHarness.start()) { harness in
            let office = harness.service.client(token: "office")
            try await harness.upsert(ProductsHarness.product("P1", risk: .r2))
            let commits = harness.service.service.feedCommits

            let held = Task { try await Self.changes(office, after: 1, waitMs: 60_000) }
            try await waitUntil { commits.waiting == 1 }
            try await harness.upsert(ProductsHarness.product("P2", risk: .r3))
            let answered = try await held.value
            #expect(answered.map(\.sequence) == [2])
            #expect(answered.first?.product.productCode == "P2")

            // Something after the cursor already: answered at once, whatever the wait.
            #expect(try await Self.changes(office, after: 1, waitMs: 60_000).map(\.sequence) == [2])
            // A wait that runs out ends the stream with nothing.
            #expect(try await Self.changes(office, after: 2, waitMs: 20).isEmpty)
            #expect(commits.waiting == 0)
            await office.close()
        }
    }

    @Test func aShutdownEndsAHeldReadInsteadOfWaitingItOut() async throws {
        // With the background work, as the executable runs: it stops before the server drains.
        let harness = try await ProductsHarness.start(runBackground: true)
        let office = harness.service.client(token: "office")
        let commits = harness.service.service.feedCommits
        let held = Task { try await Self.changes(office, after: 0, waitMs: 60_000) }
        try await waitUntil { commits.waiting == 1 }
        // The server drains only after the background work stopped; a held read not ended by then
        // would be cut off when the drain's grace runs out (an error here, not an empty answer).
        try await harness.stop()
        #expect(try await held.value.isEmpty)
        await office.close()
    }
}
