import CRMProfilesClient
import CRMProtos
import CRMRPC
import Foundation

/// The clients the demo and the report use: profiles, products and compensation over all their
/// endpoints, and matching pinned to one replica — the model it trains is copied to the others
/// only after a while (and only to replicas configured with it as their peer), and a campaign it
/// creates reaches them a moment later (their campaign logs, proto/README.md §16.1) — plus
/// one client per matching replica for their status; and a client per profiles process that owns
/// partitions, since each owner's change feed and event log can be read only from it.
struct DemoClients: Sendable {
    let profiles: RPCClient
    /// Every profiles owner of the partition map (one, named "", for a single process).
    let profilesOwners: [ProfilesOwner]
    let products: RPCClient
    let matching: RPCClient
    let matchingEndpoint: Endpoint
    let matchingReplicas: [(Endpoint, RPCClient)]
    /// With a long deadline: settling a month of a large brokerage takes a while.
    let compensation: RPCClient

    var matchingEndpoints: [Endpoint] { matchingReplicas.map(\.0) }

    /// Checks every endpoint the demo needs answers health (waiting for one that is still
    /// starting), then builds the clients. Matching is pinned to `preferredMatching` when it is
    /// still in the topology, else to its first endpoint.
    static func connect(topology: Topology, security: ClientSecurity, token: String?, preferredMatching: String?) async throws -> DemoClients {
        var down: [String] = []
        for service in ["profiles", "products", "matching", "compensation"] {
            for endpoint in try topology.endpoints(of: service) {
                let status = await HealthProbe.check(endpoint, security: security)
                if status.serving { continue }
                if status.startingReason != nil {
                    try await HealthProbe.waitUntilServing(endpoint, name: service, security: security)
                } else {
                    down.append("\(service) \(endpoint)")
                }
            }
        }
        guard down.isEmpty else {
            throw CRMCtlError("not serving: \(down.joined(separator: ", ")). Start the services first: crmctl up (or crmctl up --demo)")
        }
        func client(_ endpoints: [Endpoint], deadline: Int64 = 60) -> RPCClient {
            RPCClient(configuration: ClientConfiguration(endpoints: endpoints, security: security, token: token, defaultDeadline: .seconds(deadline)))
        }
        let matchingEndpoints = try topology.endpoints(of: "matching")
        let pinned = matchingEndpoints.first { $0.description == preferredMatching } ?? matchingEndpoints[0]
        let replicas = matchingEndpoints.map { ($0, $0 == pinned ? client([$0], deadline: 600) : client([$0], deadline: 30)) }
        let profiles = client(try topology.endpoints(of: "profiles"))
        return DemoClients(
            profiles: profiles,
            profilesOwners: try await ProfilesOwners.read(from: profiles, options: .timeout(.seconds(30))),
            products: client(try topology.endpoints(of: "products")),
            matching: replicas.first { $0.0 == pinned }?.1 ?? client([pinned], deadline: 600),
            matchingEndpoint: pinned,
            matchingReplicas: replicas,
            compensation: client(try topology.endpoints(of: "compensation"), deadline: 600)
        )
    }

    func close() async {
        for owner in profilesOwners where owner.made { await owner.client.close() }
        await profiles.close()
        await products.close()
        for (_, client) in matchingReplicas { await client.close() }
        await compensation.close()
    }

    // MARK: Small questions

    func customerExists(_ id: String) async throws -> Bool {
        do {
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = id })
            return true
        } catch let error as RPCError where error.code == .notFound {
            return false
        }
    }

    /// Whether every profiles owner's change feed holds nothing after the position `applied` gives
    /// for that owner now (nil: the follower reports no position for it yet, so not caught up).
    func profilesFeedsEnd(of followed: (ProfilesOwner) -> Bool = { _ in true }, after applied: (ProfilesOwner) -> UInt64?) async throws -> Bool {
        try await everyOwnerEnds(of: followed, after: applied) { owner, sequence in
            try await owner.client.serverStreaming(Crm_Profiles_V1_Profiles.streamChanges, Crm_Profiles_V1_StreamChangesRequest.with {
                $0.afterSequence = sequence
                $0.limit = 1
                if let partition = owner.selector { $0.partition = partition }
            }).collect().isEmpty
        }
    }

    /// Whether products' change feed holds nothing after `sequence` now.
    func productsFeedEnds(after sequence: UInt64) async throws -> Bool {
        try await products.serverStreaming(Crm_Products_V1_Products.streamChanges, Crm_Products_V1_StreamChangesRequest.with {
            $0.afterSequence = sequence
            $0.limit = 1
        }).collect().isEmpty
    }

    /// The profiles event types compensation follows (trades, fund transfers, end-of-day positions,
    /// margin interest: the income and asset events its proto lists); its cursor on the event log
    /// is the id of the last event of these types it applied.
    static let compensationEventTypes: [Crm_Profiles_V1_EventType] = [.trade, .fundTransfer, .dailyPosition, .marginInterest]

    /// Whether every profiles owner's event log holds no event of `types` after the id `applied`
    /// gives for that owner now (nil: no position reported for it yet, so not caught up).
    func profilesEventLogsEnd(types: [Crm_Profiles_V1_EventType], of followed: (ProfilesOwner) -> Bool = { _ in true },
                              after applied: (ProfilesOwner) -> UInt64?) async throws -> Bool {
        try await everyOwnerEnds(of: followed, after: applied) { owner, eventID in
            try await owner.client.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, Crm_Profiles_V1_StreamEventsRequest.with {
                $0.afterEventID = eventID
                $0.limit = 1
                $0.types = types
                if let partition = owner.selector { $0.partition = partition }
            }).collect().isEmpty
        }
    }

    /// Whether `endsAfter(owner, position)` holds for every `followed` owner's feed (each
    /// partition's, for an owner keeping a file per partition; a matching group's replica follows
    /// its partitions' only), asked in turn until one does not or has no position.
    private func everyOwnerEnds(of followed: (ProfilesOwner) -> Bool, after applied: (ProfilesOwner) -> UInt64?,
                                _ endsAfter: (ProfilesOwner, UInt64) async throws -> Bool) async throws -> Bool {
        for owner in profilesOwners where followed(owner) {
            guard let position = applied(owner), try await endsAfter(owner, position) else { return false }
        }
        return true
    }

    /// A service's health details (a matching replica's copy positions, compensation's feed positions).
    func healthDetails(of client: RPCClient) async throws -> [String: String] {
        try await client.unary(Crm_Rpc_V1_Health.check, HealthCheckRequest(), options: .timeout(.seconds(10))).details
    }

    /// Compensation's health details: among them `feed.<name>.position`, the cursor of each feed it
    /// follows (what it has applied), and `feed.<name>.last_error`.
    func compensationHealthDetails() async throws -> [String: String] {
        try await compensation.unary(Crm_Rpc_V1_Health.check, HealthCheckRequest(),
                                     options: .timeout(.seconds(10))).details
    }

    /// Whether compensation has closed `month` ("YYYY-MM"): a closed month has its statements.
    func compensationMonthIsClosed(_ month: String) async throws -> Bool {
        try await compensation.unary(Crm_Compensation_V1_Compensation.listStatements, Crm_Compensation_V1_ListStatementsRequest.with {
            $0.month = month
            $0.page = .with { $0.pageSize = 1 }
        }).page.totalCount > 0
    }

    /// Every statement of a closed month, without lines, by manager.
    func compensationStatements(month: String) async throws -> [Crm_Compensation_V1_Statement] {
        var statements: [Crm_Compensation_V1_Statement] = []
        var token = ""
        repeat {
            let page = try await compensation.unary(Crm_Compensation_V1_Compensation.listStatements, Crm_Compensation_V1_ListStatementsRequest.with {
                $0.month = month
                $0.page = .with { $0.pageSize = 5_000; $0.pageToken = token }
            })
            statements += page.statements
            token = page.page.nextPageToken
        } while !token.isEmpty
        return statements
    }
}
