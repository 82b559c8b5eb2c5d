import CRMRPC
import CRMTestSupport
import Foundation

/// One real service executable started for a test: its own port (picked by the OS), its own SQLite
/// file, the development configuration from services/, and TLS with the development certificates
/// scripts/dev-certs.sh makes in the work folder (`<work>/certs`, where crmctl's `--data-dir` finds
/// the CA too).
final class ServiceProcess: @unchecked Sendable {
    let service: String
    /// The process's own name in the work folder (its store, port file and log): the service's
    /// name unless two processes of one service run side by side.
    let name: String
    let databasePath: String
    let workDir: URL
    private(set) var port: Int = 0
    /// The port of its Prometheus endpoint, when started with `metrics: true`.
    private(set) var metricsPort: Int?
    /// What a test's client speaks to this service: TLS trusting the work folder's CA (set by ``start``).
    private(set) var clientSecurity: ClientSecurity = .plaintext()
    private var process: ChildProcess?

    /// The package root, found from this file's location.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where `swift build` put the executables: beside the test bundle.
    static let binaryDir: URL = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("crm-profiles").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug")
    }()

    init(service: String, workDir: URL, name: String? = nil) {
        self.service = service
        self.name = name ?? service
        self.workDir = workDir
        self.databasePath = workDir.appendingPathComponent("\(self.name).sqlite").path
    }

    /// A test's profiles firm has 8 partitions unless the test says (docs/partitioning.md §2: tests
    /// keep `partitions.count` small). A new store keeps a file per partition, and with the default
    /// 64 every profiles start made 64 files (each migrated, with its fsyncs) and every follower
    /// 128 feeds: across the suite's processes that loaded this 2-core machine's disk and cores until
    /// in-process peers in other suites missed their 5 s deadlines.
    static let testPartitions = ["--setting", "partitions.count=8"]

    /// Starts the executable (on `port`, or a free one) and waits until it reports its port and
    /// answers health.
    /// `arguments` come last, so they win over `peers` (e.g. `--peer matching=A,B` for a list).
    /// `config`: a configuration file instead of the development one in services/.
    /// `metrics`: also serve Prometheus metrics on a free port (read back into ``metricsPort``).
    func start(port requested: Int = 0, peers: [String: Int] = [:], arguments: [String] = [], config: URL? = nil, metrics: Bool = false) async throws {
        let certs = try await Self.certificates(in: workDir)
        clientSecurity = .tls(try ClientTLSContext(TLSFiles(certificateChain: nil, privateKey: nil, trustRoots: certs.appendingPathComponent("ca.crt").path)))
        let portFile = workDir.appendingPathComponent("\(name).port")
        try? FileManager.default.removeItem(at: portFile)
        let metricsPortFile = workDir.appendingPathComponent("\(name).metrics-port")
        try? FileManager.default.removeItem(at: metricsPortFile)
        let given = arguments.contains { $0.hasPrefix("partitions.count=") }
        let partitions: [String] = service == "profiles" && !given ? Self.testPartitions : []
        let arguments = [
            "--port", String(requested), "--port-file", portFile.path,
            "--database", databasePath,
            "--config", (config ?? Self.packageRoot.appendingPathComponent("services/\(service)/config.json")).path,
            "--log-level", "warning",
            "--tls-certificate", certs.appendingPathComponent("\(service).crt").path,
            "--tls-key", certs.appendingPathComponent("\(service).key").path,
            "--tls-ca", certs.appendingPathComponent("ca.crt").path,
        ] + peers.sorted(by: { $0.key < $1.key }).flatMap { ["--peer", "\($0.key)=127.0.0.1:\($0.value)"] }
            // The development configuration lists matching's sibling replicas on their fixed ports:
            // a test's replica has only the siblings the test gives it.
            + (service == "matching" && peers["matching"] == nil ? ["--peer", "matching="] : [])
            + (metrics ? ["--metrics-port", "0", "--metrics-port-file", metricsPortFile.path] : [])
            + partitions
            + arguments
        let log = workDir.appendingPathComponent("\(name).log")
        let process = try ChildProcess.start(
            Self.binaryDir.appendingPathComponent("crm-\(service)"), arguments: arguments, output: .appending(to: log))
        self.process = process

        // Readiness: the port file appears once the server listens. No time limit while the
        // process runs: on a machine whose disk is busy with another job's writes, opening and
        // migrating a new SQLite file (fsync) once took more than 20 s.
        while true {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                self.port = port
                // The metrics endpoint listens (and writes its file) before the RPC server does.
                if metrics {
                    let text = try String(contentsOf: metricsPortFile, encoding: .utf8)
                    metricsPort = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                return
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw RPCError(.unavailable, "crm-\(service) did not start: \(output.suffix(2_000))")
    }

    var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: port) }

    /// The development certificates in `<workDir>/certs`, made by scripts/dev-certs.sh (which keeps
    /// a complete set, so every process of a test shares one CA).
    static func certificates(in workDir: URL) async throws -> URL {
        let folder = workDir.appendingPathComponent("certs")
        let log = workDir.appendingPathComponent("dev-certs.log")
        let script = try ChildProcess.start(
            URL(fileURLWithPath: "/bin/bash"), arguments: [packageRoot.appendingPathComponent("scripts/dev-certs.sh").path, folder.path],
            errors: .appending(to: log))
        let status = await script.exit.value()
        guard status == 0 else {
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw RPCError(.internal, "scripts/dev-certs.sh \(folder.path) failed with exit \(status): \(output.suffix(2_000))")
        }
        return folder
    }

    /// Sends SIGHUP: the service re-reads its certificates, tokens and rate limits.
    func hangUp() {
        process?.send(SIGHUP)
    }

    /// kill -9: no drain, no goodbye.
    func kill9() {
        guard let process else { return }
        process.send(SIGKILL)
        _ = process.exit.wait()
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func terminate() -> Int32 {
        guard let process else { return -1 }
        process.send(SIGTERM)
        return process.exit.wait()
    }
}
