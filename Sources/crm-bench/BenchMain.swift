import ArgumentParser
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMTestSupport
import CRMWire
import Foundation
import Logging
import NIOCore
import NIOPosix

/// Measures unary calls per second and latency percentiles over loopback: the RPC stack in plaintext
/// and over TLS 1.3 beside a bare SwiftNIO echo of the same frames, interleaved round by round so all
/// see the same machine.
@main
struct BenchRoot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench",
        abstract: "The project's benchmarks. Build with -c release.",
        subcommands: [BenchMain.self, IngestBench.self, ProfilesScaleBench.self, MatchingScaleBench.self, MatchingQualityBench.self, MatchingTrainingBench.self, ProfilesAsOfBench.self,
                      CompensationBench.self, PartitionFilesBench.self, PartitionedQueriesBench.self, FeedWaitBench.self],
        defaultSubcommand: BenchMain.self
    )
}

struct BenchMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "RPC throughput and latency over loopback, in plaintext and over TLS, beside a bare framed echo."
    )

    @Option(help: "Folder with ca.crt and profiles.crt/.key for the TLS variant (default: made by scripts/dev-certs.sh in a temporary folder).")
    var certs: String?

    @Option(help: "Seconds per scenario per round.")
    var seconds: Double = 3

    @Option(help: "Rounds; medians are reported.")
    var rounds: Int = 5

    @Flag(help: "Print one line per round as well.")
    var verbose = false

    @Option(help: "Run only the scenarios whose name contains this text (e.g. 'x 1 in').")
    var only: String?

    @Option(help: "Run only this stack: 'bare echo', 'bare echo, task per call', 'rpc', 'rpc with metrics', 'rpc with metrics and traceparent', 'rpc with metrics and tracing' or 'rpc over TLS'; several separated by '|'.")
    var stack: String?

    @Option(help: "Percentage of the traced stack's calls that arrive with a sampled traceparent; the others arrive not sampled, as behind an edge sampling that share (100: every call recorded).")
    var sampledPercent: Double = 100

    struct Scenario: Sendable {
        let name: String
        let connections: Int
        let inFlightPerConnection: Int
    }

    static let scenarios = [
        Scenario(name: "1 conn x 1 in flight", connections: 1, inFlightPerConnection: 1),
        Scenario(name: "1 conn x 64 in flight", connections: 1, inFlightPerConnection: 64),
        Scenario(name: "4 conns x 16 in flight", connections: 4, inFlightPerConnection: 16),
    ]

    /// The stacks, run back to back in every round.
    /// `rpc with metrics` is `rpc` with the server and the client counting into a Prometheus
    /// registry as the services do (calls by method and status, latency histograms, in flight, bytes).
    /// `rpc with metrics and tracing` adds what `--otlp-endpoint` turns on: the server has swift-otel's
    /// tracer and OTLP/HTTP exporter (protobuf, batched, to a local receiver); every call arrives
    /// with a `traceparent` as a peer's would, sampled for `--sampled-percent` of them (default all),
    /// and a sampled one is a server span of that trace.
    /// `rpc with metrics and traceparent` sends the traced stack's `traceparent`s to the metered
    /// server, which has no tracer: what a peer's trace context costs without tracing (it is carried on).
    /// `rpc with traceparent` sends the same to the plain server (no metrics, no tracer): the traffic
    /// of the traced stack with both features off, so `rpc with metrics and tracing / rpc with
    /// traceparent` is what turning metrics and tracing on costs for the same calls.
    static let variants = ["bare echo", "bare echo, task per call", "rpc", "rpc with traceparent", "rpc with metrics", "rpc with metrics and traceparent",
                           "rpc with metrics and tracing", "rpc over TLS"]

    /// The ratios printed, stack over baseline.
    static let comparisons = [("rpc", "bare echo"), ("rpc", "bare echo, task per call"), ("rpc with metrics", "rpc"),
                              ("rpc with traceparent", "rpc"),
                              ("rpc with metrics and traceparent", "rpc with metrics"),
                              ("rpc with metrics and tracing", "rpc with metrics and traceparent"),
                              ("rpc with metrics and tracing", "rpc with metrics"), ("rpc with metrics and tracing", "rpc"),
                              ("rpc with metrics and tracing", "rpc with traceparent"), ("rpc over TLS", "rpc")]

    /// The scenarios `--only` selects (all without it).
    var selectedScenarios: [Scenario] {
        Self.scenarios.filter { scenario in only.map { scenario.name.contains($0) } ?? true }
    }

    struct Result {
        var callsPerSecond: Double
        var p50: Double
        var p99: Double
        var p999: Double
        var serverCPUMicrosPerCall: Double
    }

    func run() async throws {
        // One thread for the server, one for the clients: the machine has two cores.
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let serverCPU = try await ThreadCPU.of(serverGroup.next())
        let (rpcServer, rpcPort) = try await RPCLoad.startServer(group: serverGroup)
        let serverMetrics = ServiceMetrics(service: "bench")
        let clientMetrics = ServiceMetrics(service: "bench-client")
        let (meteredServer, meteredPort) = try await RPCLoad.startServer(group: serverGroup, metrics: serverMetrics.rpcServer())
        let meteredClient = clientMetrics.rpcClient()
        let sink = try await OTLPReceiver.start()
        let traces = try TraceExport.make(
            HostConfiguration.resolve(serviceName: "bench", defaultPort: 0,
                                      options: HostOptions.parse(["--plaintext", "--otlp-endpoint", sink.endpoint]), environment: [:]),
            logger: Logger(label: "crm.bench.otel")
        )
        let exporting = Task { try? await traces.service?.run() }
        let tracedMetrics = ServiceMetrics(service: "bench-traced")
        let (tracedServer, tracedPort) = try await RPCLoad.startServer(group: serverGroup, metrics: tracedMetrics.rpcServer(), tracer: traces.tracer,
                                                                          followsCallerSampling: traces.followsCallerSampling)
        let tracedClient = ServiceMetrics(service: "bench-traced-client").rpcClient()
        // One sampled traceparent in every round(100 / sampledPercent) calls, the others not sampled.
        let sampledEvery = sampledPercent > 0 ? max(1, Int((100 / sampledPercent).rounded())) : 0
        let sampled = [MetadataEntry(MetadataKeys.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
        let unsampled = [MetadataEntry(MetadataKeys.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")]
        let traceparent = sampledEvery == 0 ? [unsampled] : [sampled] + Array(repeating: unsampled, count: sampledEvery - 1)
        let files = try Self.certificates(certs)
        let (tlsServer, tlsPort) = try await RPCLoad.startServer(group: serverGroup, security: .tls(try ServerTLSContext(files)))
        let clientTLS = ClientSecurity.tls(try ClientTLSContext(TLSFiles(certificateChain: nil, privateKey: nil, trustRoots: files.trustRoots)))
        let (echoChannel, echoPort) = try await BareEcho.startServer(group: serverGroup)

        let message = Crm_Bench_V1_BenchMessage.with {
            $0.customerID = "C000123456"
            $0.value = 1_234_567
            $0.tags = ["gold", "active", "c4", "equity", "margin"]
        }
        // The bare echo sends what the RPC client sends for the same call: a full request frame.
        var request = WireRequest()
        request.callID = 1
        request.method = RPCLoad.method.path
        request.deadlineMs = 10_000
        request.metadata = [MetadataEntry("authorization", "Bearer \(RPCLoad.token)")]
        request.payload = try message.serializedData()
        var encoded = ByteBuffer()
        try encoded.writeFrame(.request(request))
        let frame = encoded
        print("message: \(try message.serializedData().count) bytes; request frame: \(frame.readableBytes) bytes")
        print("server: 1 event-loop thread; clients: 1 event-loop thread; \(rounds) rounds x \(seconds) s per scenario")
        print("traced stack: \(sampledEvery == 0 ? "no call" : "1 call in \(sampledEvery)") arrives sampled; OTEL_TRACES_SAMPLER=\(ProcessInfo.processInfo.environment["OTEL_TRACES_SAMPLER"] ?? "(unset)")\n")

        let duration = TimeAmount.nanoseconds(Int64(seconds * 1e9))
        var results: [String: [Result]] = [:]
        for round in 1...rounds {
            for scenario in selectedScenarios {
                for variant in Self.variants where stack.map({ $0.split(separator: "|").contains(Substring(variant)) }) ?? true {
                    let before = serverCPU.nanoseconds()
                    let started = NIODeadline.now()
                    let latencies = try await withThrowingTaskGroup(of: [Int64].self) { group in
                        for _ in 0..<scenario.connections {
                            group.addTask {
                                if variant == "rpc" {
                                    return try await RPCLoad.load(port: rpcPort, group: clientGroup, message: message, inFlight: scenario.inFlightPerConnection, duration: duration)
                                }
                                if variant == "rpc with traceparent" {
                                    return try await RPCLoad.load(port: rpcPort, group: clientGroup, message: message, inFlight: scenario.inFlightPerConnection,
                                                                  duration: duration, metadata: traceparent)
                                }
                                if variant == "rpc with metrics" {
                                    return try await RPCLoad.load(port: meteredPort, group: clientGroup, message: message, inFlight: scenario.inFlightPerConnection,
                                                                  duration: duration, metrics: meteredClient)
                                }
                                if variant == "rpc with metrics and traceparent" {
                                    return try await RPCLoad.load(port: meteredPort, group: clientGroup, message: message, inFlight: scenario.inFlightPerConnection,
                                                                  duration: duration, metrics: meteredClient, metadata: traceparent)
                                }
                                if variant == "rpc with metrics and tracing" {
                                    return try await RPCLoad.load(port: tracedPort, group: clientGroup, message: message, inFlight: scenario.inFlightPerConnection,
                                                                  duration: duration, metrics: tracedClient, metadata: traceparent)
                                }
                                if variant == "rpc over TLS" {
                                    return try await RPCLoad.load(port: tlsPort, group: clientGroup, message: message, inFlight: scenario.inFlightPerConnection,
                                                                  duration: duration, security: clientTLS)
                                }
                                if variant == "bare echo, task per call" {
                                    return try await BareEcho.asyncLoad(port: echoPort, group: clientGroup, frame: frame, inFlight: scenario.inFlightPerConnection, duration: duration)
                                }
                                return try await BareEcho.load(port: echoPort, group: clientGroup, frame: frame, inFlight: scenario.inFlightPerConnection, duration: duration)
                            }
                        }
                        var all: [Int64] = []
                        for try await part in group { all += part }
                        return all
                    }
                    let elapsed = Double(NIODeadline.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                    let cpu = Double(serverCPU.nanoseconds() - before)
                    let result = Self.summarize(latencies, elapsed: elapsed, serverCPUNanos: cpu)
                    results["\(scenario.name)|\(variant)", default: []].append(result)
                    if verbose {
                        print(String(format: "round %d  %-24@ %-10@ %9.0f calls/s  p50 %6.1f µs  p99 %7.1f µs", round, scenario.name, variant, result.callsPerSecond, result.p50, result.p99))
                    }
                }
            }
        }

        print("| scenario | stack | calls/s | p50 µs | p99 µs | p999 µs | server CPU µs/call |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for scenario in selectedScenarios {
            var medians: [String: Result] = [:]
            for variant in Self.variants {
                let runs = results["\(scenario.name)|\(variant)"] ?? []
                let median = Result(
                    callsPerSecond: Self.median(runs.map(\.callsPerSecond)),
                    p50: Self.median(runs.map(\.p50)),
                    p99: Self.median(runs.map(\.p99)),
                    p999: Self.median(runs.map(\.p999)),
                    serverCPUMicrosPerCall: Self.median(runs.map(\.serverCPUMicrosPerCall))
                )
                medians[variant] = median
                print(String(format: "| %@ | %@ | %.0f | %.1f | %.1f | %.1f | %.2f |", scenario.name, variant, median.callsPerSecond, median.p50, median.p99, median.p999, median.serverCPUMicrosPerCall))
            }
            for (stack, baseline) in Self.comparisons {
                if let base = medians[baseline], let measured = medians[stack], base.callsPerSecond > 0, measured.callsPerSecond > 0 {
                    print(String(format: "| %@ | %@ / %@ | %.2f | %.2f | %.2f | %.2f | %.2f |", scenario.name, stack, baseline,
                                 measured.callsPerSecond / base.callsPerSecond, measured.p50 / base.p50, measured.p99 / base.p99,
                                 measured.p999 / base.p999, measured.serverCPUMicrosPerCall / base.serverCPUMicrosPerCall))
                }
            }
        }
        // The stacks of a round ran one after the other, so a round's ratio compares them under the
        // same load on the machine; the median of those is steadier than a ratio of medians.
        print("\n| scenario | stack / baseline | calls/s ratio, median of rounds | each round | server CPU ratio, median of rounds |")
        print("|---|---|---:|---|---:|")
        for scenario in selectedScenarios {
            for (stack, baseline) in Self.comparisons {
                let measured = results["\(scenario.name)|\(stack)"] ?? [], base = results["\(scenario.name)|\(baseline)"] ?? []
                guard measured.count == base.count, !measured.isEmpty, base.allSatisfy({ $0.callsPerSecond > 0 }) else { continue }
                let ratios = zip(measured, base).map { $0.callsPerSecond / $1.callsPerSecond }
                let cpu = zip(measured, base).map { $0.serverCPUMicrosPerCall / max($1.serverCPUMicrosPerCall, 1e-9) }
                print(String(format: "| %@ | %@ / %@ | %.3f | %@ | %.3f |", scenario.name, stack, baseline, Self.median(ratios),
                             ratios.map { String(format: "%.2f", $0) }.joined(separator: " "), Self.median(cpu)))
            }
        }

        if verbose {
            let exposition = String(decoding: await serverMetrics.exposition(), as: UTF8.self)
            print("\nserver metrics after the run (\(exposition.utf8.count) bytes of exposition):")
            print(exposition.split(separator: "\n").filter { $0.contains("calls_total") || $0.contains("_count") }.joined(separator: "\n"))
        }
        await rpcServer.shutdown()
        await meteredServer.shutdown()
        await tracedServer.shutdown()
        exporting.cancel()
        _ = await exporting.value
        try await sink.stop()
        await tlsServer.shutdown()
        try await echoChannel.close()
        try await serverGroup.shutdownGracefully()
        try await clientGroup.shutdownGracefully()
    }

    /// The TLS variant's certificates: `folder`'s, or a development set made for this run.
    static func certificates(_ folder: String?) throws -> TLSFiles {
        var folder = folder
        if folder == nil {
            let made = FileManager.default.temporaryDirectory.appendingPathComponent("crm-bench-certs-\(getpid())").path
            let script = Process()
            script.executableURL = URL(fileURLWithPath: "/bin/bash")
            script.arguments = ["scripts/dev-certs.sh", made]
            try script.run()
            script.waitUntilExit()
            guard script.terminationStatus == 0 else {
                throw ValidationError("scripts/dev-certs.sh \(made) failed: run from the repository, or pass --certs")
            }
            folder = made
        }
        let base = folder ?? "."
        return TLSFiles(certificateChain: "\(base)/profiles.crt", privateKey: "\(base)/profiles.key", trustRoots: "\(base)/ca.crt")
    }

    static func summarize(_ latencies: [Int64], elapsed: Double, serverCPUNanos: Double) -> Result {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))
            return Double(sorted[index]) / 1_000
        }
        let calls = Double(sorted.count)
        return Result(
            callsPerSecond: calls / elapsed,
            p50: percentile(0.50),
            p99: percentile(0.99),
            p999: percentile(0.999),
            serverCPUMicrosPerCall: calls > 0 ? serverCPUNanos / calls / 1_000 : 0
        )
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
