import CRMRPC
import CRMStore
import Foundation
import GRDB
import Logging
import UnixSignals
import NIOCore
import ServiceLifecycle

/// One service put together — store opened and migrated, peers, the service, its router and its
/// server — the same way for the executables (``ServiceHost``) and for tests
/// (``InProcessService``), so what tests exercise is what runs in production: the configured
/// limits, the health details, the request checks and the shutdown order.
///
/// Order, as Hummingbird keeps it: what handlers depend on starts before the server and stops after
/// it has drained (a decision answered during the drain still reaches the decision log); the
/// server; then the background work that only feeds the store (feed followers, updaters), which
/// stops first.
public struct ServiceAssembly<S: CRMService>: Sendable {
    public let service: S
    public let server: RPCServer
    public let database: DatabasePool
    public let configuration: HostConfiguration
    /// The peers this assembly made from the configuration, closed with it (peers handed in by a
    /// test are the test's to close).
    private let ownedPeers: [RPCClient]
    private let logger: Logger

    /// The default deadline of calls to peers: a peer that does not answer in time is unavailable.
    public static var peerDeadline: TimeAmount { .seconds(5) }

    /// Opens the store at `configuration.databasePath`, builds the service and its server. `peers`
    /// nil: one client per peer the configuration names, presenting its peer token.
    public static func assemble(configuration: HostConfiguration, peers given: [String: RPCClient]? = nil,
                                logger: Logger) throws -> ServiceAssembly {
        let database = try SQLiteStore.open(path: configuration.databasePath, migrator: S.migrator, logger: logger)
        var peers = given ?? [:]
        var owned: [RPCClient] = []
        if given == nil {
            for (name, endpoints) in configuration.peers {
                let client = RPCClient(
                    configuration: ClientConfiguration(endpoints: endpoints, token: configuration.peerToken, defaultDeadline: peerDeadline),
                    logger: Logger(label: "crm.\(S.name).peer.\(name)")
                )
                peers[name] = client
                owned.append(client)
            }
        }
        let service: S
        do {
            service = try S(context: ServiceContext(configuration: configuration, database: database, peers: peers, logger: logger))
        } catch {
            try? database.close()
            throw error
        }
        var router = Router(requestCheck: ContractChecks.requests)
        service.register(into: &router)
        let databasePath = configuration.databasePath
        let started = ContinuousClock.now
        let server = RPCServer(
            serviceName: S.name,
            configuration: RPCServerConfiguration(
                host: configuration.host,
                port: configuration.port,
                limits: WireLimits(maxFrameLength: configuration.maxFrameBytes),
                shutdownGracePeriod: .seconds(Int64(configuration.shutdownGraceSeconds))
            ),
            router: router,
            authenticator: TokenAuthenticator(entries: configuration.tokens),
            logger: logger,
            readiness: service.readiness,
            healthDetails: {
                var details = await service.healthDetails()
                details["database"] = databasePath
                details["uptime_seconds"] = "\((ContinuousClock.now - started).components.seconds)"
                return details
            }
        )
        return ServiceAssembly(service: service, server: server, database: database, configuration: configuration, ownedPeers: owned, logger: logger)
    }

    /// The service group in start order: handler dependencies, the server, then (unless
    /// `background` is false) the background work. It shuts down in reverse order on `signals` or
    /// ``ServiceGroup/triggerGracefulShutdown()``.
    ///
    /// A background service that ends by itself (a feed follower with no peer to follow) leaves the
    /// rest running; any service that fails, and a dependency or the server that ends, stop the group.
    public func serviceGroup(signals: [UnixSignal] = [], background: Bool = true) -> ServiceGroup {
        typealias Configured = ServiceGroupConfiguration.ServiceConfiguration
        let foreground: [Configured] = (service.handlerDependencies() + [server]).map { Configured(service: $0) }
        let work: [Configured] = background ? service.backgroundServices().map { Configured(service: $0, successTerminationBehavior: .ignore) } : []
        return ServiceGroup(configuration: ServiceGroupConfiguration(
            services: foreground + work,
            gracefulShutdownSignals: signals,
            logger: logger
        ))
    }

    /// Closes the peers this assembly made and the store. Call once the group has finished.
    public func close() async throws {
        for client in ownedPeers { await client.close() }
        try database.close()
    }
}
