import NIOCore
import Tracing

/// How a server listens and what it tolerates. Defaults suit a service on a 2-core machine.
public struct RPCServerConfiguration: Sendable {
    public var host: String
    /// 0 asks the OS for a free port; read it back from ``RPCServer/localPort``.
    public var port: Int
    public var limits: WireLimits
    /// Calls a connection may have in flight; beyond it the server stops reading that socket
    /// until one finishes (backpressure, no queue).
    public var maxConcurrentCallsPerConnection: Int
    /// Open connections; beyond it the server stops accepting until one closes.
    public var maxConnections: Int
    /// A frame must complete within this time once its first byte arrived, or the peer is dropped.
    public var stalledFrameTimeout: TimeAmount
    /// On shutdown, how long in-flight calls may run before they are cancelled.
    public var shutdownGracePeriod: TimeAmount
    /// Deadline applied to calls that carry none (0 on the wire); nil for none.
    public var defaultDeadline: TimeAmount?
    /// TLS, or plaintext — which ``RPCServer/start()`` refuses on an address other than loopback
    /// unless it says `onNetwork`. The runtime's default is plaintext on loopback for tests of the
    /// runtime itself; every executable configures TLS unless told `--plaintext`.
    public var security: ServerSecurity
    /// How long a TLS client has to finish its handshake.
    public var handshakeTimeout: TimeAmount
    /// Which finished calls get a log line ("call finished": method, request id, trace id,
    /// principal, status, duration) and at what level.
    public var callLogging: CallLogging
    /// Spans of every call through swift-distributed-tracing (the executables give swift-otel's
    /// OTLP exporter when an endpoint is configured); nil: no spans, and nothing to pay for them.
    /// What each call records: Tracing/CallTracing.swift.
    public var tracer: (any Tracer)?
    /// Whether the tracer's sampler keeps the caller's decision (OpenTelemetry's parent-based
    /// samplers; swift-otel's default `parentbased_always_on`). Then a call whose `traceparent` says
    /// "not sampled" never reaches the tracer: the runtime carries the trace on and records nothing.
    /// False for samplers that decide by themselves (`always_on`, `traceidratio`): every call then
    /// asks the tracer.
    public var followsCallerSampling: Bool

    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        limits: WireLimits = WireLimits(),
        maxConcurrentCallsPerConnection: Int = 256,
        maxConnections: Int = 1024,
        stalledFrameTimeout: TimeAmount = .seconds(30),
        shutdownGracePeriod: TimeAmount = .seconds(10),
        defaultDeadline: TimeAmount? = nil,
        security: ServerSecurity = .plaintext(),
        handshakeTimeout: TimeAmount = .seconds(30),
        callLogging: CallLogging = .debug,
        tracer: (any Tracer)? = nil,
        followsCallerSampling: Bool = true
    ) {
        self.callLogging = callLogging
        self.tracer = tracer
        self.followsCallerSampling = followsCallerSampling
        self.host = host
        self.port = port
        self.limits = limits
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.maxConnections = maxConnections
        self.stalledFrameTimeout = stalledFrameTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
        self.defaultDeadline = defaultDeadline
        self.security = security
        self.handshakeTimeout = handshakeTimeout
    }
}

/// Which finished calls the server logs.
public enum CallLogging: Sendable, Equatable {
    /// Every call at debug: seen only when the logger's level allows debug (the runtime's default).
    case debug
    /// At info: one successful call in `every` (1: all of them; 0: none) and every call that did
    /// not end OK. What the service executables do (`--call-log-every`).
    case info(every: Int)
}
