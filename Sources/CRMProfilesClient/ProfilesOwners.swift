import CRMProtos
import CRMRPC

/// One profiles process that owns partitions, as a follower of its own event log and change feed
/// reaches it: its owner name (empty for a map of one owner) and a client to it.
public struct ProfilesOwner: Sendable {
    public var name: String
    public var client: RPCClient
    /// Whether the client was opened for this owner (and is the caller's to close), rather than
    /// being the peer the map was read from.
    public var made: Bool

    public init(name: String, client: RPCClient, made: Bool) {
        self.name = name
        self.client = client
        self.made = made
    }

    /// The name of a follower's cursor for this owner's feed `base`: `base` itself for the one
    /// owner of a single-process map (so an install that followed one process resumes where it
    /// was), `<base>.<owner>` for each owner of a map of several, since each numbers its own feed.
    public func cursor(_ base: String) -> String {
        Self.cursor(base, owner: name)
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
        guard map.owners.count > 1 else { return [ProfilesOwner(name: "", client: peer, made: false)] }
        var owners: [ProfilesOwner] = []
        var made: [RPCClient] = []
        for owner in map.owners {
            if owner.name == map.answeredBy && peer.configuration.endpoints.count == 1 {
                owners.append(ProfilesOwner(name: owner.name, client: peer, made: false))
                continue
            }
            guard let endpoint = Endpoint(owner.endpoint) else {
                for client in made { await client.close() }
                throw RPCError(.unavailable, "partition map of \(map.answeredBy): owners[\(owner.name)].endpoint is '\(owner.endpoint)', not host:port yet; its log and feeds can be read only from it")
            }
            var configuration = peer.configuration
            configuration.endpoints = [endpoint]
            let client = RPCClient(configuration: configuration)
            made.append(client)
            owners.append(ProfilesOwner(name: owner.name, client: client, made: true))
        }
        return owners
    }
}
