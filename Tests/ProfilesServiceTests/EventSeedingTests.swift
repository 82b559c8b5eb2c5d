import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMWorld
import Foundation
import GRDB
import SwiftProtobuf
import Testing
@testable import ProfilesService

/// Events appended straight to the store (`StoreSeeding.appendEvents`, for building large worlds)
/// must be exactly the rows ingestion writes for the same events, and fold into the same
/// dimensions: both go through `EventMapping`.
@Suite struct EventSeedingTests {
    /// Creates the world's customers as the loader does before their events: identity, the status
    /// changes made before them, every assessment.
    static func createCustomers(_ customers: [GeneratedCustomer], through client: RPCClient) async throws {
        for customer in customers {
            _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, customer.creation)
            for change in customer.statusChanges.prefix(customer.statusChangesBeforeEvents) {
                _ = try await client.unary(Crm_Profiles_V1_Profiles.changeAccountStatus, change)
            }
            for assessment in customer.assessments {
                _ = try await client.unary(Crm_Profiles_V1_Profiles.recordAssessment, assessment)
            }
        }
    }

    static func eventRows(_ harness: ProfilesHarness) async throws -> [[DatabaseValue]] {
        try await harness.service.database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, kind, idempotency_key, customer_id, day, at_millis, body FROM event ORDER BY id").map { Array($0.databaseValues) }
        }
    }

    static func dimensionRows(_ harness: ProfilesHarness) async throws -> [[DatabaseValue]] {
        try await harness.service.database.read { db in
            try Row.fetchAll(db, sql: "SELECT customer_id, as_of, dimensions FROM customer_dimensions ORDER BY customer_id").map { Array($0.databaseValues) }
        }
    }

    @Test func seededEventsAreTheRowsIngestionWritesAndFoldTheSame() async throws {
        let world = World(WorldConfiguration(customers: 12, seed: 20_261_206))
        let customers = Array(world.customers(0..<12))
        let generated = customers.map(\.events)
        var seed = StoreSeeding.Events()
        seed.trades = generated.flatMap(\.trades)
        seed.fundTransfers = generated.flatMap(\.fundTransfers)
        seed.dailyPositions = generated.flatMap(\.dailyPositions)
        seed.marginAccounts = generated.flatMap(\.marginAccounts)
        seed.marginInterest = generated.flatMap(\.marginInterest)
        seed.serviceContacts = generated.flatMap(\.serviceContacts)
        seed.productViews = generated.flatMap(\.productViews)
        #expect(seed.trades.count > 12 && seed.dailyPositions.count > 12 && seed.productViews.count > 0)
        let events = seed

        try await withService(await ProfilesHarness.start()) { ingested in
            try await withService(await ProfilesHarness.start()) { seeded in
                try await Self.createCustomers(customers, through: ingested.office)
                try await Self.createCustomers(customers, through: seeded.office)
                // Through the RPCs, kind by kind in batches of 1,000 (the seeding's order).
                let client = ingested.office
                func send<Event: Sendable, Request: SwiftProtobuf.Message>(
                    _ method: UnaryMethod<Request, Crm_Profiles_V1_IngestResponse>, _ all: [Event], _ request: ([Event]) -> Request
                ) async throws {
                    for start in stride(from: 0, to: all.count, by: 1_000) {
                        _ = try await client.unary(method, request(Array(all[start..<min(all.count, start + 1_000)])))
                    }
                }
                try await send(Crm_Profiles_V1_Profiles.ingestTrades, events.trades) { batch in Crm_Profiles_V1_IngestTradesRequest.with { $0.events = batch } }
                try await send(Crm_Profiles_V1_Profiles.ingestFundTransfers, events.fundTransfers) { batch in Crm_Profiles_V1_IngestFundTransfersRequest.with { $0.events = batch } }
                try await send(Crm_Profiles_V1_Profiles.ingestDailyPositions, events.dailyPositions) { batch in Crm_Profiles_V1_IngestDailyPositionsRequest.with { $0.events = batch } }
                try await send(Crm_Profiles_V1_Profiles.ingestMarginAccounts, events.marginAccounts) { batch in Crm_Profiles_V1_IngestMarginAccountsRequest.with { $0.events = batch } }
                try await send(Crm_Profiles_V1_Profiles.ingestMarginInterest, events.marginInterest) { batch in Crm_Profiles_V1_IngestMarginInterestRequest.with { $0.events = batch } }
                try await send(Crm_Profiles_V1_Profiles.ingestServiceContacts, events.serviceContacts) { batch in Crm_Profiles_V1_IngestServiceContactsRequest.with { $0.events = batch } }
                try await send(Crm_Profiles_V1_Profiles.ingestProductViews, events.productViews) { batch in Crm_Profiles_V1_IngestProductViewsRequest.with { $0.events = batch } }

                let added = try await seeded.service.service.appendSeededEvents(events)
                #expect(added == events.count)
                // Again: every event is already stored (same kind and key), nothing is added.
                #expect(try await seeded.service.service.appendSeededEvents(events) == 0)

                let ingestedRows = try await Self.eventRows(ingested)
                #expect(ingestedRows.count == events.count)
                #expect(try await Self.eventRows(seeded) == ingestedRows)

                try await ingested.service.service.updateDimensions()
                try await seeded.service.service.updateDimensions()
                let dimensions = try await Self.dimensionRows(ingested)
                #expect(dimensions.count == 12)
                #expect(try await Self.dimensionRows(seeded) == dimensions)
            }
        }
    }
}
