import CRMProtos
import CRMRPC
import CRMWorld
import CRMWorldLoader
import Testing

/// The loader's compensation step against the service in process: a generated firm's
/// organisation, schemes and assignments are accepted (managers who left included), a second load
/// changes nothing, and the service then holds what the world says.
@Suite struct WorldLoaderCompensationTests {
    @Test func aGeneratedFirmLoadsIntoCompensationAndLoadsAgainUnchanged() async throws {
        // A firm large enough to have managers who left; only the first customers are loaded.
        let world = World(WorldConfiguration(customers: 40_000, seed: 31))
        let plan = CompensationPlan(world: world)
        let leavers = Set(world.organisation.managers.filter { $0.leftOn != nil }.map(\.id))
        // The first customers through the last one, among them, whose history passes through a leaver.
        let customers = try #require((0..<world.configuration.customers).lazy.filter { index in
            world.managerAssignments(ofCustomer: index).dropLast().contains { leavers.contains($0.managerID) }
        }.dropFirst(2).first.map { 0..<($0 + 1) })
        let expected = customers.flatMap(plan.assignments(ofCustomer:))
        #expect(expected.contains { leavers.contains($0.managerID) })

        let harness = try await CompensationHarness.start()
        // Customers as profiles' change feed announces them (compensation checks each one it is told about).
        try await harness.customers(customers.map(World.customerID))
        let hr = try #require(harness.clients["hr"])
        // loadCompensation calls compensation only; profiles and products are never asked.
        let loader = WorldLoader(world: world, clients: .init(profiles: hr, products: hr, compensation: hr))

        let first = try await loader.loadCompensation(customers: customers)
        #expect(first.branches == world.organisation.branches.count)
        #expect(first.teams == world.organisation.teams.count)
        #expect(first.managers == world.organisation.managers.count)
        #expect(first.schemesCreated == Organisation.grades.count)
        #expect(first.assignmentsCreated == expected.count && first.assignmentsUnchanged == 0)

        // Again, as after an interruption: nothing new, nothing refused (leavers are LEFT by now).
        let second = try await loader.loadCompensation(customers: customers)
        #expect(second.schemesCreated == 0)
        #expect(second.assignmentsCreated == 0 && second.assignmentsUnchanged == expected.count)

        // The roster as it stands today, and every customer's history as the world has it.
        let roster = try await harness.call(Crm_Compensation_V1_Compensation.listManagers, Crm_Compensation_V1_ListManagersRequest.with { $0.page = .with { $0.pageSize = 5_000 } }, token: "office").managers
        #expect(Dictionary(uniqueKeysWithValues: roster.map { ($0.managerID, $0.status) })
                == Dictionary(uniqueKeysWithValues: plan.currentRoster.map { ($0.managerID, $0.status) }))
        #expect(roster.filter { $0.status == .left }.count == leavers.count)
        let stored = try await harness.call(Crm_Compensation_V1_Compensation.listAssignments, Crm_Compensation_V1_ListAssignmentsRequest.with { $0.page = .with { $0.pageSize = 10_000 } }, token: "office").assignments
        func key(_ a: Crm_Compensation_V1_Assignment) -> String {
            func text(_ date: Crm_Common_V1_Date) -> String { "\(date.year)-\(date.month)-\(date.day)" }
            return "\(a.customerID) \(a.managerID) \(text(a.effectiveFrom)) \(a.hasEffectiveUntil ? text(a.effectiveUntil) : "open")"
        }
        #expect(stored.map(key).sorted() == expected.map(key).sorted())
        let schemes = try await harness.call(Crm_Compensation_V1_Compensation.listSchemes, Crm_Compensation_V1_ListSchemesRequest(),
                                             token: "office").schemes
        #expect(schemes.map(\.grade) == Organisation.grades)
        #expect(schemes.allSatisfy { $0.version == 1 && $0.commissionTiers.count == CompensationPlan.tierBoundsFen.count })
        try await harness.stop()
    }
}
