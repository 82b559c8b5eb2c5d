import ArgumentParser
import CRMRPC
import CRMServiceHost
import Foundation

/// A service executable (`crm-matching`, `crm-profiles`) for a benchmark: its own store and
/// configuration in the benchmark's folder, peers on loopback, its port read back from
/// `--port-file`, its RSS and CPU read from /proc (the process's own, apart from the benchmark's).
final class ServiceExecutable: @unchecked Sendable {
    let executable: String
    let directory: URL
    /// The file names' stem in `directory` (`matching`, `profiles-0`, …).
    let name: String
    let process = Process()

    /// A matching replica whose peers are the benchmark's in-process services, and `siblings`
    /// (other replicas, `host:port`), which call it with `peerToken` as a service.
    convenience init(executable: String, directory: URL, name: String = "matching", adminTokenHash: String, peerToken: String,
                     peers: [String: Int], siblings: [String] = [], settings: [String: String]) throws {
        try self.init(executable: executable, directory: directory, name: name, configuration: [
            "tokens": [
                ["sha256": adminTokenHash, "principal": ["name": "bench", "roles": ["admin"], "attributes": [String: String]()]],
                ["sha256": TokenAuthenticator.hash(token: peerToken), "principal": ["name": "matching", "roles": ["service"], "attributes": [String: String]()]],
            ],
            "peers": peers.mapValues { ["127.0.0.1:\($0)"] }.merging(siblings.isEmpty ? [:] : ["matching": siblings]) { $1 },
            "peerToken": peerToken,
            "settings": settings,
        ])
    }

    /// Any service with a configuration file's JSON (`tokens`, `peers`, `peerToken`, `settings`, `audit`, …).
    init(executable: String, directory: URL, name: String, configuration: [String: Any]) throws {
        self.executable = executable
        self.directory = directory
        self.name = name
        try JSONSerialization.data(withJSONObject: configuration).write(to: directory.appendingPathComponent("\(name).json"))
    }

    /// An executable built beside this one (`swift build -c release` builds them all).
    static func beside(_ product: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(product).path
    }

    /// Starts the process (on `port`, or one the OS picks) and returns its port once it listens
    /// (bounded wait).
    func start(port requested: Int = 0) async throws -> Int {
        let portFile = directory.appendingPathComponent("\(name).port")
        // A port file left by an earlier run in a reused folder would name a port nobody listens on.
        try? FileManager.default.removeItem(at: portFile)
        process.executableURL = URL(fileURLWithPath: executable)
        // As services/systemd/crm-matching@.service runs it: large allocations mapped on their own.
        var environment = ProcessInfo.processInfo.environment
        environment["MALLOC_MMAP_THRESHOLD_"] = environment["MALLOC_MMAP_THRESHOLD_"] ?? "131072"
        process.environment = environment
        process.arguments = [
            "--port", String(requested), "--port-file", portFile.path,
            "--database", directory.appendingPathComponent("\(name).sqlite").path,
            "--config", directory.appendingPathComponent("\(name).json").path,
            "--log-level", "warning",
            // Plaintext on loopback: the benchmarks measure the services, and `crm-bench rpc`
            // measures TLS.
            "--plaintext",
        ]
        try process.run()
        let clock = ContinuousClock()
        // A replica listens once its copy is loaded from its store (and its migrations ran):
        // minutes at a million customers. The wait ends early if the process exits.
        let deadline = clock.now + .seconds(1_800)
        while clock.now < deadline, process.isRunning {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ValidationError("\(executable) did not start (build it: swift build -c release --product \(URL(fileURLWithPath: executable).lastPathComponent))")
    }

    var pid: String { "\(process.processIdentifier)" }

    func rssMiB() -> Int {
        Int(ProcessFigures.memoryMiB("VmRSS", process: pid))
    }

    /// The resident memory's parts (anonymous: heap and stacks; file: mapped code and files).
    func rssBreakdown() -> String {
        ["VmHWM", "RssAnon", "RssFile"].map { String(format: "%@ %.0f MiB", $0, ProcessFigures.memoryMiB($0, process: pid)) }.joined(separator: ", ")
    }

    /// CPU seconds (user + system) the process has used so far.
    func cpuSeconds() -> Double {
        ProcessFigures.cpuSeconds(process: pid)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
