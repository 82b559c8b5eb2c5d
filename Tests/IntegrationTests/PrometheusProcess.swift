import CRMRPC
import CRMTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real Prometheus (Debian's `prometheus`, which scripts/setup.sh installs) scraping the given
/// targets every second, on a port it picks itself (read back from its log), with its storage in
/// the test's work folder. Queries go through its HTTP API.
final class PrometheusProcess: @unchecked Sendable {
    static let executable = "/usr/bin/prometheus"
    let workDir: URL
    private(set) var port = 0
    private var process: ChildProcess?

    init(workDir: URL) {
        self.workDir = workDir
    }

    /// Starts scraping `targets` (job name → `host:port` list) and waits until its API answers
    /// queries.
    func start(targets: [String: [String]]) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw RPCError(.failedPrecondition, "\(Self.executable) is missing: scripts/setup.sh installs Debian's prometheus")
        }
        var config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        for (job, addresses) in targets.sorted(by: { $0.key < $1.key }) {
            config += "  - job_name: \(job)\n    static_configs:\n      - targets: [\(addresses.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        }
        let configFile = workDir.appendingPathComponent("prometheus.yml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let log = workDir.appendingPathComponent("prometheus.log")
        try? FileManager.default.removeItem(at: log)
        let process = try ChildProcess.start(URL(fileURLWithPath: Self.executable), arguments: [
            "--config.file=\(configFile.path)",
            "--storage.tsdb.path=\(workDir.appendingPathComponent("tsdb").path)",
            "--web.listen-address=127.0.0.1:0",
            "--web.console.templates=/dev/null", "--web.console.libraries=/dev/null",
        ], output: .appending(to: log))
        self.process = process
        // It logs the address it really bound: `msg="Listening on" address=127.0.0.1:PORT`.
        try await waitUntil(every: .milliseconds(50)) {
            guard process.isRunning else {
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw RPCError(.unavailable, "prometheus exited: \(output.suffix(2_000))")
            }
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            guard let line = text.split(separator: "\n").first(where: { $0.contains("msg=\"Listening on\"") }),
                  let address = line.split(separator: " ").first(where: { $0.hasPrefix("address=") }),
                  let port = address.split(separator: ":").last.flatMap({ Int($0) }) else { return false }
            self.port = port
            return true
        }
        // It listens before its storage is open, and answers 503 in plain text until then: the
        // queries wait for /-/ready (a loaded machine showed the gap as a JSON error).
        try await waitUntil(every: .milliseconds(50)) {
            try await HTTPFetch.get(self.url("/-/ready")).1?.statusCode == 200
        }
    }

    /// `path` (with `query`) on its HTTP API.
    private func url(_ path: String, query: [URLQueryItem]? = nil) throws -> URL {
        var components = URLComponents()
        components.scheme = "http"
        components.host = "127.0.0.1"
        components.port = port
        components.path = path
        components.queryItems = query
        guard let url = components.url else { throw RPCError(.internal, "no URL for \(path)") }
        return url
    }

    /// One instant query: each series' labels and value.
    func query(_ promql: String) async throws -> [(labels: [String: String], value: Double)] {
        let (data, _) = try await HTTPFetch.get(url("/api/v1/query", query: [URLQueryItem(name: "query", value: promql)]))
        guard let body = try JSONSerialization.jsonObject(with: data) as? [String: Any], body["status"] as? String == "success",
              let result = (body["data"] as? [String: Any])?["result"] as? [[String: Any]] else {
            throw RPCError(.internal, "prometheus answered \(String(decoding: data, as: UTF8.self))")
        }
        return result.compactMap { series in
            guard let labels = series["metric"] as? [String: String], let value = series["value"] as? [Any],
                  value.count == 2, let text = value[1] as? String, let number = Double(text) else { return nil }
            return (labels, number)
        }
    }

    /// The value of a query that gives one series, or nil while it gives none.
    func value(_ promql: String) async throws -> Double? {
        try await query(promql).first?.value
    }

    func terminate() {
        guard let process else { return }
        process.send(SIGTERM)
        _ = process.exit.wait()
    }
}
