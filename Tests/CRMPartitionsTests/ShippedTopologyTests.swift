import CRMPartitions
import Foundation
import Testing

/// The topology files the project ships (services/) are what `crmctl up --topology` and each
/// profiles process read: the partitioned one must give every partition one owner, every owner an
/// endpoint of its own, no two services one port, and matching's groups every partition once; the
/// plain one holds no map (one process owns everything).
@Suite struct ShippedTopologyTests {
    static let services = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("services")

    @Test func thePartitionedTopologyGivesFourOwnersSixteenPartitionsAndAnEndpointEach() throws {
        let data = try Data(contentsOf: Self.services.appendingPathComponent("topology-partitioned.json"))
        let topology = try PartitionTopology(json: data)
        let map = try #require(topology.map)
        #expect(map.partitioning.count == 16)
        #expect(map.owners.keys.sorted() == ["profiles-0", "profiles-1", "profiles-2", "profiles-3"])
        for owner in map.owners.keys {
            #expect(map.partitions(ownedBy: owner).partitions.count == 4, "\(owner)")
        }
        let endpoints = map.owners.keys.sorted().compactMap { topology.endpoint(ofOwner: $0) }
        #expect(endpoints == topology.profilesEndpoints && Set(endpoints).count == 4)

        // Every service's endpoints, as crmctl reads the file: no port twice.
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let all = object.filter { $0.key != "partitions" }.values.compactMap { $0 as? [String] }.flatMap { $0 }
        #expect(all.count == 10 && Set(all).count == all.count, "\(all)")

        // Matching: two groups of two replicas over the 16 partitions, every replica of the
        // matching list in one.
        let groups = try #require(try MatchingGroups(topology: data))
        let replicas = try #require(object["matching"] as? [String])
        #expect(groups.groups.map(\.partitions.partitions.count) == [8, 8])
        #expect(groups.groups.map(\.replicas.count) == [2, 2])
        let grouped = groups.groups.flatMap(\.replicas)
        #expect(Set(grouped).isSubset(of: replicas) && replicas.allSatisfy { groups.group(ofReplica: $0) != nil }, "\(replicas)")
    }

    @Test func thePlainTopologyHasNoMap() throws {
        let topology = try PartitionTopology(json: Data(contentsOf: Self.services.appendingPathComponent("topology.json")))
        #expect(topology.map == nil)
        #expect(topology.profilesEndpoints.count == 1)
    }
}
