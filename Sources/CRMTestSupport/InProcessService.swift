import CRMAudit
import CRMRPC
import CRMServiceHost
import CRMStore
import GRDB
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A service run inside the calling process on 127.0.0.1 and a free port, over a real SQLite file
/// (in plaintext, on loopback):
/// what unit tests of a service's handlers use. It is assembled and run exactly as the executable
/// does (``ServiceAssembly``, its service group, its shutdown order); only the process boundary is
/// missing.
public final class InProcessService<S: CRMService>: Sendable {
    public let service: S
    public let server: RPCServer
    public let database: DatabasePool
    public let port: Int
    private let assembly: ServiceAssembly<S>
    private let group: ServiceGroup
    private let running: Task<Void, Never>
    private let stopped = Atomic(false)

    /// Settings an in-process service gets unless told otherwise, by service name. Profiles keeps
    /// its partitions in its one store: a new store's own default, a file per partition, creates
    /// and migrates 64 files (about a second in a debug build) that every handler test would pay
    /// for; the tests of that layout ask for it, and an empty value asks for the store's own
    /// layout (a new store's files), as an executable started without the setting has.
    public static var inProcessDefaults: [String: [String: String]] {
        ["profiles": ["partitions.storage": "one-file"]]
    }

    /// Starts `S` over the store at `databasePath` with the given tokens, settings, rate limits and peers (the
    /// caller's to close); `cores` the process counts on (nil: what it may run on). `runBackground` false leaves out the background work (feed followers,
    /// updaters) so a test drives it itself; what handlers depend on always runs.
    public static func start(
        databasePath: String,
        tokens: [TokenAuthenticator.Entry],
        settings: [String: String] = [:],
        peers: [String: RPCClient] = [:],
        runBackground: Bool = false,
        audit: AuditSettings = AuditSettings(),
        rateLimits: RateLimits = .unlimited,
        peerToken: String? = nil,
        cores: Int? = nil
    ) async throws -> InProcessService<S> {
        // Plaintext on loopback, said explicitly: the services' own tests are about their handlers;
        // TLS is tested in CRMRPCTests and with the real executables in IntegrationTests.
        let options = try HostOptions.parse(["--database", databasePath, "--port", "0", "--plaintext"])
        var configuration = try HostConfiguration.resolve(serviceName: S.name, defaultPort: 0, options: options, environment: [:])
        configuration.tokens = tokens
        configuration.settings = settings.merging(inProcessDefaults[S.name] ?? [:]) { given, _ in given }
        configuration.audit = audit
        configuration.rateLimits = rateLimits
        configuration.peerToken = peerToken
        if let cores { configuration.cores = cores }
        // Tests read statuses, not a line per call.
        configuration.callLogEvery = 0
        let logger = Logger(label: "crm.\(S.name).test")
        let assembly = try ServiceAssembly<S>.assemble(configuration: configuration, peers: peers, logger: logger)
        let address: SocketAddress
        do {
            address = try await assembly.server.start()
        } catch {
            try? await assembly.close()
            throw error
        }
        let group = assembly.serviceGroup(background: runBackground)
        let running = Task {
            do {
                try await group.run()
            } catch {
                logger.error("service group ended with an error", metadata: ["error": "\(error)"])
            }
        }
        return InProcessService(assembly: assembly, group: group, running: running, port: address.port ?? 0)
    }

    private init(assembly: ServiceAssembly<S>, group: ServiceGroup, running: Task<Void, Never>, port: Int) {
        self.assembly = assembly
        self.service = assembly.service
        self.server = assembly.server
        self.database = assembly.database
        self.group = group
        self.running = running
        self.port = port
    }

    /// The service's audit trail (tests check what it recorded).
    public var auditTrail: AuditTrail { assembly.auditTrail }

    /// What the service and its server count (the registry the executable serves on `--metrics-port`).
    public var metrics: ServiceMetrics { assembly.metrics }

    /// A client of this service presenting `token`, with no default deadline: a test waits for the
    /// answer however busy the machine is (a deadline is a wall-clock budget that load can exhaust).
    public func client(token: String?) -> RPCClient {
        RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], token: token, defaultDeadline: nil))
    }

    /// A client of this service for another service to use as its peer: with the deadline the
    /// executables give their peers, so a peer that went away fails the call as it does in production.
    public func peerClient(token: String?) -> RPCClient {
        RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], token: token,
                                                     defaultDeadline: ServiceAssembly<S>.peerDeadline))
    }

    /// Shuts down as SIGTERM does — the background work first, then the server drains, then what
    /// handlers depend on — and closes the store. Safe to call more than once.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        await running.value
        if !stopped.exchange(true, ordering: .acquiringAndReleasing) { try await assembly.close() }
    }
}
