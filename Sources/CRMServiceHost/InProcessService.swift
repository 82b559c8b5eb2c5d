import CRMRPC
import CRMStore
import GRDB
import Logging
import NIOCore

/// A service run inside the calling process on 127.0.0.1 and a free port, over a real SQLite file:
/// what unit tests of a service's handlers use. Everything but the process boundary is real —
/// the codec, the runtime, auth, the store.
public final class InProcessService<S: CRMService>: Sendable {
    public let service: S
    public let server: RPCServer
    public let database: DatabasePool
    public let port: Int

    /// Starts `S` over the store at `databasePath` with the given tokens and settings.
    public static func start(
        databasePath: String,
        tokens: [TokenAuthenticator.Entry],
        settings: [String: String] = [:],
        peers: [String: RPCClient] = [:],
        runBackground: Bool = false
    ) async throws -> InProcessService<S> {
        let options = try HostOptions.parse(["--database", databasePath, "--port", "0"])
        var configuration = try HostConfiguration.resolve(serviceName: S.name, defaultPort: 0, options: options, environment: [:])
        configuration.tokens = tokens
        configuration.settings = settings
        let logger = Logger(label: "crm.\(S.name).test")
        let database = try SQLiteStore.open(path: databasePath, migrator: S.migrator)
        let service = try S(context: ServiceContext(configuration: configuration, database: database, peers: peers, logger: logger))
        var router = Router()
        service.register(into: &router)
        let server = RPCServer(
            serviceName: S.name,
            configuration: RPCServerConfiguration(port: 0),
            router: router,
            authenticator: TokenAuthenticator(entries: tokens),
            logger: logger,
            readiness: service.readiness
        )
        let address = try await server.start()
        // The service's background work (feed followers, updaters) as the host would run it; stop()
        // cancels it.
        let background: Task<Void, Never>? = runBackground ? Task {
            await withDiscardingTaskGroup { group in
                for work in service.backgroundServices() {
                    group.addTask {
                        do {
                            try await work.run()
                        } catch {
                            if !Task.isCancelled { logger.error("background service failed", metadata: ["error": "\(error)"]) }
                        }
                    }
                }
            }
        } : nil
        return InProcessService(service: service, server: server, database: database, port: address.port ?? 0, background: background)
    }

    private let background: Task<Void, Never>?

    private init(service: S, server: RPCServer, database: DatabasePool, port: Int, background: Task<Void, Never>?) {
        self.background = background
        self.service = service
        self.server = server
        self.database = database
        self.port = port
    }

    /// A client of this service presenting `token`.
    public func client(token: String?) -> RPCClient {
        RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], token: token, defaultDeadline: .seconds(30)))
    }

    /// Drains the server and closes the store.
    public func stop() async throws {
        background?.cancel()
        await background?.value
        await server.shutdown()
        try database.close()
    }
}
