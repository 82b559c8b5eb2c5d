import Foundation

/// Matching's partition groups (docs/partitioning.md §9): which partitions each group of matching
/// replicas holds and which replicas make it up.
///
/// Replicas of one group hold the same customers (for throughput); groups hold different ones (for
/// size). In the topology: `"matching_groups": [{"partitions": "0-7", "replicas": ["host:port", …]},
/// …]`, beside the `partitions` object whose `count` the sets are read against. Every partition
/// belongs to exactly one group, so a customer has one group wherever the question is asked.
/// A replica listed in `matching` but in no group holds every customer (a training replica: the
/// model learns from every customer's rows).
public struct MatchingGroups: Sendable, Hashable {
    public struct Group: Sendable, Hashable {
        public let partitions: PartitionSet
        /// `host:port` as the topology's `matching` list spells them.
        public let replicas: [String]

        public init(partitions: PartitionSet, replicas: [String]) {
            self.partitions = partitions
            self.replicas = replicas
        }
    }

    public let partitioning: Partitioning
    public let groups: [Group]
    /// Partition → its group's index, for a customer's group in one lookup.
    private let groupOfPartition: [Int]

    /// Refuses groups that leave a partition out or share one, an empty group, and a replica
    /// listed in two groups.
    public init(partitioning: Partitioning, groups: [Group]) throws(PartitioningError) {
        guard !groups.isEmpty else { throw PartitioningError("matching_groups lists no group") }
        var owner = [Int](repeating: -1, count: partitioning.count)
        var replicas = Set<String>()
        for (index, group) in groups.enumerated() {
            guard !group.replicas.isEmpty else { throw PartitioningError("matching group \(index) lists no replica") }
            for replica in group.replicas {
                guard replicas.insert(replica).inserted else { throw PartitioningError("replica \(replica) is in two matching groups") }
            }
            for partition in group.partitions.partitions {
                guard partition < partitioning.count else {
                    throw PartitioningError("matching group \(index): partition \(partition) is outside 0-\(partitioning.count - 1)")
                }
                guard owner[partition] < 0 else {
                    throw PartitioningError("partition \(partition) is in matching groups \(owner[partition]) and \(index)")
                }
                owner[partition] = index
            }
        }
        if let missing = owner.firstIndex(of: -1) {
            throw PartitioningError("partition \(missing) is in no matching group (each of the \(partitioning.count) must be in one)")
        }
        self.partitioning = partitioning
        self.groups = groups
        self.groupOfPartition = owner
    }

    /// Reads a topology file's `matching_groups` (nil when it has none), against the `count` of
    /// its `partitions` object.
    public init?(topology json: Data) throws(PartitioningError) {
        let object = try PartitionTopology.object(json)
        guard let raw = object[Self.topologyKey] else { return nil }
        guard let list = raw as? [[String: Any]] else {
            throw PartitioningError("matching_groups is not a list like [{\"partitions\": \"0-7\", \"replicas\": [\"host:port\"]}]")
        }
        guard let partitions = object["partitions"] as? [String: Any], let count = partitions["count"] as? Int else {
            throw PartitioningError("matching_groups needs the topology's partitions object with its count")
        }
        let partitioning = try Partitioning(count: count)
        var groups: [Group] = []
        for (index, entry) in list.enumerated() {
            guard let text = entry["partitions"] as? String else {
                throw PartitioningError("matching group \(index): partitions is not text like \"0-7\"")
            }
            guard let replicas = entry["replicas"] as? [String] else {
                throw PartitioningError("matching group \(index): replicas is not a list of \"host:port\"")
            }
            let set: PartitionSet
            do {
                set = try PartitionSet(parsing: text, in: partitioning)
            } catch {
                throw PartitioningError("matching group \(index): \(error)")
            }
            groups.append(Group(partitions: set, replicas: replicas))
        }
        try self.init(partitioning: partitioning, groups: groups)
    }

    /// The topology's key.
    public static let topologyKey = "matching_groups"

    /// The group holding the customer.
    public func group(ofCustomer customerID: String) -> Int {
        groupOfPartition[partitioning.partition(of: customerID)]
    }

    /// The group holding the partition.
    public func group(ofPartition partition: Int) -> Int {
        groupOfPartition[partition]
    }

    /// The group a replica belongs to (nil: in no group, so it holds every customer).
    public func group(ofReplica endpoint: String) -> Int? {
        groups.firstIndex { $0.replicas.contains(endpoint) }
    }
}
