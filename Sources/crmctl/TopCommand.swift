import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `crmctl top`: every instance's calls per second, failures, p99, calls in flight, feed lag and
/// resident memory, refreshed every second from the services' metrics endpoints (`--metrics-port`).
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live view of every service from its Prometheus metrics endpoint (RPC port + 10000 unless told otherwise)."
    )

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "Metrics port = RPC port + this offset, for every endpoint of the topology.")
    var metricsOffset: Int = 10_000

    @Option(help: "A metrics endpoint to show instead of the topology's: NAME=HOST:PORT (repeatable).")
    var metrics: [String] = []

    @Option(help: "Seconds between refreshes.")
    var interval: Double = 1

    @Option(help: "Refreshes before exiting (0: until Ctrl-C).")
    var count: Int = 0

    @Flag(help: "Print each refresh below the last instead of redrawing the screen.")
    var plain = false

    /// The statuses that count as the server failing (not the caller's bad input or rights).
    static let failing: Set<String> = ["INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN", "DATA_LOSS"]

    struct Target {
        var name: String
        var url: URL
    }

    struct Scrape {
        var at: ContinuousClock.Instant
        var samples: [MetricSample]
    }

    func run() async throws {
        let targets = try self.targets()
        var previous: [String: Scrape] = [:]
        var shown = 0
        while count == 0 || shown < count {
            let scrapes = await withTaskGroup(of: (String, Scrape?).self) { group in
                for target in targets {
                    group.addTask { (target.name, await Self.fetch(target.url)) }
                }
                var all: [String: Scrape] = [:]
                for await (name, scrape) in group { if let scrape { all[name] = scrape } }
                return all
            }
            var lines = [Self.header]
            for target in targets {
                lines.append(Self.row(target.name, now: scrapes[target.name], before: previous[target.name]))
            }
            if !plain { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            print(lines.joined(separator: "\n"))
            if plain { print("") }
            previous = scrapes
            shown += 1
            if count == 0 || shown < count {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
            }
        }
    }

    func targets() throws -> [Target] {
        if !metrics.isEmpty {
            return try metrics.map { spec in
                let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let url = URL(string: "http://\(parts[1])/metrics") else {
                    throw ValidationError("--metrics \(spec): expected NAME=HOST:PORT")
                }
                return Target(name: parts[0], url: url)
            }
        }
        let topology = try cluster.loadTopology()
        var targets: [Target] = []
        for service in topology.services {
            for (index, endpoint) in try topology.endpoints(of: service).enumerated() {
                guard let url = URL(string: "http://\(endpoint.host):\(endpoint.port + metricsOffset)/metrics") else { continue }
                targets.append(Target(name: index == 0 ? service : "\(service)-\(index + 1)", url: url))
            }
        }
        return targets
    }

    static func fetch(_ url: URL) async -> Scrape? {
        var request = URLRequest(url: url)
        request.timeoutInterval = 2
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
        return Scrape(at: .now, samples: MetricsText.parse(String(decoding: data, as: UTF8.self)))
    }

    static let header = pad("instance", 16) + pad("calls/s", 10, right: true) + pad("failed/s", 10, right: true)
        + pad("p99 ms", 10, right: true) + pad("in flight", 11, right: true) + pad("max lag s", 11, right: true)
        + pad("rss MiB", 10, right: true) + "  ready"

    static func row(_ name: String, now: Scrape?, before: Scrape?) -> String {
        guard let now else { return pad(name, 16) + "  (no answer from its metrics endpoint)" }
        func sum(_ samples: [MetricSample], _ metric: String, where accept: ([String: String]) -> Bool = { _ in true }) -> Double {
            samples.filter { $0.name == metric && accept($0.labels) }.reduce(0) { $0 + $1.value }
        }
        let calls = "crm_rpc_server_calls_total"
        var rate = "-", failed = "-", p99 = "-"
        if let before {
            let seconds = Double((now.at - before.at).components.seconds) + Double((now.at - before.at).components.attoseconds) / 1e18
            if seconds > 0 {
                rate = String(format: "%.1f", (sum(now.samples, calls) - sum(before.samples, calls)) / seconds)
                let failure: ([String: String]) -> Bool = { Self.failing.contains($0["status"] ?? "") }
                failed = String(format: "%.1f", (sum(now.samples, calls, where: failure) - sum(before.samples, calls, where: failure)) / seconds)
            }
            func buckets(_ samples: [MetricSample]) -> [Double: Double] {
                var byBound: [Double: Double] = [:]
                for sample in samples where sample.name == "crm_rpc_server_call_duration_seconds_bucket" {
                    guard let text = sample.labels["le"], let bound = text == "+Inf" ? .infinity : Double(text) else { continue }
                    byBound[bound, default: 0] += sample.value
                }
                return byBound
            }
            if let quantile = MetricsText.quantile(0.99, before: buckets(before.samples), after: buckets(now.samples)) {
                p99 = String(format: "%.2f", quantile * 1000)
            }
        }
        let inFlight = String(format: "%.0f", sum(now.samples, "crm_rpc_server_calls_in_flight"))
        let lags = now.samples.filter { $0.name == "crm_feed_lag_seconds" || $0.name == "crm_matching_copy_staleness_seconds" }.map(\.value)
        let lag = lags.max().map { String(format: "%.1f", $0) } ?? "-"
        let ready = now.samples.first { $0.name == "crm_service_ready" }.map { $0.value == 1 ? "yes" : "no" } ?? "?"
        let resident = now.samples.first { $0.name == "process_resident_memory_bytes" }.map { String(format: "%.0f", $0.value / 1_048_576) } ?? "-"
        return pad(name, 16) + pad(rate, 10, right: true) + pad(failed, 10, right: true) + pad(p99, 10, right: true)
            + pad(inFlight, 11, right: true) + pad(lag, 11, right: true) + pad(resident, 10, right: true) + "  " + ready
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let space = String(repeating: " ", count: width - text.count)
        return right ? space + text : text + space
    }
}
