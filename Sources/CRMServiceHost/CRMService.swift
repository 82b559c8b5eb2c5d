import CRMRPC
import GRDB
import Logging
import ServiceLifecycle

/// What the host gives a service at start-up.
public struct ServiceContext: Sendable {
    public let configuration: HostConfiguration
    /// The service's own store, migrated.
    public let database: DatabasePool
    /// Clients of the peers named in the configuration, keyed by service name.
    public let peers: [String: RPCClient]
    public let logger: Logger
    /// Where the service counts what it does (served on `--metrics-port`).
    public let metrics: ServiceMetrics

    public init(configuration: HostConfiguration, database: DatabasePool, peers: [String: RPCClient], logger: Logger,
                metrics: ServiceMetrics? = nil) {
        self.configuration = configuration
        self.database = database
        self.peers = peers
        self.logger = logger
        self.metrics = metrics ?? ServiceMetrics(service: configuration.serviceName)
    }

    /// The client of a peer the service cannot work without.
    public func peer(_ name: String) throws -> RPCClient {
        guard let client = peers[name] else {
            throw ConfigurationError("no endpoint configured for peer '\(name)' (use --peer \(name)=HOST:PORT)")
        }
        return client
    }
}

/// One service's library: its schema, its methods and its background work. The executable only
/// hands it to ``ServiceHost/run(_:options:)``.
public protocol CRMService: Sendable {
    /// `profiles`, `products`, `matching` or `compensation`.
    static var name: String { get }
    /// The port it listens on by default.
    static var defaultPort: Int { get }
    /// The store's versioned schema.
    static var migrator: DatabaseMigrator { get }

    init(context: ServiceContext) throws

    /// Adds the service's methods.
    func register(into router: inout Router)

    /// What the handlers write into or read from while they answer (matching's decision log):
    /// started before the server and stopped after it has drained, so nothing a call answered
    /// during the drain is lost.
    func handlerDependencies() -> [any Service]

    /// Long-running work beside the server that only feeds the store (change-feed consumers,
    /// updaters); started after the server listens and stopped before it.
    func backgroundServices() -> [any Service]

    /// Extra facts for Health/Check.
    func healthDetails() async -> [String: String]

    /// Whether the service can answer yet: until ready, Health says NOT_SERVING and methods not
    /// marked `servesWhileStarting` get UNAVAILABLE. Ready from the start by default.
    var readiness: ServiceReadiness { get }

    /// What the service itself re-reads on SIGHUP, after the host's configuration (profiles: the
    /// partition map). A summary for the log, or nil when there was nothing to re-read.
    func reloadOnHangup() async -> String?
}

extension CRMService {
    public func handlerDependencies() -> [any Service] { [] }
    public func backgroundServices() -> [any Service] { [] }
    public func healthDetails() async -> [String: String] { [:] }
    public var readiness: ServiceReadiness { .ready }
    public func reloadOnHangup() async -> String? { nil }
}
