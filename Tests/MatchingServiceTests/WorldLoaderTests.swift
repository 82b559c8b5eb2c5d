import CRMProtos
import CRMRPC
import CRMWorld
import CRMWorldLoader
import Testing

/// Loading a chunk of a generated world again, whole or after a load cut short — what `crmctl demo`
/// does after an interruption —
/// leaves the services as one load does: no refused status change, no assessment twice, no event
/// or order counted twice.
@Suite(.serialized) struct WorldLoaderTests {
    @Test func loadingAChunkAgainCompletesItWithoutRepeatingAnything() async throws {
        let harness = try await MatchingHarness.start()
        let world = World(WorldConfiguration(customers: 160, seed: 77))
        let customers = Array(world.customers(0..<120))
        // The chunk must hold the cases a reload trips on: a prospect who opened an account, a
        // status changed after the events, and more than one assessment.
        #expect(customers.contains { $0.statusChangesBeforeEvents == 1 })
        #expect(customers.contains { $0.statusChanges.count > $0.statusChangesBeforeEvents })
        #expect(customers.contains { $0.assessments.count > 1 })

        let loader = WorldLoader(world: world, clients: .init(
            profiles: harness.profiles.client(token: "office"), products: harness.products.client(token: "office")
        ))
        try await loader.loadCatalogue()
        let first = try await loader.loadCustomers(0..<120)
        let again = try await loader.loadCustomers(0..<120)
        #expect(again.customers == first.customers && again.events == first.events && again.orders == first.orders)

        // A load cut short after creating the next customers, opening the prospects' accounts and
        // recording their first assessment: loading the chunk completes it.
        let next = Array(world.customers(120..<160))
        let ingest = harness.profiles.client(token: "ingest")
        for customer in next {
            _ = try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, customer.creation)
            for change in customer.statusChanges.prefix(customer.statusChangesBeforeEvents) {
                _ = try await ingest.unary(Crm_Profiles_V1_Profiles.changeAccountStatus, change)
            }
            if let assessment = customer.assessments.first {
                _ = try await ingest.unary(Crm_Profiles_V1_Profiles.recordAssessment, assessment)
            }
        }
        _ = try await loader.loadCustomers(120..<160)

        let profiles = harness.profiles.client(token: "office")
        for customer in customers + next {
            let view = try await profiles.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with {
                $0.customerID = customer.id
                $0.recentLimit = 1
            }).view
            #expect(view.customer.status == customer.record.status, "\(customer.id) status")
            #expect(view.assessmentHistory.count == customer.assessments.count, "\(customer.id) assessments")
            #expect(view.statusHistory.count == customer.statusChanges.count + 1, "\(customer.id) status history")
        }
        // Events: another load finds the trades of customers still trading already stored.
        let trades = customers.filter { $0.record.status == .normal }.flatMap(\.events.trades)
        if !trades.isEmpty {
            let answer = try await harness.profiles.client(token: "ingest").unary(
                Crm_Profiles_V1_Profiles.ingestTrades, Crm_Profiles_V1_IngestTradesRequest.with { $0.events = Array(trades.prefix(500)) })
            #expect(answer.accepted == 0 && answer.duplicates == UInt32(min(500, trades.count)))
        }
        try await harness.stop()
    }

    /// The generator's purchase law reads an ``ObservedState`` that claims to be what profiles
    /// shows: for every customer who may buy in a month, profiles' point-in-time dimensions at the
    /// end of the month before (what the model trains and is evaluated on) hold the same values.
    /// If they drifted apart, the model could not learn the law and the quality figures would
    /// measure the drift.
    @Test func thePurchaseLawReadsWhatProfilesServesAsOfTheMonthBefore() async throws {
        let harness = try await MatchingHarness.start()
        let world = World(WorldConfiguration(customers: 300, seed: 20_261_129))
        let loader = WorldLoader(world: world, clients: .init(
            profiles: harness.profiles.client(token: "office"), products: harness.products.client(token: "office")
        ))
        try await loader.loadCatalogue()
        _ = try await loader.loadCustomers(0..<300)

        var compared = 0, differing: [String] = []
        for month in [0, world.configuration.heldOutMonth / 2, world.configuration.heldOutMonth] {
            let asOf = world.configuration.month(month).firstDay - 1
            let served = try await harness.profiles.client(token: "service").serverStreaming(
                Crm_Profiles_V1_Profiles.streamDimensionsAsOf,
                Crm_Profiles_V1_StreamDimensionsAsOfRequest.with { $0.asOf = WorldDays.date(asOf) }).collect()
            #expect(served.count == 300)
            for dimensions in served {
                let customer = try #require(world.customerIndex(of: dimensions.customerID).map { world.customer(at: $0) })
                guard customer.months[month].eligible else { continue }
                compared += 1
                for difference in customer.months[month].state.differences(from: dimensions) {
                    differing.append("\(customer.id) \(difference.name) month \(month): law \(difference.law), profiles \(difference.served)")
                }
            }
        }
        #expect(compared > 300, "eligible customer-months compared: \(compared)")
        #expect(differing.isEmpty, "\(differing.count) values differ: \(differing.prefix(5))")
        try await harness.stop()
    }
}
