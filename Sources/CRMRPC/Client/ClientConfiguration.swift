import NIOCore

/// How a client reaches a service: its endpoints (several for replicas), credentials and patience.
public struct ClientConfiguration: Sendable {
    /// Calls go round robin over these; an endpoint that cannot be reached is skipped until its
    /// backoff ends.
    public var endpoints: [Endpoint]
    /// Sent as `authorization: Bearer <token>` on every call unless the call's options say otherwise.
    public var token: String?
    /// Applied to calls whose options carry none.
    public var defaultDeadline: TimeAmount?
    public var limits: WireLimits
    public var connectTimeout: TimeAmount
    /// First wait after a failed connect; doubles per failure up to ``maximumBackoff``.
    public var initialBackoff: TimeAmount
    public var maximumBackoff: TimeAmount
    /// Whether a call waits, within its deadline, for an endpoint that cannot be reached to come
    /// back (true, the default: a client rides through a service's restart by itself), or fails at
    /// once with UNAVAILABLE when no endpoint can be reached now (false: a forwarding hop, whose
    /// caller decides when to retry, and whose calls for other owners must not queue behind a dead
    /// one for a whole deadline each).
    public var waitsForReady: Bool
    /// TLS, or plaintext — refused towards an address other than loopback unless it says
    /// `onNetwork`. Plaintext by default for tests of the runtime; services, crmctl and the
    /// benchmarks configure TLS unless told to run without it.
    public var security: ClientSecurity
    /// What the client counts (``RPCMetricNames``); nil counts nothing.
    public var metrics: RPCClientMetrics?
    /// At most this many bytes of streamed messages waiting in a connection for their callers to
    /// take them; nil (the default): no bound. Above it the connection stops reading its socket
    /// until the callers have taken three quarters of it, and the server's stream writers (which
    /// wait for a writable socket) pause meanwhile. Stopping a connection's reads stops every
    /// call on it, so this is for a client whose streams are read without waiting for another call
    /// of the same client: a bulk transfer on connections of its own (``RPCClient/forBulkStreams(backlogLimit:)``).
    public var streamBacklogLimit: Int?

    public init(
        endpoints: [Endpoint],
        security: ClientSecurity = .plaintext(),
        token: String? = nil,
        defaultDeadline: TimeAmount? = .seconds(30),
        limits: WireLimits = WireLimits(),
        connectTimeout: TimeAmount = .seconds(2),
        initialBackoff: TimeAmount = .milliseconds(50),
        maximumBackoff: TimeAmount = .seconds(2),
        waitsForReady: Bool = true,
        metrics: RPCClientMetrics? = nil,
        streamBacklogLimit: Int? = nil
    ) {
        self.metrics = metrics
        self.streamBacklogLimit = streamBacklogLimit
        self.endpoints = endpoints
        self.security = security
        self.token = token
        self.defaultDeadline = defaultDeadline
        self.limits = limits
        self.connectTimeout = connectTimeout
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.waitsForReady = waitsForReady
    }
}

/// Per-call settings.
public struct CallOptions: Sendable {
    /// Overrides the client's default deadline; `.some(nil)` means no deadline.
    public var timeout: TimeAmount??
    /// Extra metadata; `authorization` here overrides the client's token.
    public var metadata: [MetadataEntry]

    public init(timeout: TimeAmount?? = nil, metadata: [MetadataEntry] = []) {
        self.timeout = timeout
        self.metadata = metadata
    }

    public static func timeout(_ amount: TimeAmount) -> CallOptions {
        CallOptions(timeout: .some(amount))
    }
}
