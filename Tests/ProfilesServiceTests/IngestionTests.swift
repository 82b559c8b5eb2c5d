import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import ProfilesService

/// Batched ingestion: idempotency keys, all-or-nothing batches, statuses that may not trade.
@Suite struct IngestionTests {
    @Test func aRetriedBatchCountsNothingTwice() async throws {
        let harness = try await ProfilesHarness.start()
        try await harness.upsert("C1")
        let batch = (1...1_000).map { ProfilesHarness.trade("T\($0)", customer: "C1") }
        let first = try await harness.ingestTrades(batch)
        #expect(first.accepted == 1_000)
        #expect(first.duplicates == 0)
        // The same batch after a timeout, and again after a restart of the service.
        let retried = try await harness.ingestTrades(batch)
        #expect(retried.accepted == 0)
        #expect(retried.duplicates == 1_000)
        try await harness.stop()
        let restarted = try await ProfilesHarness.start(path: harness.path)
        let overlap = try await restarted.ingestTrades(Array(batch[500...]) + [ProfilesHarness.trade("T1001", customer: "C1")])
        #expect(overlap.accepted == 1)
        #expect(overlap.duplicates == 500)
        #expect(try await restarted.eventCount() == 1_001)
        try await restarted.stop()
    }

    @Test func oneBadEventRefusesTheWholeBatchNamingIndexAndField() async throws {
        let harness = try await ProfilesHarness.start()
        try await harness.upsert("C1")
        var batch = (1...10).map { ProfilesHarness.trade("T\($0)", customer: "C1") }
        batch[3].amount.minorUnits = 0
        batch[7].side = .unspecified
        batch[8].tradedAt.unixMillis = 1_780_000_000  // seconds, not milliseconds
        let refused = await statusOf { _ = try await harness.ingestTrades(batch) }
        #expect(refused?.code == .invalidArgument)
        #expect(refused?.fieldViolations.map(\.field) == ["events[3].amount", "events[7].side", "events[8].traded_at"])
        #expect(try await harness.eventCount() == 0)

        // An unknown customer refuses the batch too, naming the event.
        let unknown = await statusOf { _ = try await harness.ingestTrades([ProfilesHarness.trade("T1", customer: "C1"), ProfilesHarness.trade("T2", customer: "NOPE")]) }
        #expect(unknown?.code == .notFound)
        #expect(unknown?.fieldViolations.map(\.field) == ["events[1].customer_id"])
        #expect(try await harness.eventCount() == 0)
        try await harness.stop()
    }

    @Test func onlyNormalAccountsTrade() async throws {
        let harness = try await ProfilesHarness.start()
        try await harness.upsert("OPEN", status: .normal)
        try await harness.upsert("GONE", status: .closed)
        try await harness.upsert("ICE", status: .frozen)
        let refused = await statusOf {
            _ = try await harness.ingestTrades([
                ProfilesHarness.trade("T1", customer: "OPEN"), ProfilesHarness.trade("T2", customer: "GONE"), ProfilesHarness.trade("T3", customer: "ICE"),
            ])
        }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.fieldViolations.map(\.field) == ["events[1].customer_id", "events[2].customer_id"])
        #expect(try await harness.eventCount() == 0)

        // Contacts and transfers are fine for any known customer (a closed one still gets a call).
        let contact = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, Crm_Profiles_V1_IngestServiceContactsRequest.with {
            $0.events = [.with {
                $0.idempotencyKey = "K1"; $0.customerID = "GONE"; $0.channel = .call; $0.staffID = "S1"; $0.topic = "win-back"
                $0.outcome = .declined; $0.contactedAt = .with { $0.unixMillis = 1_780_000_000_000 }
            }]
        })
        #expect(contact.accepted == 1)
        try await harness.stop()
    }

    @Test func ingestionNeedsTheIngestRole() async throws {
        let harness = try await ProfilesHarness.start()
        try await harness.upsert("C1")
        let manager = harness.service.client(token: "m1")
        let denied = await statusOf {
            _ = try await manager.unary(Crm_Profiles_V1_Profiles.ingestTrades, Crm_Profiles_V1_IngestTradesRequest.with { $0.events = [ProfilesHarness.trade("T1", customer: "C1")] })
        }
        #expect(denied?.code == .permissionDenied)
        await manager.close()
        try await harness.stop()
    }
}
