import CRMPartitions
import CRMRPC
import CRMServiceHost
import Foundation
import ServiceLifecycle
import SwiftProtobuf

/// This replica's place among matching's partition groups (docs/partitioning.md §9), and a client
/// for each other group.
///
/// A replica in a group copies only its group's customers (``Replica/holds(customerID:)``), so a
/// question about one customer is answered by that customer's group: a replica forwards it there,
/// on the caller's behalf, and relays the answer. A question across customers (a product's target
/// list, a campaign's baseline) is answered by every group for its own customers and merged here
/// (``GroupMerge``); the groups' replicas ask each other with ``groupLocalKey``, so the one asked
/// answers from its own customers and never asks further.
///
/// The model is trained by whichever group's replica is asked: it asks the other groups for their
/// customers' part of each stage (``GroupParts``) and every replica copies the model
/// (``ModelSync``). A replica listed in no group (configured with the topology but not named in
/// `matching_groups`) holds every customer, as a replica always did: it forwards nothing, merges
/// nothing and trains alone.
///
/// Configured by `groups.topology` (the topology file with `matching_groups` and the `partitions`
/// object's count) and `groups.replica` (this replica's `host:port` as the topology lists it;
/// default the configured host and port). Every other group's replicas must be among the
/// `matching` peers: their clients take that peer's TLS and token.
final class ReplicaGroups: Sendable {
    /// Another group: its index and a client that rotates over its replicas.
    struct OtherGroup: Sendable {
        let index: Int
        let partitions: PartitionSet
        let client: RPCClient
        /// What this replica's topology says the group holds (``ReplicaGroups/expectsKey``).
        let expectation: String

        /// `options` naming the partitions this replica expects the group's answer to cover.
        func expecting(_ options: CallOptions) -> CallOptions {
            var options = options
            options.metadata.append(MetadataEntry(ReplicaGroups.expectsKey, expectation))
            return options
        }
    }

    let layout: MatchingGroups
    /// This replica's group; nil when it is in none and holds every customer.
    let own: Int?
    /// Every other group (empty for a replica in no group: it answers everything itself).
    let others: [OtherGroup]

    /// Metadata a replica sets when it asks another group's replica: answer from your own
    /// customers, do not forward or merge (honoured only from a service acting for a caller).
    static let groupLocalKey = "crm-group-local"
    /// Metadata on a group-local TargetCustomers: the group's top this many, without reasons (a
    /// campaign's list, up to its size rather than TargetCustomers' `k`).
    static let limitKey = "crm-group-limit"
    /// Metadata on every part asked of another group: the partitions (`0-7 of 16`) the asking
    /// replica's topology gives that group. A replica whose own group holds others refuses the
    /// call (``checkExpectation(of:)``): while a new `matching_groups` rolls out, replicas read two
    /// layouts, and a part answered for another set of customers would count some twice, or
    /// miss some, in a list that looks complete.
    static let expectsKey = "crm-group-expects"
    /// How long another group may take to answer its part.
    static let timeout = CallOptions.timeout(.seconds(30))

    init(layout: MatchingGroups, replica endpoint: String, matchingPeers: RPCClient?) throws {
        self.layout = layout
        own = layout.group(ofReplica: endpoint)
        let peerEndpoints = matchingPeers?.configuration.endpoints.map(\.description) ?? []
        guard let own else {
            others = []
            return
        }
        guard let peers = matchingPeers else {
            throw ConfigurationError("matching group \(own): the other groups are reached through the matching peers, and none is configured")
        }
        var others: [OtherGroup] = []
        for (index, group) in layout.groups.enumerated() where index != own {
            let endpoints = try group.replicas.map { replica in
                guard let parsed = Endpoint(replica) else { throw ConfigurationError("matching group \(index): replica \(replica) is not host:port") }
                guard peerEndpoints.contains(replica) else {
                    throw ConfigurationError("matching group \(index): replica \(replica) is not among the matching peers \(peerEndpoints)")
                }
                return parsed
            }
            // Another group that is down fails the call at once (UNAVAILABLE), not at its deadline.
            others.append(OtherGroup(index: index, partitions: group.partitions, client: peers.among(endpoints, waitsForReady: false),
                                     expectation: Self.describe(group.partitions.description, count: layout.partitioning.count)))
        }
        self.others = others
    }

    /// Reads `groups.topology`; nil when the setting is absent or the topology has no groups.
    static func load(topologyPath: String?, replica: String, matchingPeers: RPCClient?) throws -> ReplicaGroups? {
        guard let topologyPath else { return nil }
        guard let data = FileManager.default.contents(atPath: topologyPath) else {
            throw ConfigurationError("groups.topology: cannot read \(topologyPath)")
        }
        let layout: MatchingGroups
        do {
            guard let read = try MatchingGroups(topology: data) else { return nil }
            layout = read
        } catch {
            throw ConfigurationError("groups.topology \(topologyPath): \(error)")
        }
        return try ReplicaGroups(layout: layout, replica: replica, matchingPeers: matchingPeers)
    }

    /// Whether this replica copies the customer (every customer when it is in no group).
    func holds(customerID: String) -> Bool {
        guard let own else { return true }
        return layout.group(ofCustomer: customerID) == own
    }

    /// Whether this replica copies the partition's customers.
    func holds(partition: Int) -> Bool {
        guard let own else { return true }
        return partition < layout.partitioning.count && layout.group(ofPartition: partition) == own
    }

    /// Where a call about `customerID` goes instead of being answered here: the client of the
    /// customer's group; nil when this replica holds the customer, when no customer is named (the
    /// handler refuses it), and for a call another group's replica sent here (answered here, so a
    /// disagreement about the layout cannot bounce a call between replicas).
    func forwarding(customerID: String, context: CallContext) -> RPCClient? {
        guard !customerID.isEmpty, !holds(customerID: customerID), !Self.isGroupLocal(context) else { return nil }
        let group = layout.group(ofCustomer: customerID)
        return others.first { $0.index == group }?.client
    }

    /// A call about one customer of another group, answered there for the same caller; nil when
    /// this replica answers it (``forwarding(customerID:context:)``).
    ///
    /// Another group's replica asking about a customer this replica's group does not hold (the two
    /// read different `matching_groups` while a new one rolls out) is refused as retryable, not
    /// answered NOT_FOUND from a copy that never had the customer.
    func forwarded<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>, _ request: Request, about customerID: String, context: CallContext
    ) async throws -> Response? {
        if Self.isGroupLocal(context), !customerID.isEmpty, !holds(customerID: customerID) {
            throw RPCError(.unavailable, "customer \(customerID) is in partition \(layout.partitioning.partition(of: customerID)), which this replica's "
                           + "matching group (partitions \(ownPartitions) of \(layout.partitioning.count)) does not hold: the asking replica reads "
                           + "other matching_groups (a new topology is rolling out); retry shortly")
        }
        guard let group = forwarding(customerID: customerID, context: context) else { return nil }
        return try await group.unary(method, request, options: options(forCallerOf: context))
    }

    /// Whether the call is another group's replica asking for this group's part.
    static func isGroupLocal(_ context: CallContext) -> Bool {
        context.forwardedBy != nil && context.metadataValue(groupLocalKey) != nil
    }

    /// Whether a call across customers must be merged with the other groups' parts.
    func merges(_ context: CallContext) -> Bool {
        !others.isEmpty && !Self.isGroupLocal(context)
    }

    /// The options of a call to another group for the caller of `context`: their principal and
    /// request id (so the other group checks and audits the same caller), marked group-local.
    func options(forCallerOf context: CallContext, limit: Int? = nil) -> CallOptions {
        var options = Self.timeout
        options.metadata = ForwardedPrincipal.metadata(forCallerOf: context) + [MetadataEntry(Self.groupLocalKey, "1")]
        if let limit { options.metadata.append(MetadataEntry(Self.limitKey, String(limit))) }
        return options
    }

    /// Each other group's answer, asked at once; the first failure fails the whole (a partial
    /// target list would look complete), as UNAVAILABLE naming the group. `ask` gets the group's
    /// client and the options to call it with: `options` naming what the group should hold.
    func askOthers<Answer: Sendable>(_ options: CallOptions,
                                     _ ask: @escaping @Sendable (RPCClient, CallOptions) async throws -> Answer) async throws -> [Answer] {
        try await withThrowingTaskGroup(of: (Int, Answer).self) { tasks in
            for (position, group) in others.enumerated() {
                tasks.addTask {
                    do {
                        return (position, try await ask(group.client, group.expecting(options)))
                    } catch let error as RPCError where error.code != .unavailable && error.code != .deadlineExceeded {
                        throw error
                    } catch {
                        throw RPCError(.unavailable, "matching group \(group.index) (partitions \(group.partitions)) did not answer its part: \(error); retry shortly")
                    }
                }
            }
            var answers: [(Int, Answer)] = []
            for try await answer in tasks { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Refuses, as retryable, a part asked by a replica whose topology gives this replica's group
    /// other partitions than its own (``expectsKey``); a call naming no expectation passes.
    func checkExpectation(of context: CallContext) throws {
        guard let expected = context.metadataValue(Self.expectsKey) else { return }
        let own = Self.describe(ownPartitions, count: layout.partitioning.count)
        guard expected != own else { return }
        throw RPCError(.unavailable, "this matching replica's group holds partitions \(own), and the asking replica expects its part for \(expected): "
                       + "the two read different matching_groups (a new topology is rolling out); retry once every replica runs with it")
    }

    /// A group's partitions as the expectation names them: `0-7 of 16` (`all of 16` for a
    /// replica in no group).
    static func describe(_ partitions: String, count: Int) -> String {
        "\(partitions) of \(count)"
    }

    /// This replica's partitions as numbers (empty: every partition).
    var ownPartitionNumbers: [UInt32] {
        own.map { layout.groups[$0].partitions.partitions.map { UInt32($0) } } ?? []
    }

    var ownPartitions: String {
        own.map { layout.groups[$0].partitions.description } ?? "all"
    }

    /// Health details: which group, which partitions.
    var details: [String: String] {
        [
            "group": own.map(String.init) ?? "none",
            "group.partitions": Self.describe(ownPartitions, count: layout.partitioning.count),
            "groups": "\(layout.groups.count)",
        ]
    }

    func close() async {
        for group in others { await group.client.close() }
    }
}

/// Closes the other groups' clients at shutdown: background services stop once the server has
/// drained, so the handlers that forwarded and merged through them have stopped by then.
struct GroupClientsCloser: Service {
    let groups: ReplicaGroups

    func run() async throws {
        try? await gracefulShutdown()
        await groups.close()
    }
}
