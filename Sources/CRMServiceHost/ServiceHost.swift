import CRMRPC
import CRMStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Runs one service: configuration in, store opened and migrated, server bound, service group run
/// until SIGTERM/SIGINT, then a drain and the store closed.
public enum ServiceHost {
    public static func run<S: CRMService>(_ service: S.Type, options: HostOptions) async throws {
        let configuration = try HostConfiguration.resolve(serviceName: S.name, defaultPort: S.defaultPort, options: options)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        var logger = Logger(label: "crm.\(S.name)")
        logger.logLevel = configuration.logLevel

        let database = try SQLiteStore.open(path: configuration.databasePath, migrator: S.migrator, logger: logger)
        var peers: [String: RPCClient] = [:]
        for (name, endpoints) in configuration.peers {
            peers[name] = RPCClient(
                configuration: ClientConfiguration(endpoints: endpoints, token: configuration.peerToken, defaultDeadline: .seconds(5)),
                logger: Logger(label: "crm.\(S.name).peer.\(name)")
            )
        }
        let context = ServiceContext(configuration: configuration, database: database, peers: peers, logger: logger)
        let instance = try S(context: context)
        var router = Router()
        instance.register(into: &router)

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
            readiness: instance.readiness,
            healthDetails: {
                var details = await instance.healthDetails()
                details["database"] = databasePath
                details["uptime_seconds"] = "\((ContinuousClock.now - started).components.seconds)"
                return details
            }
        )
        let address = try await server.start()
        if let portFile = configuration.portFile, let port = address.port {
            try "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
        }

        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server)] + instance.backgroundServices().map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        for client in peers.values {
            await client.close()
        }
        try database.close()
        logger.info("store closed; exiting")
    }
}
