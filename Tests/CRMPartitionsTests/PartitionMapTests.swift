import CRMPartitions
import Foundation
import Testing

@Suite struct PartitionMapTests {
    /// The example of docs/partitioning.md §5.
    static let example = Data("""
    {"count": 64, "epoch": 3,
     "owners": {"profiles-0.profiles:7101": "0-15", "profiles-1.profiles:7101": "16-31,48-63", "profiles-2.profiles:7101": "32-47"}}
    """.utf8)

    @Test func splitsABatchByOwnerKeepingEachOwnersOrder() throws {
        let map = try PartitionMap(json: Self.example)
        let ids = (0..<200).map { "C\(String(format: "%06d", $0))" }
        let parts = map.positionsByOwner(ids)
        // Every position once, each under its customer's owner, in batch order.
        #expect(parts.values.flatMap { $0 }.sorted() == Array(ids.indices))
        for (owner, positions) in parts {
            #expect(positions == positions.sorted())
            #expect(positions.allSatisfy { map.owner(ofCustomer: ids[$0]) == owner })
        }
        #expect(parts.count == 3)
    }

    @Test func readsTheTopologysFormAndFindsEachCustomersOwner() throws {
        let map = try PartitionMap(json: Self.example)
        #expect(map.partitioning.count == 64)
        #expect(map.epoch == 3)
        #expect(map.owner(of: 0) == "profiles-0.profiles:7101")
        #expect(map.owner(of: 50) == "profiles-1.profiles:7101")
        #expect(map.owner(of: 47) == "profiles-2.profiles:7101")
        // C000002 is in partition 60 and C000001 in 21 (the frozen table).
        #expect(map.owner(ofCustomer: "C000002") == "profiles-1.profiles:7101")
        #expect(map.owner(ofCustomer: "C000001") == "profiles-1.profiles:7101")
        #expect(map.partitions(ownedBy: "profiles-2.profiles:7101").description == "32-47")
        #expect(map.partitions(ownedBy: "elsewhere:1").partitions.isEmpty)
        #expect(try PartitionMap(json: map.json) == map)
    }

    @Test func aSingleNodeOwnsEverything() throws {
        let partitioning = try Partitioning(count: 8)
        let map = PartitionMap.single("127.0.0.1:7101", partitioning: partitioning)
        #expect((0..<8).allSatisfy { map.owner(of: $0) == "127.0.0.1:7101" })
        #expect(map.epoch == 0)
        #expect(try PartitionMap(partitioning: partitioning, epoch: 0, owners: ["127.0.0.1:7101": .all(partitioning)]) == map)
    }

    @Test func movingAPartitionChangesOnlyItsOwnerAndTheEpoch() throws {
        let map = try PartitionMap(json: Self.example)
        let moved = try map.moving(20, to: "profiles-3.profiles:7101")
        #expect(moved.epoch == 4)
        #expect(moved.owner(of: 20) == "profiles-3.profiles:7101")
        #expect((0..<64).filter { $0 != 20 }.allSatisfy { moved.owner(of: $0) == map.owner(of: $0) })
        #expect(moved.partitions(ownedBy: "profiles-1.profiles:7101").description == "16-19,21-31,48-63")
        // Moving every partition of an owner away removes it from the map.
        var drained = moved
        for partition in 32...47 { drained = try drained.moving(partition, to: "profiles-0.profiles:7101") }
        #expect(drained.owners["profiles-2.profiles:7101"] == nil)
        #expect(drained.epoch == 4 + 16)
        #expect(throws: PartitioningError.self) { try map.moving(64, to: "x:1") }
    }

    @Test(arguments: [
        #"{"count": 8, "epoch": 1, "owners": {"a:1": "0-3"}}"#,                    // 4-7 have no owner
        #"{"count": 8, "epoch": 1, "owners": {"a:1": "0-4", "b:1": "4-7"}}"#,      // 4 owned twice
        #"{"count": 8, "epoch": 1, "owners": {"a:1": "0-8"}}"#,                    // 8 out of range
        #"{"count": 0, "epoch": 1, "owners": {}}"#,                                // no partitions
        #"{"count": 8, "owners": {"a:1": "all"}}"#,                                // no epoch
        #"{"count": 8, "epoch": 1, "owners": {"": "all"}}"#,                       // no endpoint
        #"[1, 2]"#,
    ])
    func refusesAMapThatDoesNotGiveEveryPartitionOneOwner(_ text: String) {
        #expect(throws: PartitioningError.self) { try PartitionMap(json: Data(text.utf8)) }
    }
}

@Suite struct PartitionTopologyTests {
    @Test func ownersNamedByInstanceResolveThroughTheProfilesList() throws {
        let topology = try PartitionTopology(json: Data("""
        {"profiles": ["127.0.0.1:7101", "127.0.0.1:7105"], "matching": ["127.0.0.1:7103"],
         "partitions": {"count": 8, "epoch": 2, "owners": {"profiles-0": "0-3", "profiles-1": "4-7"}}}
        """.utf8))
        let map = try #require(topology.map)
        #expect(map.epoch == 2)
        #expect(map.owner(of: 5) == "profiles-1")
        #expect(topology.endpoint(ofOwner: "profiles-0") == "127.0.0.1:7101")
        #expect(topology.endpoint(ofOwner: "profiles-1") == "127.0.0.1:7105")
        #expect(topology.endpoint(ofOwner: "profiles-2") == nil)
        #expect(topology.endpoint(ofOwner: "10.0.0.9:7101") == "10.0.0.9:7101")
        #expect(topology.endpoint(ofOwner: "elsewhere") == nil)
    }

    @Test func aTopologyWithoutPartitionsHasNoMap() throws {
        let topology = try PartitionTopology(json: Data(#"{"profiles": ["127.0.0.1:7101"], "products": ["127.0.0.1:7102"]}"#.utf8))
        #expect(topology.map == nil)
        #expect(topology.profilesEndpoints == ["127.0.0.1:7101"])
    }

    @Test(arguments: [
        #"{"profiles": "127.0.0.1:7101"}"#,
        #"{"profiles": [], "partitions": {"count": 8, "epoch": 1, "owners": {"profiles-0": "0-6"}}}"#,
        #"[]"#,
        #"not json"#,
        #"{"profiles": [], "partitions": 8}"#,
    ])
    func refusesABadTopology(_ text: String) {
        #expect(throws: PartitioningError.self) { try PartitionTopology(json: Data(text.utf8)) }
    }
}
