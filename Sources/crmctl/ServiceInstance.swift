import CRMRPC
import Foundation

/// One running service process that `crmctl up` manages: where its binary, store, log and pid live.
struct ServiceInstance: Codable {
    /// `profiles`, or `matching-2` for the second matching replica.
    var name: String
    var service: String
    var host: String
    var port: Int
    var binary: String
    var arguments: [String]

    var endpoint: Endpoint { Endpoint(host: host, port: port) }

    /// The instances a topology describes: one per endpoint, replicas numbered from 2. Each serves
    /// TLS with its service's certificate from `certs` (scripts/dev-certs.sh names them), or runs
    /// in plaintext when `certs` is nil.
    /// `metricsOffset`: each serves its metrics on its port + the offset (nil: none).
    /// `partitionFiles`: partitioned profiles processes keep a file per partition (so they can move).
    static func plan(topology: Topology, dataDir: String, binaryDir: String, configDir: String, certs: String?,
                     metricsOffset: Int? = nil, partitionFiles: Bool = false) throws -> [ServiceInstance] {
        var instances: [ServiceInstance] = []
        for service in topology.services {
            for (index, endpoint) in try topology.endpoints(of: service).enumerated() {
                let name = index == 0 ? service : "\(service)-\(index + 1)"
                var arguments = [
                    "--host", endpoint.host, "--port", String(endpoint.port),
                    "--database", "\(dataDir)/\(name).sqlite",
                ]
                if let metricsOffset {
                    arguments += ["--metrics-port", String(endpoint.port + metricsOffset), "--metrics-host", endpoint.host]
                }
                if let certs {
                    arguments += ["--tls-certificate", "\(certs)/\(service).crt", "--tls-key", "\(certs)/\(service).key", "--tls-ca", "\(certs)/ca.crt"]
                } else {
                    arguments += ["--plaintext"]
                }
                if service == "profiles", let map = topology.partitions, let path = topology.path {
                    // Each profiles process reads the map and its peers' endpoints from the topology
                    // and knows itself as profiles-N, N counted from 0 as the map's owners are.
                    arguments += ["--setting", "partitions.topology=\(path)", "--setting", "partitions.owner=profiles-\(index)",
                                  "--setting", "partitions.count=\(map.partitioning.count)"]
                    if partitionFiles { arguments += ["--setting", "partitions.storage=file-per-partition"] }
                }
                if service == "matching", topology.matchingGroups != nil, let path = topology.path {
                    // Each replica reads the groups from the topology and finds itself by its endpoint.
                    arguments += ["--setting", "groups.topology=\(path)", "--setting", "groups.replica=\(endpoint.description)"]
                }
                let config = "\(configDir)/\(service)/config.json"
                if FileManager.default.fileExists(atPath: config) {
                    arguments += ["--config", config]
                    // The peers the configuration names, at the topology's endpoints (a flag wins over the
                    // file), so that a topology on other ports is wired consistently.
                    for peer in peerNames(inConfig: config) {
                        guard let endpoints = topology.endpoints[peer], !endpoints.isEmpty else { continue }
                        arguments += ["--peer", "\(peer)=" + endpoints.map(\.description).joined(separator: ",")]
                    }
                }
                instances.append(ServiceInstance(
                    name: name, service: service, host: endpoint.host, port: endpoint.port,
                    binary: "\(binaryDir)/crm-\(service)", arguments: arguments
                ))
            }
        }
        return instances
    }

    /// The keys of the `peers` object of a service's JSON configuration (empty when unreadable).
    static func peerNames(inConfig path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let peers = object["peers"] as? [String: Any]
        else { return [] }
        return peers.keys.sorted()
    }
}

/// Starts, finds and stops service processes through pid files under `<data>/run`, so that
/// `crmctl restart` in another terminal can act on what `crmctl up` started.
struct Supervisor {
    let dataDir: String

    private var runDir: String { "\(dataDir)/run" }
    private var logDir: String { "\(dataDir)/logs" }

    func prepare() throws {
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
    }

    func logPath(_ instance: ServiceInstance) -> String { "\(logDir)/\(instance.name).log" }

    /// Launches the instance detached from this process's lifetime, appending to its log.
    @discardableResult
    func launch(_ instance: ServiceInstance) throws -> Int32 {
        try prepare()
        guard FileManager.default.isExecutableFile(atPath: instance.binary) else {
            throw CRMCtlError("\(instance.binary) is missing: build first (swift build)")
        }
        let log = logPath(instance)
        if !FileManager.default.fileExists(atPath: log) {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
        }
        guard let output = FileHandle(forWritingAtPath: log) else { throw CRMCtlError("cannot write \(log)") }
        output.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: instance.binary)
        process.arguments = instance.arguments
        // Large allocations (128 KiB and more) get their own mapping, given back when freed, as
        // the systemd units set: the services' big columns grow by doubling (services/systemd).
        var environment = ProcessInfo.processInfo.environment
        environment["MALLOC_MMAP_THRESHOLD_"] = environment["MALLOC_MMAP_THRESHOLD_"] ?? "131072"
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        try "\(pid)\n".write(toFile: "\(runDir)/\(instance.name).pid", atomically: true, encoding: .utf8)
        let record = try JSONEncoder().encode(instance)
        try record.write(to: URL(fileURLWithPath: "\(runDir)/\(instance.name).json"))
        return pid
    }

    /// The instance `crmctl up` recorded under this name.
    func recorded(_ name: String) throws -> ServiceInstance {
        let path = "\(runDir)/\(name).json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CRMCtlError("no record of \(name) under \(runDir): start the system with crmctl up first")
        }
        return try JSONDecoder().decode(ServiceInstance.self, from: data)
    }

    func pid(of name: String) -> Int32? {
        guard let text = try? String(contentsOfFile: "\(runDir)/\(name).pid", encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0
    }

    /// SIGTERM, then wait (bounded) for the process to drain and exit; SIGKILL if it will not.
    func stop(_ name: String, grace: Duration = .seconds(20)) async {
        guard let pid = pid(of: name), isAlive(pid) else { return }
        kill(pid, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        while isAlive(pid), !isZombie(pid), clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if isAlive(pid), !isZombie(pid) {
            kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: "\(runDir)/\(name).pid")
    }

    /// A child that exited but was not reaped yet counts as stopped.
    private func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Waits until the instance answers SERVING, or fails with the tail of its log.
    /// Waits until the instance serves: as long as it takes while it answers that it is starting
    /// (a matching replica catching up), at most `downLimit` while it does not answer at all.
    func waitUntilHealthy(_ instance: ServiceInstance, pid: Int32, security: ClientSecurity, downLimit: Duration = .seconds(30)) async throws {
        do {
            try await HealthProbe.waitUntilServing(instance.endpoint, name: instance.name, security: security, downLimit: downLimit) {
                isAlive(pid) && !isZombie(pid) ? nil : "\(instance.name) exited during start-up"
            }
        } catch let error as CRMCtlError {
            throw CRMCtlError("\(error); its log ends:\n\(tail(of: logPath(instance)))")
        }
    }

    private func tail(of path: String, lines: Int = 15) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
