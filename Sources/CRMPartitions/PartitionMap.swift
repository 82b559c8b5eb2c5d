import Foundation

/// Which profiles process owns which partitions: the partition map of the topology
/// (docs/partitioning.md §5).
///
/// Every partition has exactly one owner, so a customer's calls have exactly one place to go; the
/// epoch orders maps, so a process or a client holding an older map can tell. A single-node install
/// is ``single(_:partitioning:)``: one owner of every partition.
///
/// Owners are named, not addressed: a name is a profiles instance (`profiles-1`, the StatefulSet
/// pod's name, resolved to an endpoint through the topology: ``PartitionTopology``) or an endpoint
/// `host:port` itself. A name stays the same when a process restarts on another port, so the map
/// can be written before the ports are known.
public struct PartitionMap: Sendable, Hashable {
    public let partitioning: Partitioning
    /// Increases with every change of owners (a move); two maps of the same firm are ordered by it.
    public let epoch: UInt64
    /// Each owner's name and the partitions it owns.
    public let owners: [String: PartitionSet]
    /// Each partition's owner, by partition.
    private let ownerOf: [String]

    /// Refuses a map in which a partition has no owner or two, or an owner owns nothing.
    public init(partitioning: Partitioning, epoch: UInt64, owners: [String: PartitionSet]) throws(PartitioningError) {
        var ownerOf = [String?](repeating: nil, count: partitioning.count)
        for endpoint in owners.keys.sorted() {
            let set = owners[endpoint] ?? PartitionSet([])
            guard !endpoint.isEmpty else { throw PartitioningError("an owner has no name") }
            guard !set.partitions.isEmpty else { throw PartitioningError("\(endpoint) owns no partition") }
            for partition in set.partitions {
                guard (0..<partitioning.count).contains(partition) else {
                    throw PartitioningError("\(endpoint) owns partition \(partition), outside 0-\(partitioning.count - 1)")
                }
                if let other = ownerOf[partition] {
                    throw PartitioningError("partition \(partition) is owned by both \(other) and \(endpoint)")
                }
                ownerOf[partition] = endpoint
            }
        }
        let orphans = ownerOf.indices.filter { ownerOf[$0] == nil }
        guard orphans.isEmpty else {
            throw PartitioningError("partitions \(PartitionSet(orphans)) have no owner")
        }
        self.partitioning = partitioning
        self.epoch = epoch
        self.owners = owners
        self.ownerOf = ownerOf.map { $0 ?? "" }
    }

    /// One process owning every partition: a single-node install.
    public static func single(_ endpoint: String, partitioning: Partitioning) -> PartitionMap {
        // One owner of every partition is always a valid map: no check needed.
        PartitionMap(unchecked: partitioning, epoch: 0, owners: [endpoint: .all(partitioning)])
    }

    private init(unchecked partitioning: Partitioning, epoch: UInt64, owners: [String: PartitionSet]) {
        self.partitioning = partitioning
        self.epoch = epoch
        self.owners = owners
        var ownerOf = [String](repeating: "", count: partitioning.count)
        for (endpoint, set) in owners {
            for partition in set.partitions where partition < partitioning.count { ownerOf[partition] = endpoint }
        }
        self.ownerOf = ownerOf
    }

    /// The owner of `partition` (which must be within 0..<P).
    public func owner(of partition: Int) -> String {
        ownerOf[partition]
    }

    /// The owner of `customerID`'s partition.
    public func owner(ofCustomer customerID: String) -> String {
        ownerOf[partitioning.partition(of: customerID)]
    }

    /// A batch's positions grouped by the owner of each one's customer, in batch order within each
    /// owner: how a batch is split, by the process that forwards it and by the map-aware client.
    public func positionsByOwner(_ customerIDs: some Sequence<String>) -> [String: [Int]] {
        var positions: [String: [Int]] = [:]
        for (position, id) in customerIDs.enumerated() {
            positions[owner(ofCustomer: id), default: []].append(position)
        }
        return positions
    }

    /// What the owner named `endpoint` owns (empty when it is not an owner).
    public func partitions(ownedBy endpoint: String) -> PartitionSet {
        owners[endpoint] ?? PartitionSet([])
    }

    /// The map after moving `partition` to `endpoint` (a new owner or an existing one), with the
    /// next epoch; an owner left with nothing leaves the map.
    public func moving(_ partition: Int, to endpoint: String) throws(PartitioningError) -> PartitionMap {
        guard (0..<partitioning.count).contains(partition) else {
            throw PartitioningError("partition \(partition) is outside 0-\(partitioning.count - 1)")
        }
        guard !endpoint.isEmpty else { throw PartitioningError("the new owner has no name") }
        var next: [String: PartitionSet] = [:]
        for (owner, set) in owners {
            let kept = set.partitions.filter { $0 != partition }
            if !kept.isEmpty { next[owner] = PartitionSet(kept) }
        }
        next[endpoint] = PartitionSet((next[endpoint]?.partitions ?? []) + [partition])
        return try PartitionMap(partitioning: partitioning, epoch: epoch + 1, owners: next)
    }

    // MARK: The topology's form

    private struct Body: Codable {
        var count: Int
        var epoch: UInt64
        var owners: [String: String]
    }

    /// Reads the topology's `partitions` object: `{"count": 64, "epoch": 3, "owners": {"host:port": "0-15,48-63", …}}`.
    public init(json: Data) throws(PartitioningError) {
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: json)
        } catch {
            throw PartitioningError("a partition map is {\"count\": P, \"epoch\": N, \"owners\": {\"host:port\": \"0-15,…\"}}: \(error)")
        }
        let partitioning = try Partitioning(count: body.count)
        var owners: [String: PartitionSet] = [:]
        for (endpoint, text) in body.owners {
            do {
                owners[endpoint] = try PartitionSet(parsing: text, in: partitioning)
            } catch {
                throw PartitioningError("owners[\(endpoint)]: \(error)")
            }
        }
        try self.init(partitioning: partitioning, epoch: body.epoch, owners: owners)
    }

    /// The topology's form, owners sorted: ``init(json:)`` reads it back.
    public var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let body = Body(count: partitioning.count, epoch: epoch, owners: owners.mapValues(\.description))
        // A struct of an Int, a UInt64 and strings always encodes.
        return (try? encoder.encode(body)) ?? Data()
    }
}
