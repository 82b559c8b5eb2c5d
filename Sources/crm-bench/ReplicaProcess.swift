import ArgumentParser
import Foundation

/// A `crm-matching` process for the scale benchmark: its own store and configuration in the
/// benchmark's folder, peers on loopback, its port read back from `--port-file`, its RSS read
/// from /proc (the replica's own memory, apart from the source services in the benchmark).
final class ReplicaProcess: @unchecked Sendable {
    let executable: String
    let directory: URL
    let process = Process()

    init(executable: String, directory: URL, adminTokenHash: String, peerToken: String, peers: [String: Int], settings: [String: String]) throws {
        self.executable = executable
        self.directory = directory
        let configuration: [String: Any] = [
            "tokens": [["sha256": adminTokenHash, "principal": ["name": "bench", "roles": ["admin"], "attributes": [String: String]()]]],
            "peers": peers.mapValues { ["127.0.0.1:\($0)"] },
            "peerToken": peerToken,
            "settings": settings,
        ]
        try JSONSerialization.data(withJSONObject: configuration).write(to: directory.appendingPathComponent("matching.json"))
    }

    /// Starts the process and returns its port once it listens (bounded wait).
    func start() async throws -> Int {
        let portFile = directory.appendingPathComponent("matching.port")
        process.executableURL = URL(fileURLWithPath: executable)
        // As services/systemd/crm-matching@.service runs it: large allocations mapped on their own.
        var environment = ProcessInfo.processInfo.environment
        environment["MALLOC_MMAP_THRESHOLD_"] = environment["MALLOC_MMAP_THRESHOLD_"] ?? "131072"
        process.environment = environment
        process.arguments = [
            "--port", "0", "--port-file", portFile.path,
            "--database", directory.appendingPathComponent("matching.sqlite").path,
            "--config", directory.appendingPathComponent("matching.json").path,
            "--log-level", "warning",
            // Its peers are the bench's in-process services, plaintext on loopback: this measures
            // matching, and `crm-bench rpc` measures TLS.
            "--plaintext",
        ]
        try process.run()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline, process.isRunning {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ValidationError("\(executable) did not start (build it: swift build -c release --product crm-matching)")
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
