import CRMProtos
import CRMWorld
import Testing

/// Branches, teams and managers, and each customer's manager over time.
@Suite struct OrganisationTests {
    @Test func sizesFollowTheCustomerCount() {
        let organisation = WorldFixture.world.organisation
        #expect(organisation.branches.count == 3)
        #expect(organisation.managers.count == 10 || organisation.managers.count == 11)
        let large = World(WorldConfiguration(customers: 1_000_000, seed: 1)).organisation
        #expect(large.branches.count == 50)
        #expect(abs(large.managers.count - 5_000) <= 60)
        #expect(Set(large.branches.map(\.name)).count == large.branches.count)
        #expect(Set(large.managers.map(\.id)).count == large.managers.count)
        let teams = Set(large.teams.map(\.id))
        #expect(large.managers.allSatisfy { teams.contains($0.record.teamID) })
        #expect(Set(large.managers.map(\.record.grade)) == Set(Organisation.grades))
        #expect(Set(large.managers.map(\.record.status)) == [.active, .suspended, .left])
        #expect(large.managers.allSatisfy { ($0.record.status == .left) == ($0.leftOn != nil) })
    }

    @Test func assignmentsAreContiguousAndNameServingManagers() {
        let world = WorldFixture.world
        let managers = Dictionary(uniqueKeysWithValues: world.organisation.managers.map { ($0.id, $0) })
        var transferred = 0
        var withManager = 0
        for customer in WorldFixture.customers {
            let assignments = customer.assignments
            guard let first = assignments.first else {
                #expect(customer.record.managerID.isEmpty)
                continue
            }
            withManager += 1
            if assignments.count > 1 { transferred += 1 }
            for (earlier, later) in zip(assignments, assignments.dropFirst()) {
                #expect(earlier.effectiveUntil == later.effectiveFrom, "\(customer.id): a gap or an overlap")
                #expect(earlier.managerID != later.managerID)
            }
            #expect(assignments.last?.effectiveUntil == nil)
            for assignment in assignments {
                #expect(assignment.customerID == customer.id)
                let manager = managers[assignment.managerID]
                #expect(manager != nil, "\(customer.id): unknown manager \(assignment.managerID)")
                #expect(manager?.record.branchID == customer.record.branchID)
                if let left = manager?.leftOn { #expect(assignment.effectiveUntil.map { $0 <= left } ?? false) }
            }
            #expect(customer.record.managerID == assignments.last?.managerID)
            if customer.record.hasOpenDate { #expect(first.effectiveFrom == WorldFixture.day(customer.record.openDate)) }
        }
        let share = Double(transferred) / Double(withManager)
        #expect(share > 0.01 && share < 0.12, "\(share) of customers changed manager")
    }
}
