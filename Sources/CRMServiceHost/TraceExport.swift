import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Where a service's spans go: swift-otel's tracer with its OTLP/HTTP exporter when an endpoint is
/// configured (`--otlp-endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`), nothing at all when not — the RPC
/// runtime then starts no span, so an untraced deployment pays nothing for tracing.
///
/// The tracer is handed to the server (``RPCServerConfiguration/tracer``), not bootstrapped into the
/// process-wide `InstrumentationSystem`: several services may run in one test process, each with
/// its own `service.name`. The server makes it the task's tracer while a handler runs, so the
/// handler's calls to peers are client spans of the same trace.
public struct TraceExport: Sendable {
    /// Nil: no endpoint configured.
    public let tracer: (any Tracer)?
    /// The exporter's background work (the batch span processor and the HTTP client): run first in
    /// the service group, so it stops last and the spans of calls answered during the drain are
    /// flushed to the collector before the process exits.
    public let service: (any Service)?
    /// Whether the sampler swift-otel builds keeps the caller's decision (a parent-based one, its
    /// default): the server then skips the tracer for calls that arrive not sampled
    /// (``RPCServerConfiguration/followsCallerSampling``).
    public let followsCallerSampling: Bool

    public static let none = TraceExport(tracer: nil, service: nil, followsCallerSampling: true)

    public init(tracer: (any Tracer)?, service: (any Service)?, followsCallerSampling: Bool) {
        self.tracer = tracer
        self.service = service
        self.followsCallerSampling = followsCallerSampling
    }

    /// The export `configuration` asks for: spans of `serviceName` (OpenTelemetry's `service.name`,
    /// `crm-<name>`) in batches to its OTLP traces URL. Metrics and logs keep their own paths
    /// (Prometheus, the log handler): only traces go to the collector.
    ///
    /// The sampler is swift-otel's, from OpenTelemetry's `OTEL_TRACES_SAMPLER` and
    /// `OTEL_TRACES_SAMPLER_ARG` (default `parentbased_always_on`); head sampling at an edge is e.g.
    /// `parentbased_traceidratio` with `0.01`. `environment` is what swift-otel reads too (the process's).
    public static func make(_ configuration: HostConfiguration, logger: Logger,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TraceExport {
        guard let url = configuration.otlpTracesURL else { return .none }
        var otel = OTel.Configuration.default
        otel.serviceName = "crm-\(configuration.serviceName)"
        otel.diagnosticLogger = .custom(logger)
        otel.logs.enabled = false
        otel.metrics.enabled = false
        otel.traces.enabled = true
        otel.traces.otlpExporter.endpoint = url
        otel.traces.otlpExporter.protocol = configuration.otlpProtocol == "http/json" ? .httpJSON : .httpProtobuf
        let backend = try OTel.makeTracingBackend(configuration: otel)
        return TraceExport(tracer: backend.factory, service: backend.service,
                           followsCallerSampling: followsCallerSampling(sampler: environment["OTEL_TRACES_SAMPLER"]))
    }

    /// Whether the sampler OpenTelemetry's `OTEL_TRACES_SAMPLER` names keeps the caller's decision:
    /// every `parentbased_*` one, and the default (unset, or a name swift-otel does not take).
    static func followsCallerSampling(sampler: String?) -> Bool {
        guard let sampler else { return true }
        return !["always_on", "always_off", "traceidratio", "jaeger_remote", "xray"].contains(sampler)
    }
}
