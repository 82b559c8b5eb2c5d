import CRMPartitions
import CRMProtos

/// A partition map in and out of its wire form, a count, an epoch and `PartitionOwner`s (name
/// and partitions): what GetPartitionMap answers, and what ReloadPartitionMap is pushed. One
/// reading and one writing for the profiles service, its clients and crmctl, so the map a
/// process answers and the map an operator pushes are read the same way.
public enum PartitionMapWire {
    /// Why wire owners are not a map: the field at fault (`count`, `owners[2].partitions`,
    /// `owners[1].name`, `owners`) and what is wrong with it.
    public struct Fault: Error, Sendable {
        public let field: String
        public let reason: String
    }

    /// The map of `count` partitions at `epoch` the owners describe, checked as every map is
    /// (each partition one owner), each owner named once.
    public static func map(count: UInt32, epoch: UInt64, owners: [Crm_Profiles_V1_PartitionOwner]) throws(Fault) -> PartitionMap {
        let partitioning: Partitioning
        do {
            partitioning = try Partitioning(count: Int(count))
        } catch {
            throw Fault(field: "count", reason: "\(error)")
        }
        var sets: [String: PartitionSet] = [:]
        for (index, owner) in owners.enumerated() {
            guard !owner.name.isEmpty else { throw Fault(field: "owners[\(index)].name", reason: "is required") }
            guard sets[owner.name] == nil else { throw Fault(field: "owners[\(index)].name", reason: "\(owner.name) is named twice") }
            do {
                sets[owner.name] = try PartitionSet(parsing: owner.partitions, in: partitioning)
            } catch {
                throw Fault(field: "owners[\(index)].partitions", reason: "\(error)")
            }
        }
        do {
            return try PartitionMap(partitioning: partitioning, epoch: epoch, owners: sets)
        } catch {
            throw Fault(field: "owners", reason: "\(error)")
        }
    }

    /// `map`'s owners sorted by name, each with its partitions and its endpoint in `endpoints`
    /// (empty when not known).
    public static func owners(of map: PartitionMap, endpoints: [String: String] = [:]) -> [Crm_Profiles_V1_PartitionOwner] {
        map.owners.keys.sorted().map { name in
            Crm_Profiles_V1_PartitionOwner.with {
                $0.name = name
                $0.endpoint = endpoints[name] ?? ""
                $0.partitions = map.partitions(ownedBy: name).description
            }
        }
    }
}
