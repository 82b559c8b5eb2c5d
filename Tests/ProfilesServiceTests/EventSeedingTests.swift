import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMWorld
import CRMWorldLoader
import Foundation
import GRDB
import SwiftProtobuf
import Testing
@testable import ProfilesService

/// Events appended straight to the store (`StoreSeeding.appendEvents`, for building large worlds)
/// must be exactly the rows ingestion writes for the same events, and fold into the same
/// dimensions: both go through `EventMapping`.
@Suite struct EventSeedingTests {
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
                for customer in customers {
                    try await customer.create(through: ingested.office)
                    try await customer.create(through: seeded.office)
                }
                // Through the RPCs, kind by kind in batches of 1,000 (the seeding's order).
                for call in IngestionCall.batches(of: generated, batchSize: 1_000) {
                    _ = try await call.send(through: ingested.office)
                }

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
