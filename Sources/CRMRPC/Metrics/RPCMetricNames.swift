import CRMPrimitives

/// The names of the runtime's metrics, as Prometheus shows them: units in the name, `_total` on
/// counters, and labels from small fixed sets (service, method, status, reason), never a caller's
/// value. `services/prometheus/` and `services/grafana/` query these names.
public enum RPCMetricNames {
    /// Counter: finished calls by `service`, `method`, `status` (server side).
    public static let serverCalls = "crm_rpc_server_calls_total"
    /// Histogram: seconds from a request's arrival to its answer, by `service`, `method`.
    public static let serverDuration = "crm_rpc_server_call_duration_seconds"
    /// Gauge: calls running now, by `service`.
    public static let serverInFlight = "crm_rpc_server_calls_in_flight"
    /// Gauge: open connections, by `service`.
    public static let serverConnections = "crm_rpc_server_connections"
    /// Counter: connections accepted, by `service`.
    public static let serverConnectionsAccepted = "crm_rpc_server_connections_accepted_total"
    /// Counter: frames or connections refused, by `service` and `reason`.
    public static let serverRefused = "crm_rpc_server_frames_refused_total"
    /// Counters: frame bytes (length prefix included) read from and written to callers, by `service`.
    public static let serverReceivedBytes = "crm_rpc_server_received_bytes_total"
    public static let serverSentBytes = "crm_rpc_server_sent_bytes_total"
    /// Counter: connections told to go away because the server drains, by `service`.
    public static let serverDrains = "crm_rpc_server_drains_total"
    /// Counter: calls made by a client, by `client` (who calls), `method`, `status`.
    public static let clientCalls = "crm_rpc_client_calls_total"
    /// Histogram: seconds from sending a unary call to its answer, by `client`, `method`.
    public static let clientDuration = "crm_rpc_client_call_duration_seconds"
    /// Counter: times a bounded connection stopped reading because its streams' callers had more
    /// than ``ClientConfiguration/streamBacklogLimit`` still to take, by `client`.
    public static let clientStreamReadsHeld = "crm_rpc_client_stream_reads_held_total"

    /// What `reason` takes on ``serverRefused``.
    public enum RefusalReason: String, Sendable, CaseIterable {
        case frameTooLarge = "frame_too_large"
        case stalledFrame = "stalled_frame"
        case invalidEnvelope = "invalid_envelope"
        case protocolViolation = "protocol_violation"
        case tls = "tls"
    }

    /// The label of a status: its canonical name, or `UNRECOGNIZED` for a code this version does
    /// not know (a peer's value must not mint new series).
    static func statusLabel(_ code: StatusCode) -> String {
        if case .UNRECOGNIZED = code { return "UNRECOGNIZED" }
        return code.canonicalName
    }
}

extension RPCMetricNames {
    /// The status an error thrown by a handler becomes (as the server answers it): for services
    /// that count their own outcomes by status.
    public static func statusLabel(of error: any Error) -> String {
        switch error {
        case let convertible as any RPCErrorConvertible: return statusLabel(convertible.rpcError.code)
        case let convertible as any RefusalConvertible: return statusLabel(convertible.refusal.rpcError.code)
        case is CancellationError: return statusLabel(.cancelled)
        default: return statusLabel(.internal)
        }
    }
}
