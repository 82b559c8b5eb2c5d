import CRMProtos
import CRMWorld
import SwiftProtobuf
import Testing

/// The same seed gives byte-identical messages; another seed gives another world; a customer
/// depends only on the seed and its index.
@Suite struct ReproducibilityTests {
    /// Every message of a customer, serialized, in a fixed order.
    static func bytes(_ customer: GeneratedCustomer) throws -> [[UInt8]] {
        var parts: [[UInt8]] = [try customer.record.serializedBytes(), try customer.creation.serializedBytes()]
        parts += try customer.statusChanges.map { try $0.serializedBytes() }
        parts += try customer.assessments.map { try $0.serializedBytes() }
        parts += try customer.events.trades.map { try $0.serializedBytes() }
        parts += try customer.events.fundTransfers.map { try $0.serializedBytes() }
        parts += try customer.events.dailyPositions.map { try $0.serializedBytes() }
        parts += try customer.events.marginAccounts.map { try $0.serializedBytes() }
        parts += try customer.events.marginInterest.map { try $0.serializedBytes() }
        parts += try customer.events.serviceContacts.map { try $0.serializedBytes() }
        parts += try customer.events.productViews.map { try $0.serializedBytes() }
        parts += try customer.purchases.map { try $0.order.serializedBytes() }
        parts.append(customer.assignments.map { "\($0.managerID)@\($0.effectiveFrom)-\($0.effectiveUntil ?? -1)" }.joined().utf8.map { $0 })
        return parts
    }

    static func libraryBytes(_ world: World) throws -> [[UInt8]] {
        try world.products.map { try $0.record.serializedBytes() + $0.contractTemplate.serializedBytes() }
            + world.organisation.managers.map { try $0.record.serializedBytes() }
    }

    @Test func sameSeedGivesIdenticalBytes() throws {
        let first = World(WorldConfiguration(customers: 300, seed: 99))
        let second = World(WorldConfiguration(customers: 300, seed: 99))
        #expect(try Self.libraryBytes(first) == Self.libraryBytes(second))
        for index in 0..<300 {
            #expect(try Self.bytes(first.customer(at: index)) == Self.bytes(second.customer(at: index)), "customer \(index)")
        }
    }

    @Test func anotherSeedGivesAnotherWorld() throws {
        let first = World(WorldConfiguration(customers: 300, seed: 99))
        let second = World(WorldConfiguration(customers: 300, seed: 100))
        #expect(try Self.libraryBytes(first) != Self.libraryBytes(second))
        var differing = 0
        for index in 0..<50 where try Self.bytes(first.customer(at: index)) != Self.bytes(second.customer(at: index)) {
            differing += 1
        }
        #expect(differing >= 48)
    }

    @Test func aCustomerDependsOnlyOnItsIndex() throws {
        let world = WorldFixture.world
        // In reverse order, and again: the same bytes as the fixture's forward pass.
        for index in stride(from: 199, through: 0, by: -7) {
            #expect(try Self.bytes(world.customer(at: index)) == Self.bytes(WorldFixture.customers[index]))
        }
    }
}
