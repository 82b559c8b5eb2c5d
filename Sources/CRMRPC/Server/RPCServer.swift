import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// A listening RPC server: binds, serves the ``Router``'s methods plus health, and drains on shutdown.
///
/// As a `Service` it runs until the service group's graceful shutdown (SIGTERM/SIGINT), then stops
/// accepting, sends GoAway on every connection, lets in-flight calls finish within the grace period
/// and returns once every connection is closed. Tests call ``start()`` and ``shutdown()`` directly.
public final class RPCServer: Service, Sendable {
    public let serviceName: String
    public let configuration: RPCServerConfiguration
    private let shared: ServerShared
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var channel: (any Channel)?
        var quiescer: QuiescerBox?
        var draining = false
        var stopped = false
    }

    /// `ServerQuiescingHelper` predates strict concurrency; it is only touched under the state lock
    /// and its own methods hop to the loops they need.
    private struct QuiescerBox: @unchecked Sendable {
        let helper: ServerQuiescingHelper
    }

    /// A server whose callers are known by bearer token only.
    public convenience init(
        serviceName: String,
        configuration: RPCServerConfiguration,
        router: Router,
        authenticator: TokenAuthenticator,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "crm.rpc.server"),
        readiness: ServiceReadiness = .ready,
        metrics: RPCServerMetrics? = nil,
        healthDetails: @escaping @Sendable () async -> [String: String] = { [:] }
    ) {
        self.init(serviceName: serviceName, configuration: configuration, router: router, credentials: ServerCredentials(tokens: authenticator),
                  group: group, logger: logger, readiness: readiness, metrics: metrics, healthDetails: healthDetails)
    }

    /// - Parameters:
    ///   - serviceName: reported by health (`profiles`, `products`, ...).
    ///   - credentials: tokens, client certificate names and rate limits; replaced by ``reload(credentials:)``.
    ///   - metrics: what the server counts (``RPCMetricNames``); nil counts nothing.
    ///   - healthDetails: extra facts for the health answer (store file, replica lag, ...).
    public init(
        serviceName: String,
        configuration: RPCServerConfiguration,
        router: Router,
        credentials: ServerCredentials,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "crm.rpc.server"),
        readiness: ServiceReadiness = .ready,
        metrics: RPCServerMetrics? = nil,
        healthDetails: @escaping @Sendable () async -> [String: String] = { [:] }
    ) {
        self.serviceName = serviceName
        self.configuration = configuration
        self.group = group
        var logger = logger
        logger[metadataKey: "service"] = "\(serviceName)"
        self.logger = logger

        var router = router
        let state = self.state
        let methodList = NIOLockedValueBox<[RPCMethodDescriptor]>([])
        router.unary(Crm_Rpc_V1_Health.check, policy: .open, servesWhileStarting: true) { _, _ in
            var response = HealthCheckResponse()
            response.service = serviceName
            response.details = await healthDetails()
            if state.withLockedValue({ $0.draining }) {
                response.status = .notServing
                response.details["not_serving_reason"] = "draining before shutdown"
            } else if let starting = readiness.notReadyReason {
                response.status = .notServing
                response.details["not_serving_reason"] = starting
            } else {
                response.status = .serving
            }
            return response
        }
        router.unary(Crm_Rpc_V1_Health.listMethods, policy: .open, servesWhileStarting: true) { _, _ in
            var response = ListMethodsResponse()
            response.methods = methodList.withLockedValue { $0 }.map { descriptor in
                var method = Crm_Rpc_V1_MethodDescriptor()
                method.name = descriptor.name
                method.requestType = descriptor.requestType
                method.responseType = descriptor.responseType
                method.serverStreaming = descriptor.serverStreaming
                method.allowedRoles = descriptor.policy.allowedRoles
                method.requiresAuthentication = descriptor.policy.requiresAuthentication
                return method
            }
            return response
        }
        methodList.withLockedValue { $0 = router.descriptors }
        self.shared = ServerShared(
            serviceName: serviceName,
            router: router,
            credentials: credentials,
            configuration: configuration,
            readiness: readiness,
            logger: logger,
            metrics: metrics
        )
    }

    /// The methods this server answers, health included.
    public var methods: [RPCMethodDescriptor] { shared.router.descriptors }

    /// The bound address once started.
    public var localAddress: SocketAddress? {
        state.withLockedValue { $0.channel?.localAddress }
    }

    /// The bound port once started (the real one when configured with port 0).
    public var localPort: Int? { localAddress?.port }

    public var isDraining: Bool { state.withLockedValue { $0.draining } }

    /// Replaces the tokens, certificate names and rate limits for every call from now on, on open
    /// connections too (SIGHUP). Rate-limit buckets start full again.
    public func reload(credentials: ServerCredentials) {
        shared.credentials.replace(with: credentials)
    }

    /// Binds and starts accepting. Returns the bound address.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let quiescer = ServerQuiescingHelper(group: group)
        let box = QuiescerBox(helper: quiescer)
        let shared = self.shared
        let maxConnections = configuration.maxConnections
        let limits = configuration.limits
        let tls = configuration.security.tlsContext
        let handshakeTimeout = configuration.handshakeTimeout
        if case .plaintext(onNetwork: false) = configuration.security, !TLSProtocol.isLoopback(configuration.host) {
            throw RPCError(.failedPrecondition, "refusing to serve plaintext on \(configuration.host), which is not a loopback address: "
                + "configure TLS, or force plaintext on the network explicitly")
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(box.helper.makeServerChannelHandler(channel: channel))
                    try channel.pipeline.syncOperations.addHandler(ConnectionLimiter(maxConnections: maxConnections))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // The context of the moment: a reload changes it for connections accepted later.
                        try channel.pipeline.syncOperations.addHandler(PlaintextDetector())
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current))
                        try channel.pipeline.syncOperations.addHandler(TLSServerPeerHandler(handshakeTimeout: handshakeTimeout))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limits: limits)))
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(shared: shared, eventLoop: channel.eventLoop))
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        state.withLockedValue {
            $0.channel = channel
            $0.quiescer = box
        }
        let address = channel.localAddress
        logger.info("listening", metadata: ["address": "\(address?.description ?? "?")", "transport": "\(tls == nil ? "plaintext" : "TLS 1.3")"])
        guard let address else { throw RPCError(.internal, "bound channel has no local address") }
        return address
    }

    /// Runs until graceful shutdown, then drains. Part of `ServiceLifecycle.Service`.
    public func run() async throws {
        if state.withLockedValue({ $0.channel == nil }) {
            try await start()
        }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops accepting, tells every client to go away, waits for in-flight calls (bounded by the
    /// grace period) and for every connection to close. Safe to call more than once.
    public func shutdown() async {
        let quiescer: QuiescerBox? = state.withLockedValue { state in
            guard !state.stopped else { return nil }
            state.stopped = true
            state.draining = true
            return state.quiescer
        }
        guard let quiescer else { return }
        logger.info("draining")
        let promise = group.next().makePromise(of: Void.self)
        quiescer.helper.initiateShutdown(promise: promise)
        try? await promise.futureResult.get()
        logger.info("stopped")
    }
}
