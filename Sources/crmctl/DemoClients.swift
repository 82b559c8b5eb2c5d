import CRMProtos
import CRMRPC
import Foundation

/// The clients the demo and the report use: profiles and products over all their endpoints, and
/// matching pinned to one replica — campaigns and the trained model live in that replica's store
/// (other replicas copy models only when configured with it as their peer) — plus one client per
/// matching replica for their status.
struct DemoClients: Sendable {
    static let profilesPrefix = "/crm.profiles.v1.Profiles/"
    static let productsPrefix = "/crm.products.v1.Products/"
    static let matching = "/crm.matching.v1.Matching/"

    let profiles: RPCClient
    let products: RPCClient
    let matching: RPCClient
    let matchingEndpoint: Endpoint
    let matchingReplicas: [(Endpoint, RPCClient)]

    var matchingEndpoints: [Endpoint] { matchingReplicas.map(\.0) }

    /// Checks every endpoint the demo needs answers health, then builds the clients. Matching is
    /// pinned to `preferredMatching` when it is still in the topology, else to its first endpoint.
    static func connect(topology: Topology, token: String, preferredMatching: String?) async throws -> DemoClients {
        var down: [String] = []
        for service in ["profiles", "products", "matching"] {
            for endpoint in try topology.endpoints(of: service) where !(await HealthProbe.check(endpoint)).serving {
                down.append("\(service) \(endpoint)")
            }
        }
        guard down.isEmpty else {
            throw CRMCtlError("not serving: \(down.joined(separator: ", ")). Start the services first: crmctl up (or crmctl up --demo)")
        }
        func client(_ endpoints: [Endpoint], deadline: Int64 = 60) -> RPCClient {
            RPCClient(configuration: ClientConfiguration(endpoints: endpoints, token: token, defaultDeadline: .seconds(deadline)))
        }
        let matchingEndpoints = try topology.endpoints(of: "matching")
        let pinned = matchingEndpoints.first { $0.description == preferredMatching } ?? matchingEndpoints[0]
        let replicas = matchingEndpoints.map { ($0, $0 == pinned ? client([$0], deadline: 600) : client([$0], deadline: 30)) }
        return DemoClients(
            profiles: client(try topology.endpoints(of: "profiles")),
            products: client(try topology.endpoints(of: "products")),
            matching: replicas.first { $0.0 == pinned }?.1 ?? client([pinned], deadline: 600),
            matchingEndpoint: pinned,
            matchingReplicas: replicas
        )
    }

    func close() async {
        await profiles.close()
        await products.close()
        for (_, client) in matchingReplicas { await client.close() }
    }

    // MARK: Small questions

    func customerExists(_ id: String) async throws -> Bool {
        do {
            _ = try await profiles.unary(Self.profilesPrefix + "GetCustomer", Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = id },
                                         as: Crm_Profiles_V1_GetCustomerResponse.self)
            return true
        } catch let error as RPCError where error.code == .notFound {
            return false
        }
    }

    /// Whether profiles' change feed holds nothing after `sequence` now.
    func profilesFeedEnds(after sequence: UInt64) async throws -> Bool {
        try await profiles.serverStreaming(Self.profilesPrefix + "StreamChanges", Crm_Profiles_V1_StreamChangesRequest.with {
            $0.afterSequence = sequence
            $0.limit = 1
        }, as: Crm_Profiles_V1_ChangeEvent.self).collect().isEmpty
    }

    /// Whether products' change feed holds nothing after `sequence` now.
    func productsFeedEnds(after sequence: UInt64) async throws -> Bool {
        try await products.serverStreaming(Self.productsPrefix + "StreamChanges", Crm_Products_V1_StreamChangesRequest.with {
            $0.afterSequence = sequence
            $0.limit = 1
        }, as: Crm_Products_V1_ChangeEvent.self).collect().isEmpty
    }
}
