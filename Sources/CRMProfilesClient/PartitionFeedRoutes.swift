import CRMPartitions
import CRMProtos
import CRMRPC
import CRMServiceHost
import Synchronization

/// Which process each partition's change feed and event log are read from, kept current as
/// partitions move (docs/partitioning.md §8): the followers of compensation and matching read
/// a partition's feeds through ``ProfilesOwner/reading(_:)``, which asks this object for the
/// partition's owner now.
///
/// Why: a partition's feeds are numbered by its file, so a follower's cursor (`profiles.p0007`)
/// stays valid when the file moves, but the process it reads from changes. The old owner forwards
/// a moved partition's feed requests, so reading through it stays correct; once that process is
/// stopped (a node emptied and removed), only the new map says where to read. So the map is read
/// again every ``recheck`` while reads succeed, and at most every ``recheckAfterFailure`` once a
/// read failed (the old owner gone), and a newer epoch re-points the partitions it moved.
///
/// One reading at a time: a follower that finds a reading under way reads by the map it has. A
/// map that does not check (``ProfilesOwners/partitionMap(of:)``) is not adopted. Owners the newer
/// map gives without an endpoint keep their earlier client (which forwards).
public final class PartitionFeedRoutes: Sendable {
    /// How often the map is read again while every read succeeds.
    public static let recheck: Duration = .seconds(10)
    /// The shortest wait between readings once a read failed.
    public static let recheckAfterFailure: Duration = .seconds(1)

    private struct State {
        var epoch: UInt64
        /// Partition → the client its feeds are read with.
        var clients: [Int: RPCClient]
        /// The clients this object opened, by endpoint (closed by ``close()``).
        var opened: [Endpoint: RPCClient] = [:]
        var checkedAt: ContinuousClock.Instant
        var readFailed = false
        var reading = false
    }

    /// The process (or processes) the map is read from: the consumer's configured profiles peer.
    let peer: RPCClient
    let options: CallOptions
    private let state: Mutex<State>

    /// Routes as the map of `epoch` gives them: `clients` by partition (opened by the caller,
    /// which closes them).
    init(peer: RPCClient, options: CallOptions, epoch: UInt64, clients: [Int: RPCClient]) {
        self.peer = peer
        self.options = options
        state = Mutex(State(epoch: epoch, clients: clients, checkedAt: .now))
    }

    /// The epoch of the map the partitions are read by.
    public var epoch: UInt64 {
        state.withLock { $0.epoch }
    }

    /// The client `partition`'s feeds are read with now, after reading the map again if it is due.
    func client(forPartition partition: Int) async -> RPCClient? {
        let due = state.withLock { state -> Bool in
            let wait = state.readFailed ? Self.recheckAfterFailure : Self.recheck
            guard !state.reading, ContinuousClock.now - state.checkedAt >= wait else { return false }
            state.reading = true
            return true
        }
        if due { await readMapAgain() }
        return state.withLock { $0.clients[partition] }
    }

    /// A read of some partition's feed failed: the next read asks for the map again (at most
    /// every ``recheckAfterFailure``), in case the partition moved.
    func readFailed() {
        state.withLock { $0.readFailed = true }
    }

    /// Closes the clients opened for owners met after the first map.
    public func close() async {
        let opened = state.withLock { state in
            defer { state.opened = [:] }
            return Array(state.opened.values)
        }
        for client in opened { await client.close() }
    }

    private func readMapAgain() async {
        let answer = try? await peer.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest(), options: options)
        let (current, opened) = state.withLock { ($0.epoch, $0.opened) }
        var clients: [Int: RPCClient] = [:]
        var newlyOpened: [Endpoint: RPCClient] = [:]
        if let answer, answer.epoch > current, let map = try? ProfilesOwners.partitionMap(of: answer) {
            for owner in answer.owners {
                let client: RPCClient
                if owner.name == answer.answeredBy && peer.configuration.endpoints.count == 1 {
                    client = peer
                } else if let endpoint = Endpoint(owner.endpoint) {
                    if let known = opened[endpoint] ?? newlyOpened[endpoint] {
                        client = known
                    } else {
                        client = peer.alone(at: endpoint)
                        newlyOpened[endpoint] = client
                    }
                } else {
                    continue  // no endpoint yet: its partitions keep their client, whose process forwards
                }
                for partition in map.partitions(ownedBy: owner.name).partitions { clients[partition] = client }
            }
        }
        state.withLock { state in
            if let answer, answer.epoch > state.epoch {
                state.epoch = answer.epoch
                state.clients.merge(clients) { $1 }
                state.opened.merge(newlyOpened) { $1 }
            }
            state.readFailed = state.readFailed && answer == nil
            state.checkedAt = .now
            state.reading = false
        }
    }
}

extension DeferredFollowers.Made {
    /// The followers of `owners`' feeds: the clients opened for them, and the routes their
    /// partitions' feeds are read by (closed with them; their map's epoch in the health details
    /// as `feed.profiles.partition_map_epoch`).
    public init(followers: [FeedFollower], owners: [ProfilesOwner]) {
        let routes = owners.lazy.compactMap(\.routes).first
        self.init(followers: followers, clients: owners.filter(\.made).map(\.client),
                  close: { await routes?.close() },
                  details: { routes.map { ["feed.profiles.partition_map_epoch": "\($0.epoch)"] } ?? [:] })
    }
}
