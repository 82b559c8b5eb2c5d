import CRMPartitions
import CRMProtos
import CRMRPC

/// One change feed and event log of profiles, as a follower reaches it: a profiles process that
/// owns partitions — its owner name (empty for a map of one owner) and a client to it — and, when
/// that process keeps a file per partition, the one partition whose feed and log these are.
public struct ProfilesOwner: Sendable {
    public var name: String
    public var client: RPCClient
    /// Whether the client was opened for this owner (and is the caller's to close), rather than
    /// being the peer the map was read from. Set on one entry per client.
    public var made: Bool
    /// The partition whose own feed and log these are, for an owner keeping a file per partition
    /// (GetPartitionMapResponse.feeds_per_partition); nil for an owner's one feed and log.
    public var partition: Int?
    /// Where the partition's feeds are read now, for a partition's own feeds (shared by every
    /// partition of one map reading): after a move, its new owner.
    public var routes: PartitionFeedRoutes?

    public init(name: String, client: RPCClient, made: Bool, partition: Int? = nil, routes: PartitionFeedRoutes? = nil) {
        self.name = name
        self.client = client
        self.made = made
        self.partition = partition
        self.routes = routes
    }

    /// Runs one read of this feed with the client of the process serving it now (for a
    /// partition's own feeds, the owner in the newest map ``PartitionFeedRoutes`` has read); a
    /// failed read makes the routes read the map again soon, in case the partition moved.
    public func reading<Result: Sendable>(_ read: (RPCClient) async throws -> Result) async throws -> Result {
        guard let routes, let partition else { return try await read(client) }
        let current = await routes.client(forPartition: partition) ?? client
        do {
            return try await read(current)
        } catch {
            routes.readFailed()
            throw error
        }
    }

    /// What names this feed in cursors and health details: `p0007` for a partition's own feed
    /// (the same whichever process serves the partition: its sequence belongs to the partition's
    /// file), else the owner's name (empty for a map of one owner).
    public var label: String {
        partition.map(Partitioning.name(of:)) ?? name
    }

    /// What a feed request carries to read this feed: the partition, when the owner keeps one per partition.
    public var selector: Crm_Profiles_V1_PartitionSelector? {
        partition.map { number in Crm_Profiles_V1_PartitionSelector.with { $0.number = UInt32(number) } }
    }

    /// The name of a follower's cursor for this feed `base`: `base` itself for the one owner of a
    /// single-process map keeping one file (so an install that followed one process resumes where
    /// it was), `<base>.<owner>` for each owner of a map of several, since each numbers its own
    /// feed, and `<base>.p0007` for each partition of an owner keeping a file per partition.
    public func cursor(_ base: String) -> String {
        Self.cursor(base, owner: label)
    }

    public static func cursor(_ base: String, owner: String) -> String {
        owner.isEmpty ? base : "\(base).\(owner)"
    }
}

/// Reads profiles' partition map for the consumers that follow every owner's log and feeds
/// (compensation's `ProfilesFollowers`, matching's `ProfilesCopyFollowers`; docs/partitioning.md
/// §7), so both resolve owners to clients the same way.
///
/// Why here: this is the map-aware side of reaching profiles, beside ``PartitionedProfilesClient``,
/// and services may not import each other. Why not ``PartitionedProfilesClient/connect(through:)``:
/// a customer's call can go through any process, which forwards, but an owner's log and feeds can
/// be read only from that owner, so an owner without an endpoint is an error here (the caller
/// retries until the topology lists it), never a detour through the entry process.
public enum ProfilesOwners {
    /// The owners in the map `peer` answers with, each with a client at its endpoint: the peer
    /// itself for a map of one owner, for a profiles version without `GetPartitionMap`
    /// (`UNIMPLEMENTED`: one process, name empty), and for the owner that answered when the peer
    /// can reach only it (a peer listing several endpoints may send the next call to another
    /// process, whose log is another's).
    ///
    /// Throws the call's error when the map is not answered, and `UNAVAILABLE` when an owner's
    /// endpoint is not `host:port` yet (closing the clients opened so far); callers retry both.
    public static func read(from peer: RPCClient, options: CallOptions) async throws -> [ProfilesOwner] {
        let map: Crm_Profiles_V1_GetPartitionMapResponse
        do {
            map = try await peer.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest(), options: options)
        } catch let error as RPCError where error.code == .unimplemented {
            return [ProfilesOwner(name: "", client: peer, made: false)]  // a profiles version before partitions: one process
        }
        let one = ProfilesOwner(name: "", client: peer, made: false)
        guard map.owners.count > 1 || map.feedsPerPartition else { return [one] }
        let partitions: PartitionMap
        do {
            partitions = try partitionMap(of: map)
        } catch {
            throw RPCError(.internal, "partition map of \(map.answeredBy): \(error)")
        }
        guard map.owners.count > 1 else {
            guard let owner = map.owners.first else { return [one] }
            let owned = partitions.partitions(ownedBy: owner.name).partitions
            return routed(owned.map { ProfilesOwner(name: "", client: peer, made: false, partition: $0) }, peer: peer, options: options, epoch: map.epoch)
        }
        var owners: [ProfilesOwner] = []
        var made: [RPCClient] = []
        do {
            for owner in map.owners {
                let client: RPCClient
                var opened = false
                if owner.name == map.answeredBy && peer.configuration.endpoints.count == 1 {
                    client = peer
                } else {
                    guard let endpoint = Endpoint(owner.endpoint) else {
                        throw RPCError(.unavailable, "partition map of \(map.answeredBy): owners[\(owner.name)].endpoint is '\(owner.endpoint)', not host:port yet; its log and feeds can be read only from it")
                    }
                    client = peer.alone(at: endpoint)
                    made.append(client)
                    opened = true
                }
                // Whether this owner keeps a file per partition is its own answer.
                let own = owner.name == map.answeredBy
                    ? map : try await client.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest(), options: options)
                if own.feedsPerPartition {
                    for (place, partition) in partitions.partitions(ownedBy: owner.name).partitions.enumerated() {
                        owners.append(ProfilesOwner(name: owner.name, client: client, made: opened && place == 0, partition: partition))
                    }
                } else {
                    owners.append(ProfilesOwner(name: owner.name, client: client, made: opened))
                }
            }
        } catch {
            for client in made { await client.close() }
            throw error
        }
        return routed(owners, peer: peer, options: options, epoch: map.epoch)
    }

    /// The map a `GetPartitionMap` answer describes, checked as every map is (each partition one
    /// owner; a partition function this client knows): what the map-aware client routes by and
    /// what a partition's feeds are re-pointed by after a move.
    public static func partitionMap(of answer: Crm_Profiles_V1_GetPartitionMapResponse) throws(PartitioningError) -> PartitionMap {
        guard answer.hash == "fnv1a64" else { throw PartitioningError("partition function \(answer.hash) is not known") }
        do {
            return try PartitionMapWire.map(count: answer.count, epoch: answer.epoch, owners: answer.owners)
        } catch {
            throw PartitioningError("\(error.field): \(error.reason)")
        }
    }

    /// `owners` with one ``PartitionFeedRoutes`` shared by those that read a partition's own feeds,
    /// starting from the clients they were made with.
    private static func routed(_ owners: [ProfilesOwner], peer: RPCClient, options: CallOptions, epoch: UInt64) -> [ProfilesOwner] {
        var clients: [Int: RPCClient] = [:]
        for owner in owners { if let partition = owner.partition { clients[partition] = owner.client } }
        guard !clients.isEmpty else { return owners }
        let routes = PartitionFeedRoutes(peer: peer, options: options, epoch: epoch, clients: clients)
        return owners.map { owner in
            var routed = owner
            if owner.partition != nil { routed.routes = routes }
            return routed
        }
    }
}
