import CoreMetrics
import CRMRPC
import Prometheus
import Synchronization

/// One service's metrics: a Prometheus registry of its own (no global state, so tests may run
/// several services in one process), the swift-metrics factory over it that the runtime and the
/// service's code count through, and hooks that refresh sampled values (feed lag, store size) just
/// before each scrape.
///
/// Every series carries `service`; names follow Prometheus conventions (units in the name, `_total`
/// on counters) and labels take only values from small fixed sets, never a customer's id.
public final class ServiceMetrics: Sendable {
    public let service: String
    public let registry: PrometheusCollectorRegistry
    public let factory: any MetricsFactory
    private let hooks = Mutex<[@Sendable () async -> Void]>([])

    /// Buckets of every latency histogram: from 100 µs (a call on the event loop) to 30 s (a
    /// settlement or a model's training).
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init(service: String) {
        self.service = service
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        self.factory = factory
    }

    /// What the RPC server of this service counts (what it keeps between scrapes is published at each).
    public func rpcServer() -> RPCServerMetrics {
        let server = RPCServerMetrics(service: service, factory: factory)
        onScrape { server.sample() }
        return server
    }

    /// What this service's clients of its peers count.
    public func rpcClient() -> RPCClientMetrics {
        RPCClientMetrics(client: service, factory: factory)
    }

    public func counter(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: name, dimensions: [("service", service)] + labels, factory: factory)
    }

    public func floatingPointCounter(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.FloatingPointCounter {
        CoreMetrics.FloatingPointCounter(label: name, dimensions: [("service", service)] + labels, factory: factory)
    }

    public func gauge(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name, dimensions: [("service", service)] + labels, factory: factory)
    }

    public func timer(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: name, dimensions: [("service", service)] + labels, factory: factory)
    }

    /// Runs `hook` before every scrape: for values sampled rather than counted (a lag, a file size).
    public func onScrape(_ hook: @escaping @Sendable () async -> Void) {
        hooks.withLock { $0.append(hook) }
    }

    /// The text exposition, after the hooks have refreshed what they sample.
    public func exposition() async -> [UInt8] {
        for hook in hooks.withLock({ $0 }) { await hook() }
        return registry.emitToBuffer()
    }
}
