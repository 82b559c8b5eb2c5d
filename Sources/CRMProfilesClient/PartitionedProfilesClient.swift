import CRMPartitions
import CRMProtos
import CRMRPC
import Foundation
import SwiftProtobuf

/// # CRMProfilesClient
///
/// A profiles client that knows the partition map (proto/README.md §17): it asks any profiles
/// process for the map once, then sends each customer's calls — and each part of an ingestion
/// batch — straight to the process owning the customer, saving the hop a process that does not own
/// it would forward through. Calls across customers go to any process, which merges.
///
/// Owners whose endpoint the map does not give (a process not yet listed in the topology) are
/// reached through the process the map came from, which forwards. With one process owning
/// everything this is one client, as before.
public final class PartitionedProfilesClient: Sendable {
    /// The map the calls are routed by.
    public let map: PartitionMap
    /// The process the map came from: calls across customers, and owners without a known endpoint.
    public let entry: RPCClient
    private let owners: [String: RPCClient]
    /// Clients this object made (closed by ``close()``); the entry client is the caller's.
    private let made: [RPCClient]

    /// Reads the map from `entry` and opens (lazily: on their first call) a client per owner with
    /// `entry`'s configuration at the owner's endpoint.
    public static func connect(through entry: RPCClient) async throws -> PartitionedProfilesClient {
        let answer = try await entry.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest())
        let map: PartitionMap
        do {
            map = try ProfilesOwners.partitionMap(of: answer)
        } catch {
            throw RPCError(.internal, "GetPartitionMap answered a map this client cannot use: \(error)")
        }
        var owners: [String: RPCClient] = [:]
        var made: [RPCClient] = []
        for owner in answer.owners {
            if owner.name == answer.answeredBy || map.owners.count == 1 {
                owners[owner.name] = entry
                continue
            }
            guard let endpoint = Endpoint(owner.endpoint) else { continue }
            let client = entry.alone(at: endpoint)
            owners[owner.name] = client
            made.append(client)
        }
        return PartitionedProfilesClient(map: map, entry: entry, owners: owners, made: made)
    }

    private init(map: PartitionMap, entry: RPCClient, owners: [String: RPCClient], made: [RPCClient]) {
        self.map = map
        self.entry = entry
        self.owners = owners
        self.made = made
    }

    /// The client of the process owning `customerID` (the entry process when its endpoint is unknown).
    public func client(forCustomer customerID: String) -> RPCClient {
        owners[map.owner(ofCustomer: customerID)] ?? entry
    }

    /// A customer's call, sent to its owner.
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>, _ request: Request, customer customerID: String, options: CallOptions = CallOptions()
    ) async throws -> Response {
        try await client(forCustomer: customerID).unary(method, request, options: options)
    }

    /// An ingestion batch split by owner, each part sent to its owner at once; the answer adds the
    /// parts' counts. If a part fails the call fails, with the other parts stored: retrying the
    /// whole batch stores the rest and counts the stored parts as duplicates.
    public func ingest<Request: CustomerEventBatch>(
        _ method: UnaryMethod<Request, Crm_Profiles_V1_IngestResponse>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> Crm_Profiles_V1_IngestResponse {
        // Owners without a known endpoint all go through the entry process: one part for them.
        var parts: [ObjectIdentifier: (client: RPCClient, positions: [Int])] = [:]
        for (owner, positions) in map.positionsByOwner(request.customerIDs) {
            let client = owners[owner] ?? entry
            parts[ObjectIdentifier(client), default: (client, [])].positions += positions
        }
        if parts.count <= 1 {
            return try await (parts.values.first?.client ?? entry).unary(method, request, options: options)
        }
        return try await withThrowingTaskGroup(of: Crm_Profiles_V1_IngestResponse.self) { group in
            for part in parts.values {
                let subset = request.keeping(part.positions.sorted())
                group.addTask { try await part.client.unary(method, subset, options: options) }
            }
            var total = Crm_Profiles_V1_IngestResponse()
            for try await answer in group {
                total.accepted += answer.accepted
                total.duplicates += answer.duplicates
            }
            return total
        }
    }

    /// Closes the owners' clients this object opened (not the entry client, which is the caller's).
    public func close() async {
        for client in made { await client.close() }
    }
}

/// An ingestion batch whose events each name a customer: what ``PartitionedProfilesClient`` splits.
public protocol CustomerEventBatch: SwiftProtobuf.Message {
    var customerIDs: [String] { get }
    /// The batch with only the events at `positions`, in that order.
    func keeping(_ positions: [Int]) -> Self
}

extension Crm_Profiles_V1_IngestTradesRequest: CustomerEventBatch {
    public var customerIDs: [String] { events.map(\.customerID) }
    public func keeping(_ positions: [Int]) -> Self { .with { $0.events = positions.map { events[$0] } } }
}
extension Crm_Profiles_V1_IngestFundTransfersRequest: CustomerEventBatch {
    public var customerIDs: [String] { events.map(\.customerID) }
    public func keeping(_ positions: [Int]) -> Self { .with { $0.events = positions.map { events[$0] } } }
}
extension Crm_Profiles_V1_IngestDailyPositionsRequest: CustomerEventBatch {
    public var customerIDs: [String] { events.map(\.customerID) }
    public func keeping(_ positions: [Int]) -> Self { .with { $0.events = positions.map { events[$0] } } }
}
extension Crm_Profiles_V1_IngestMarginAccountsRequest: CustomerEventBatch {
    public var customerIDs: [String] { events.map(\.customerID) }
    public func keeping(_ positions: [Int]) -> Self { .with { $0.events = positions.map { events[$0] } } }
}
extension Crm_Profiles_V1_IngestMarginInterestRequest: CustomerEventBatch {
    public var customerIDs: [String] { events.map(\.customerID) }
    public func keeping(_ positions: [Int]) -> Self { .with { $0.events = positions.map { events[$0] } } }
}
extension Crm_Profiles_V1_IngestServiceContactsRequest: CustomerEventBatch {
    public var customerIDs: [String] { events.map(\.customerID) }
    public func keeping(_ positions: [Int]) -> Self { .with { $0.events = positions.map { events[$0] } } }
}
extension Crm_Profiles_V1_IngestProductViewsRequest: CustomerEventBatch {
    public var customerIDs: [String] { events.map(\.customerID) }
    public func keeping(_ positions: [Int]) -> Self { .with { $0.events = positions.map { events[$0] } } }
}
