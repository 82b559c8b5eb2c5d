import CRMPartitions
import CRMProtos
import CRMRPC
import CRMServiceHost
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import Synchronization

/// Where this profiles process stands in the partition map: what it owns, who owns the rest and
/// how to reach them (docs/partitioning.md §5, §6).
///
/// Configured by `partitions.topology` (the topology file with the `partitions` object and the
/// `profiles` endpoints) and `partitions.owner` (this process's owner name, `profiles-N`; by
/// default the machine's host name, which is the pod's name in a StatefulSet). Without a topology,
/// or with one that has no `partitions` object, the process owns every partition and never
/// forwards: today's single-process install.
///
/// The map is read at start, and again only when a partition moves (``ReloadPartitionMap``,
/// SIGHUP: ``PartitionMoves``): ownership decides which customers this process's files hold, so it
/// changes only once the files have moved. Peers' endpoints are read from the same file when a
/// call first needs them, so processes started on port 0 (tests) or before their peers are
/// scheduled (Kubernetes) can be started first and wired once the file lists everyone.
final class PartitionRouting: Sendable {
    /// The map calls are routed by now. Read it once per decision: a move may replace it between
    /// two reads.
    var map: PartitionMap { current.withLock { $0.map } }
    /// This process's owner name.
    let ownName: String
    /// Whether every partition is this process's (no forwarding at all).
    var ownsEverything: Bool { current.withLock { $0.ownsEverything } }
    /// Whether the map came from a topology file (it can then change with a move); false for a
    /// single process without one, which owns every partition for good.
    let mapped: Bool
    /// This process's ``SettingsDigest``: sent with every forwarded call, answered in GetPartitionMap.
    let settingsDigest: SettingsDigest
    /// This process's business day, sent with every forwarded call; a newer one heard is adopted.
    let forwardedDay: ForwardedBusinessDay
    private let current: Mutex<Ownership>
    private let topologyPath: String?
    private let clients = NIOLockedValueBox<[String: RPCClient]>([:])
    private let security: ClientSecurity
    private let token: String?
    private let logger: Logger

    /// How long a forwarded call may take when the caller set no deadline.
    static let defaultDeadline: TimeAmount = .seconds(30)

    /// The map this process routes by and its own name in it, read from the settings before
    /// anything else is built (which partitions are owned decides which files are opened).
    struct Placement: Sendable {
        let map: PartitionMap
        let ownName: String
        /// Whether the map is the topology file's (else one process owns every partition for good).
        let fromTopology: Bool
        /// The epoch of the topology file's map when a newer pushed map is routed by instead.
        let fileBehind: UInt64?

        /// The partitions `ownName` owns, ascending.
        var owned: [Int] { map.partitions(ownedBy: ownName).partitions.sorted() }

        /// `pushed`: the map last given by ReloadPartitionMap (``PushedMapRecord``), routed by
        /// when it is newer than the file's.
        init(settings: ProfilesSettings, pushed: PartitionMap? = nil) throws {
            let partitioning = settings.partitioning
            let topology: PartitionTopology?
            if let path = settings.topologyPath {
                topology = try PartitionRouting.readTopology(path)
            } else {
                topology = nil
            }
            if let file = topology?.map {
                // A map pushed since the file was last written (its copy in a pod lags the ConfigMap).
                let newer = pushed.flatMap { $0.partitioning == file.partitioning && $0.epoch > file.epoch ? $0 : nil }
                let map = newer ?? file
                self.fileBehind = newer == nil ? nil : file.epoch
                guard map.partitioning == partitioning else {
                    throw ConfigurationError("the partition map in \(settings.topologyPath ?? "") has \(map.partitioning.count) partitions, "
                        + "but partitions.count is \(partitioning.count)")
                }
                let own = settings.ownerName ?? HostConfiguration.machineHostName() ?? ""
                // A process owning nothing yet is a node added to take partitions moved to it
                // (docs/partitioning.md §8): allowed when the topology lists it among the profiles
                // processes, so a mistyped owner name is still refused.
                guard !map.partitions(ownedBy: own).partitions.isEmpty || topology?.endpoint(ofOwner: own) != nil else {
                    throw ConfigurationError("partitions.owner \(own.isEmpty ? "(unset)" : own) owns no partition in the map of "
                        + "\(settings.topologyPath ?? "") and is not among its profiles processes; its owners are "
                        + "\(map.owners.keys.sorted().joined(separator: ", "))")
                }
                self.map = map
                self.ownName = own
                self.fromTopology = true
            } else {
                let own = settings.ownerName ?? PartitionTopology.instancePrefix + "0"
                self.map = PartitionMap.single(own, partitioning: partitioning)
                self.ownName = own
                self.fromTopology = false
                self.fileBehind = nil
            }
        }
    }

    init(settings: ProfilesSettings, placement: Placement, settingsDigest: SettingsDigest, businessDay: any BusinessDayKeeper,
         configuration: HostConfiguration, logger: Logger) throws {
        self.logger = logger
        self.settingsDigest = settingsDigest
        self.forwardedDay = ForwardedBusinessDay(keeper: businessDay, logger: logger)
        self.ownName = placement.ownName
        self.current = Mutex(Ownership(map: placement.map, ownName: placement.ownName))
        self.topologyPath = settings.topologyPath
        self.mapped = placement.fromTopology
        // As the host's own peers: the service certificate with TLS (mutual TLS, no token), else the peer token.
        if !placement.fromTopology {
            // Never calls a peer: it owns every partition for good.
            self.security = .plaintext()
            self.token = nil
        } else if let files = configuration.tls {
            self.security = .tls(try ClientTLSContext(files))
            self.token = nil
        } else {
            self.security = .plaintext(onNetwork: configuration.plaintextOnNetwork)
            self.token = configuration.peerToken
        }
    }

    /// The map routed by, and whether it gives this process every partition (asked per call
    /// across customers, so worked out once per map).
    private struct Ownership: Sendable {
        let map: PartitionMap
        let ownsEverything: Bool

        init(map: PartitionMap, ownName: String) {
            self.map = map
            self.ownsEverything = map.partitions(ownedBy: ownName).partitions.count == map.partitioning.count
        }
    }

    /// Routes by `map` from now on (a move's new map, once this process's files match it).
    func adopt(_ map: PartitionMap) {
        current.withLock { $0 = Ownership(map: map, ownName: ownName) }
    }

    /// The owners `map` names that the topology file does not list among the profiles processes
    /// (a pushed map must name only processes this one can reach).
    func unknownOwners(in map: PartitionMap) -> [String] {
        let known = endpoints(in: map)
        return map.owners.keys.filter { known[$0] == nil }.sorted()
    }

    /// The map the topology file holds now (what ``adopt(_:)`` is given after a move).
    func readMap() throws -> PartitionMap {
        guard let topologyPath else {
            throw ConfigurationError("this process has no partitions.topology: it owns every partition, and no map can move them")
        }
        guard let map = try Self.readTopology(topologyPath).map else {
            throw ConfigurationError("the topology \(topologyPath) has no partitions object any more")
        }
        return map
    }

    static func readTopology(_ path: String) throws -> PartitionTopology {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError("partitions.topology: cannot read \(path): \(error)")
        }
        do {
            return try PartitionTopology(json: data)
        } catch {
            throw ConfigurationError("partitions.topology \(path): \(error)")
        }
    }

    func partition(of customerID: String) -> Int {
        map.partitioning.partition(of: customerID)
    }

    /// The owners other than this process, by name, sorted.
    var otherOwners: [String] {
        otherOwners(in: map)
    }

    /// The owners other than this process under `map`, by name, sorted (one map for one decision).
    func otherOwners(in map: PartitionMap) -> [String] {
        map.owners.keys.filter { $0 != ownName }.sorted()
    }

    /// The endpoints the topology file gives each owner now (this process's own included), for
    /// GetPartitionMap; owners it does not list yet have none.
    func endpoints(in map: PartitionMap) -> [String: String] {
        guard let topologyPath, let topology = try? Self.readTopology(topologyPath) else { return [:] }
        var endpoints: [String: String] = [:]
        for owner in map.owners.keys {
            endpoints[owner] = topology.endpoint(ofOwner: owner)
        }
        return endpoints
    }

    /// What a call another profiles process forwarded carries, before it is served or passed on:
    /// refused when the forwarder's settings differ (``SettingsDigest/admit(_:ownName:)``); a newer
    /// business day it carries is adopted (``ForwardedBusinessDay/hear(_:)``).
    func admit(_ context: CallContext) throws {
        try settingsDigest.admit(context, ownName: ownName)
        forwardedDay.hear(context)
    }

    /// Calls `owner` with an encoded request on behalf of the call's principal, within the call's
    /// remaining deadline. An owner that cannot be reached, or that is not serving, is UNAVAILABLE
    /// naming `what` (the partition), so the caller knows to retry and which part failed.
    func call(_ owner: String, method: String, payload: Data, context: CallContext, localOnly: Bool = false,
              what: String) async throws -> Data {
        let client = try client(for: owner, what: what)
        let timeout = context.deadline.map { $0 - NIODeadline.now() } ?? Self.defaultDeadline
        guard timeout > .nanoseconds(0) else { throw RPCError(.deadlineExceeded, "no time left to forward \(what) to \(owner)") }
        do {
            return try await client.unaryRaw(method, payload: payload,
                                             options: CallOptions(timeout: .some(timeout), metadata: forwardingMetadata(context, localOnly: localOnly)))
        } catch {
            await forgetIfMoved(owner, after: error)
            throw Self.unavailable(error, owner: owner, what: what)
        }
    }

    /// Opens `owner`'s stream of a server-streaming method on behalf of the call's principal, as
    /// `call` does for a unary one. A stream has no deadline unless the caller gave one (a page of
    /// month-end dimensions takes seconds, a whole book minutes); failures while it runs are
    /// UNAVAILABLE naming `what` like the call's.
    ///
    /// The owner's messages are read as the caller takes them (a merge across owners takes from
    /// one source at a time; a caller relaying to a slow client takes as that client reads). The
    /// bulk streams (``bulkStreams``) run on a connection of their own whose backlog is bounded
    /// (``RPCClient/forBulkStreams(backlogLimit:)``), closed when the stream goes: on the shared
    /// connection an owner's whole answer could pile up in this process ahead of its caller, and
    /// the shared connection's reads cannot be stopped for one call.
    func stream(_ owner: String, method: String, payload: Data, context: CallContext, localOnly: Bool,
                what: String) async throws -> AsyncThrowingStream<Data, any Error> {
        let shared = try client(for: owner, what: what)
        let timeout = context.deadline.map { $0 - NIODeadline.now() }
        if let timeout, timeout <= .nanoseconds(0) { throw RPCError(.deadlineExceeded, "no time left to forward \(what) to \(owner)") }
        let own = Self.bulkStreams.contains(method) ? shared.forBulkStreams() : nil
        let raw: AsyncThrowingStream<Data, any Error>
        do {
            raw = try await (own ?? shared).serverStreamingRaw(method, payload: payload,
                                                               options: CallOptions(timeout: .some(timeout), metadata: forwardingMetadata(context, localOnly: localOnly)))
        } catch {
            await own?.close()
            await forgetIfMoved(owner, after: error)
            throw Self.unavailable(error, owner: owner, what: what)
        }
        let relay = Relay(raw, closing: own, owner: owner, what: what)
        return AsyncThrowingStream { try await relay.next() }
    }

    /// Streams forwarded on a bounded connection of their own: a book's dimensions as of past
    /// days, its customers, a snapshot — minutes of messages, where the feeds' and the other
    /// calls' answers are short.
    static let bulkStreams: Set<String> = [
        Crm_Profiles_V1_Profiles.streamDimensionsAsOf.path, Crm_Profiles_V1_Profiles.streamCustomers.path,
        Crm_Profiles_V1_Profiles.streamSnapshot.path,
    ]

    /// An owner's stream as its caller takes it, failures named as the owner's; closes the
    /// stream's own client (if it has one) once nobody holds the stream. Iterated by one task at a
    /// time (the caller's, through the stream that wraps it), hence unchecked.
    private final class Relay: @unchecked Sendable {
        private var messages: AsyncThrowingStream<Data, any Error>.AsyncIterator
        private let client: RPCClient?
        private let owner: String
        private let what: String

        init(_ stream: AsyncThrowingStream<Data, any Error>, closing client: RPCClient?, owner: String, what: String) {
            self.messages = stream.makeAsyncIterator()
            self.client = client
            self.owner = owner
            self.what = what
        }

        func next() async throws -> Data? {
            do {
                return try await messages.next()
            } catch {
                throw PartitionRouting.unavailable(error, owner: owner, what: what)
            }
        }

        deinit {
            guard let client else { return }
            Task { await client.close() }
        }
    }

    /// What a forwarded call carries: the request id, this process's settings digest, the caller's
    /// principal, and whether the owner answers from its own partitions only (a fanned-out part).
    private func forwardingMetadata(_ context: CallContext, localOnly: Bool) -> [MetadataEntry] {
        var metadata = ForwardedPrincipal.metadata(forCallerOf: context) + [MetadataEntry(SettingsDigest.metadataKey, settingsDigest.value)]
        if localOnly { metadata.append(MetadataEntry(Self.localOnlyKey, "1")) }
        return metadata + forwardedDay.metadata(ownName: ownName)
    }

    /// An owner's own refusal passes as it is; not reaching it is UNAVAILABLE naming `what`.
    private static func unavailable(_ error: any Error, owner: String, what: String) -> any Error {
        if let error = error as? RPCError, error.code != .unavailable { return error }
        let reason = (error as? RPCError)?.message ?? "\(error)"
        return RPCError(.unavailable, "\(what) is owned by \(owner), which is unavailable (\(reason)); retry shortly")
    }

    /// Asks `owner` for its partition map as this process (not on anyone's behalf): the business-day
    /// gossip's question. UNAVAILABLE while the topology gives no endpoint for it yet.
    func partitionMap(of owner: String, timeout: TimeAmount) async throws -> Crm_Profiles_V1_GetPartitionMapResponse {
        let client = try client(for: owner, what: "the partition map of \(owner)")
        do {
            return try await client.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest(),
                                          options: CallOptions(timeout: .some(timeout)))
        } catch {
            await forgetIfMoved(owner, after: error)
            throw error
        }
    }

    /// After a call to `owner` failed UNAVAILABLE: when the topology now gives it another endpoint
    /// (a process restarted elsewhere: a new port, a rescheduled pod), the client of the old one is
    /// closed, so the next call reaches the new one. Read only on failures: a working peer costs
    /// no file read.
    private func forgetIfMoved(_ owner: String, after error: any Error) async {
        guard (error as? RPCError)?.code == .unavailable || !(error is RPCError), let topologyPath,
              let topology = try? Self.readTopology(topologyPath), let address = topology.endpoint(ofOwner: owner),
              let endpoint = Endpoint(address) else { return }
        let stale = clients.withLockedValue { clients -> RPCClient? in
            guard let client = clients[owner], client.configuration.endpoints != [endpoint] else { return nil }
            clients[owner] = nil
            return client
        }
        if let stale {
            logger.notice("a partition owner listens elsewhere now", metadata: ["owner": "\(owner)", "endpoint": "\(endpoint)"])
            await stale.close()
        }
    }

    private func client(for owner: String, what: String) throws -> RPCClient {
        if let client = clients.withLockedValue({ $0[owner] }) { return client }
        // Not reached yet: the topology file says where it listens now.
        guard let topologyPath, let topology = try? Self.readTopology(topologyPath),
              let address = topology.endpoint(ofOwner: owner), let endpoint = Endpoint(address) else {
            throw RPCError(.unavailable, "\(what) is owned by \(owner), whose endpoint the topology \(topologyPath ?? "") does not give yet; retry shortly")
        }
        return clients.withLockedValue { clients in
            if let existing = clients[owner] { return existing }
            let client = RPCClient(
                // An owner that cannot be reached fails the forwarded call at once (UNAVAILABLE naming
                // the partition): the caller retries, and calls for the other owners' partitions
                // never wait behind a dead one for a deadline each.
                configuration: ClientConfiguration(endpoints: [endpoint], security: security, token: token, defaultDeadline: Self.defaultDeadline,
                                                   waitsForReady: false),
                logger: Logger(label: "crm.profiles.partition.\(owner)")
            )
            clients[owner] = client
            return client
        }
    }

    /// Metadata a fanned-out part carries: answer from your own partitions only, do not fan out
    /// again. Honoured only on a call a service forwarded.
    static let localOnlyKey = "crm-partition-local"

    /// Whether a call must be answered from this process's partitions alone: a part of another
    /// process's fan-out, or any call when this process owns everything.
    func answersLocally(_ context: CallContext) -> Bool {
        ownsEverything || (context.forwardedBy != nil && context.metadataValue(Self.localOnlyKey) != nil)
    }

    /// Closes the peers' connections.
    func close() async {
        let all = clients.withLockedValue { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in all { await client.close() }
    }
}

/// Keeps the partition peers' connections for as long as the server serves, and closes them after
/// it has drained (a handler dependency: started before the server, stopped after it).
struct PartitionPeers: Service {
    let routing: PartitionRouting

    func run() async throws {
        try? await gracefulShutdown()
        await routing.close()
    }
}
