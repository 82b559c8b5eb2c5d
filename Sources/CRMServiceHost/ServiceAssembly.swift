import CRMAudit
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
    /// Who read or acted on which customer through this service (its compliance methods too).
    public let auditTrail: AuditTrail
    public let configuration: HostConfiguration
    /// The server's TLS context (nil in plaintext), reloaded on SIGHUP.
    public let serverTLS: ServerTLSContext?
    /// The TLS context of the clients of the peers this assembly made: the service's own
    /// certificate as client certificate (mutual TLS), reloaded with the server's.
    public let peerTLS: ClientTLSContext?
    /// What the service and its runtime count, and the endpoint serving it (nil without `--metrics-port`).
    public let metrics: ServiceMetrics
    public let metricsEndpoint: MetricsEndpoint?
    /// The tracer the server gives every call and the exporter behind it (``TraceExport/none``
    /// without an OTLP endpoint).
    public let traces: TraceExport
    /// The peers this assembly made from the configuration, closed with it (peers handed in by a
    /// test are the test's to close).
    private let ownedPeers: [RPCClient]
    private let logger: Logger

    /// The default deadline of calls to peers: a peer that does not answer in time is unavailable.
    public static var peerDeadline: TimeAmount { .seconds(5) }

    /// Opens the store at `configuration.databasePath`, builds the service and its server. `peers`
    /// nil: one client per peer the configuration names. With TLS a service presents its own
    /// certificate to its peers (mutual TLS) and no token; in plaintext, its peer token.
    public static func assemble(configuration: HostConfiguration, peers given: [String: RPCClient]? = nil,
                                logger: Logger) throws -> ServiceAssembly {
        let serverTLS = try configuration.tls.map { try ServerTLSContext($0) }
        let peerTLS = try configuration.tls.map { try ClientTLSContext($0) }
        let peerSecurity: ClientSecurity = peerTLS.map { .tls($0) } ?? .plaintext(onNetwork: configuration.plaintextOnNetwork)
        let peerToken = peerTLS == nil ? configuration.peerToken : nil
        let traces = try TraceExport.make(configuration, logger: logger)
        // The audit trail's tables are the store's too: its migrations follow the service's own.
        var migrator = S.migrator
        AuditSchema.register(into: &migrator)
        let database = try SQLiteStore.open(path: configuration.databasePath, migrator: migrator, logger: logger)
        let metrics = ServiceMetrics(service: S.name)
        let peerMetrics = metrics.rpcClient()
        var peers = given ?? [:]
        var owned: [RPCClient] = []
        if given == nil {
            for (name, endpoints) in configuration.peers {
                let client = RPCClient(
                    configuration: ClientConfiguration(endpoints: endpoints, security: peerSecurity, token: peerToken, defaultDeadline: peerDeadline,
                                                       metrics: peerMetrics),
                    logger: Logger(label: "crm.\(S.name).peer.\(name)")
                )
                peers[name] = client
                owned.append(client)
            }
        }
        let service: S
        do {
            service = try S(context: ServiceContext(configuration: configuration, database: database, peers: peers, logger: logger, metrics: metrics))
        } catch {
            try? database.close()
            throw error
        }
        let trail: AuditTrail
        do {
            trail = try AuditTrail(database: database, settings: configuration.audit)
        } catch {
            try? database.close()
            throw error
        }
        var router = Router(requestCheck: ContractChecks.requests, auditor: configuration.audit.isEnabled ? trail : nil)
        router.privacy = configuration.privacy
        service.register(into: &router)
        AuditHandlers(trail: trail).register(into: &router)
        let databasePath = configuration.databasePath
        let started = ContinuousClock.now
        let server = RPCServer(
            serviceName: S.name,
            configuration: RPCServerConfiguration(
                host: configuration.host,
                port: configuration.port,
                limits: WireLimits(maxFrameLength: configuration.maxFrameBytes),
                shutdownGracePeriod: .seconds(Int64(configuration.shutdownGraceSeconds)),
                security: serverTLS.map { .tls($0) } ?? .plaintext(onNetwork: configuration.plaintextOnNetwork),
                callLogging: .info(every: configuration.callLogEvery),
                tracer: traces.tracer,
                followsCallerSampling: traces.followsCallerSampling
            ),
            router: router,
            credentials: configuration.credentials,
            logger: logger,
            readiness: service.readiness,
            metrics: metrics.rpcServer(),
            healthDetails: {
                var details = await service.healthDetails()
                details["database"] = databasePath
                details["uptime_seconds"] = "\((ContinuousClock.now - started).components.seconds)"
                details["cores"] = "\(configuration.cores)"
                return details
            }
        )
        Self.sampleHostFigures(metrics, databasePath: databasePath, readiness: service.readiness, started: started)
        let endpoint = configuration.metricsPort.map {
            MetricsEndpoint(host: configuration.metricsHost, port: $0, metrics: metrics, logger: logger)
        }
        return ServiceAssembly(service: service, server: server, database: database, auditTrail: trail, configuration: configuration,
                               serverTLS: serverTLS, peerTLS: peerTLS, metrics: metrics, metricsEndpoint: endpoint, traces: traces,
                               ownedPeers: owned, logger: logger)
    }

    /// What every service shows at each scrape: its store's file and WAL sizes, whether it is ready,
    /// how long it has run, and the process's memory, CPU and descriptors (``ProcessMetrics``).
    private static func sampleHostFigures(_ metrics: ServiceMetrics, databasePath: String, readiness: ServiceReadiness,
                                          started: ContinuousClock.Instant) {
        let file = metrics.gauge("crm_store_file_bytes")
        let wal = metrics.gauge("crm_store_wal_bytes")
        let ready = metrics.gauge("crm_service_ready")
        let uptime = metrics.gauge("crm_service_uptime_seconds")
        ProcessMetrics.register(on: metrics)
        metrics.onScrape {
            file.record(Double(Self.fileSize(databasePath)))
            wal.record(Double(Self.fileSize(databasePath + "-wal")))
            ready.record(readiness.notReadyReason == nil ? 1 : 0)
            uptime.record(Double((ContinuousClock.now - started).components.seconds))
        }
    }

    private static func fileSize(_ path: String) -> Int {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Applies what SIGHUP re-reads from `configuration`: the TLS files (new connections use them,
    /// open ones keep theirs), tokens, certificate principals and rate limits. Everything is read
    /// before anything changes, so a bad file leaves the previous configuration whole. Returns a
    /// summary for the log.
    public func reload(_ configuration: HostConfiguration) throws -> String {
        guard (configuration.tls == nil) == (serverTLS == nil) else {
            throw ConfigurationError("switching between TLS and plaintext needs a restart")
        }
        if let files = configuration.tls {
            // Check the client side first: either both contexts change or neither does.
            _ = try ClientTLSContext(files)
            try serverTLS?.reload(files)
            try peerTLS?.reload(files)
        }
        server.reload(credentials: configuration.credentials)
        let certificate = configuration.tls?.certificateChain.map { "certificate \($0)" } ?? "plaintext"
        return "\(certificate), \(configuration.tokens.count) tokens, \(configuration.certificatePrincipals.count) certificate principals"
    }

    /// The service group in start order: handler dependencies, the server, then (unless
    /// `background` is false) the background work. It shuts down in reverse order on `signals` or
    /// ``ServiceGroup/triggerGracefulShutdown()``.
    ///
    /// A background service that ends by itself (a feed follower with no peer to follow) leaves the
    /// rest running; any service that fails, and a dependency or the server that ends, stop the group.
    public func serviceGroup(signals: [UnixSignal] = [], background: Bool = true, companions: [any Service] = []) -> ServiceGroup {
        typealias Configured = ServiceGroupConfiguration.ServiceConfiguration
        let endpoint: [any Service] = metricsEndpoint.map { [$0] } ?? []
        // The span exporter first: it stops last, after the server's drain, and flushes what it holds.
        let exporter: [any Service] = traces.service.map { [$0] } ?? []
        let foreground: [Configured] = (exporter + endpoint + service.handlerDependencies() + [server]).map { Configured(service: $0) }
        let work: [Configured] = ((background ? service.backgroundServices() : []) + companions)
            .map { Configured(service: $0, successTerminationBehavior: .ignore) }
        return ServiceGroup(configuration: ServiceGroupConfiguration(
            services: foreground + work,
            gracefulShutdownSignals: signals,
            logger: logger
        ))
    }

    /// Closes the peers this assembly made and the store, after writing the counts of refusals the
    /// audit trail still holds (``AuditTrail/flushRefusals()``). Call once the group has finished.
    public func close() async throws {
        for client in ownedPeers { await client.close() }
        do {
            try await auditTrail.flushRefusals()
        } catch {
            logger.error("the audit trail could not write the counts of the refusals it held: \(error)")
        }
        try database.close()
    }
}
