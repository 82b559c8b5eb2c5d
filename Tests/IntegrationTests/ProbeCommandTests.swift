import CRMRPC
import Foundation
import Testing

/// `crmctl probe`, what the Kubernetes readiness and liveness probes run (deploy/kubernetes): its
/// exit code against the real executables.
@Suite struct ProbeCommandTests {
    func probe(_ port: Int, _ extra: [String], workDir: URL, name: String) async throws -> (status: Int32, output: String) {
        let command = try CommandProcess(
            ServiceProcess.binaryDir.appendingPathComponent("crmctl"),
            ["probe", "localhost:\(port)", "--tls-ca", workDir.appendingPathComponent("certs/ca.crt").path] + extra,
            workDir: workDir, name: name
        )
        let status = await command.exit()
        return (status, command.standardOutput)
    }

    @Test func readyOnlyWhenServingAliveWhileAMatchingReplicaCatchesUpDownWhenNothingAnswers() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let profiles = ServiceProcess(service: "profiles", workDir: dir)
        let matching = ServiceProcess(service: "matching", workDir: dir)
        defer { for process in [matching, profiles] { process.terminate() } }
        try await profiles.start()
        // Products is not running (nothing listens on port 1): the replica cannot load its copy and
        // answers NOT_SERVING.
        try await matching.start(peers: ["profiles": profiles.port], arguments: ["--peer", "products=127.0.0.1:1"])

        let serving = try await probe(profiles.port, [], workDir: dir, name: "probe-profiles")
        #expect(serving.status == 0 && serving.output.hasPrefix("SERVING"), "\(serving)")
        let starting = try await probe(matching.port, [], workDir: dir, name: "probe-matching")
        #expect(starting.status == 1 && starting.output.hasPrefix("NOT_SERVING") && starting.output.contains("not_serving_reason="), "\(starting)")
        let alive = try await probe(matching.port, ["--live"], workDir: dir, name: "probe-matching-live")
        #expect(alive.status == 0 && alive.output.hasPrefix("NOT_SERVING"), "\(alive)")

        let port = profiles.port
        profiles.terminate()
        let down = try await probe(port, ["--live", "--timeout", "1"], workDir: dir, name: "probe-down")
        #expect(down.status == 1 && down.output.hasPrefix("DOWN"), "\(down)")
    }
}
