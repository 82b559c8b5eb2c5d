import CoreMetrics
import NIOCore
import Synchronization

/// What one server counts, through swift-metrics: calls by method and status, their latency, calls
/// in flight, connections, refusals, bytes and drains (``RPCMetricNames``).
///
/// Every series is made once and kept: the server makes each routed method's series when it starts
/// (`ServerShared.routes`, read without a lock), and a call that ends OK touches the histogram
/// (swift-prometheus' lock) and a counter (an atomic add). Methods the
/// router does not know are counted as `unknown`, so a caller cannot mint series.
///
/// What changes on every call but is read only at a scrape is kept here and published by
/// ``sample()``: calls in flight are an integer add at a call's start and end (a gauge's update is
/// a compare-and-swap loop on a floating-point value), and a connection adds the bytes it read and
/// wrote once per read and per flush, not once per frame.
public final class RPCServerMetrics: Sendable {
    public let service: String
    private let inFlight: Meter
    private let callsInFlight = Atomic<Int>(0)
    let connections: Meter
    let accepted: Counter
    let receivedBytes: Counter
    let sentBytes: Counter
    let drains: Counter
    private let refusals: [RPCMetricNames.RefusalReason: Counter]
    private let factory: any MetricsFactory
    private let methods = SeriesTable<String, MethodSeries>()

    public init(service: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.service = service
        self.factory = factory
        let labels = [("service", service)]
        inFlight = Meter(label: RPCMetricNames.serverInFlight, dimensions: labels, factory: factory)
        connections = Meter(label: RPCMetricNames.serverConnections, dimensions: labels, factory: factory)
        accepted = Counter(label: RPCMetricNames.serverConnectionsAccepted, dimensions: labels, factory: factory)
        receivedBytes = Counter(label: RPCMetricNames.serverReceivedBytes, dimensions: labels, factory: factory)
        sentBytes = Counter(label: RPCMetricNames.serverSentBytes, dimensions: labels, factory: factory)
        drains = Counter(label: RPCMetricNames.serverDrains, dimensions: labels, factory: factory)
        var refusals: [RPCMetricNames.RefusalReason: Counter] = [:]
        for reason in RPCMetricNames.RefusalReason.allCases {
            refusals[reason] = Counter(label: RPCMetricNames.serverRefused, dimensions: labels + [("reason", reason.rawValue)], factory: factory)
        }
        self.refusals = refusals
        // Zero at start, so a scrape shows the series before anything happened.
        inFlight.set(0)
        connections.set(0)
    }

    /// Publishes what is counted between scrapes; the service's metrics call it before each one.
    public func sample() {
        inFlight.set(Int64(callsInFlight.load(ordering: .relaxed)))
    }

    func callStarted() {
        callsInFlight.wrappingAdd(1, ordering: .relaxed)
    }

    func callEnded() {
        callsInFlight.wrappingSubtract(1, ordering: .relaxed)
    }

    func refused(_ reason: RPCMetricNames.RefusalReason) {
        refusals[reason]?.increment()
    }

    /// The series of `method` (already bounded by the caller: a routed name or `unknown`).
    func series(_ method: String) -> MethodSeries {
        methods.series(method) {
            MethodSeries(
                durationName: RPCMetricNames.serverDuration, callsName: RPCMetricNames.serverCalls,
                labels: [("service", service), ("method", method)], factory: factory
            )
        }
    }
}

/// One method's latency histogram and its call counters per status: OK's made with the series, so
/// the common call touches no lock of ours; the others on first use.
final class MethodSeries: Sendable {
    private let duration: CoreMetrics.Timer
    private let ok: Counter
    private let callsName: String
    private let labels: [(String, String)]
    private let factory: any MetricsFactory
    private let counters = SeriesTable<Int, Counter>()

    init(durationName: String, callsName: String, labels: [(String, String)], factory: any MetricsFactory) {
        self.duration = CoreMetrics.Timer(label: durationName, dimensions: labels, factory: factory)
        self.ok = Counter(label: callsName, dimensions: labels + [("status", RPCMetricNames.statusLabel(.ok))], factory: factory)
        self.callsName = callsName
        self.labels = labels
        self.factory = factory
    }

    /// Counts one call that ended with `code`; records its duration when it ran.
    func finished(_ code: StatusCode, nanoseconds: Int64?) {
        if let nanoseconds { duration.recordNanoseconds(nanoseconds) }
        if code == .ok {
            ok.increment()
        } else {
            counter(code).increment()
        }
    }

    private func counter(_ code: StatusCode) -> Counter {
        let key: Int
        if case .UNRECOGNIZED = code { key = -1 } else { key = code.rawValue }
        return counters.series(key) {
            Counter(label: callsName, dimensions: labels + [("status", RPCMetricNames.statusLabel(code))], factory: factory)
        }
    }
}

/// What one client counts: its calls by method and status, and unary latency. `client` names the
/// caller (`products`, `crmctl`), so a service's calls to its peers are told from its own calls.
public final class RPCClientMetrics: Sendable {
    public let client: String
    private let factory: any MetricsFactory
    private let methods = SeriesTable<String, MethodSeries>()
    /// Bounded connections that stopped reading (``RPCMetricNames/clientStreamReadsHeld``).
    let streamReadsHeld: Counter

    public init(client: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.client = client
        self.factory = factory
        self.streamReadsHeld = Counter(label: RPCMetricNames.clientStreamReadsHeld, dimensions: [("client", client)], factory: factory)
    }

    /// Method names come from generated descriptors or an operator's command line, never from a
    /// peer, so they are a bounded set.
    func series(_ method: String) -> MethodSeries {
        methods.series(method) {
            MethodSeries(
                durationName: RPCMetricNames.clientDuration, callsName: RPCMetricNames.clientCalls,
                labels: [("client", client), ("method", method)], factory: factory
            )
        }
    }
}

/// Series made on first use and kept: the lookup under a lock, the making outside it (a race makes
/// one twice and keeps the first).
final class SeriesTable<Key: Hashable & Sendable, Series: Sendable>: Sendable {
    private let table = Mutex<[Key: Series]>([:])

    func series(_ key: Key, make: () -> Series) -> Series {
        if let known = table.withLock({ $0[key] }) { return known }
        let made = make()
        return table.withLock { table in
            if let raced = table[key] { return raced }
            table[key] = made
            return made
        }
    }
}
