import ArgumentParser
import Dispatch
import Foundation

/// `crmctl up`: every service of the topology from this build, stores under ./data, until Ctrl-C.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start every service, wait until healthy, print the endpoints; Ctrl-C stops them gracefully."
    )

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "Folder holding each service's default configuration.")
    var configDir: String = "services"

    @Option(help: "Folder of the TLS certificates (default <data-dir>/certs); the development ones are made there by scripts/dev-certs.sh when missing.")
    var certs: String?

    @Flag(help: "Start, report and return, leaving the services running (stop them with kill or crmctl restart).")
    var detach = false

    @Flag(help: "Serve each service's Prometheus metrics on its RPC port + 10000 (what crmctl top and services/prometheus read).")
    var metrics = false

    @Flag(help: "Once the services are healthy, run `crmctl demo` against them (its options below apply).")
    var demo = false

    @Flag(help: "With a partitioned topology: each profiles process must keep each partition in a file of its own (partitions.storage file-per-partition), so partitions can move (crmctl partitions move). A new data folder gets files anyway; with this flag a folder whose stores hold the customers in one file is refused rather than kept as it is.")
    var partitionFiles = false

    @OptionGroup(title: "Demo options (with --demo)") var demoOptions: DemoOptions

    func validate() throws {
        if demo { try demoOptions.validate() }
    }

    func run() async throws {
        let topology = try cluster.loadTopology()
        let supervisor = Supervisor(dataDir: cluster.dataDir)
        try supervisor.prepare()
        let certs = cluster.plaintext ? nil : (self.certs ?? "\(cluster.dataDir)/certs")
        if let certs { try DevelopmentCertificates.ensure(in: certs, binaryDir: Self.binaryDirectory) }
        let security = try cluster.clientSecurity(certs: certs)
        let instances = try ServiceInstance.plan(
            topology: topology,
            dataDir: cluster.dataDir,
            binaryDir: Self.binaryDirectory,
            configDir: configDir,
            certs: certs,
            metricsOffset: metrics ? 10_000 : nil,
            partitionFiles: partitionFiles
        )
        for instance in instances {
            if let pid = supervisor.pid(of: instance.name), supervisor.isAlive(pid) {
                throw CRMCtlError("\(instance.name) already runs as pid \(pid); stop it first")
            }
        }

        // Ctrl-C and SIGTERM are ours to handle from here on: stop the services, then exit.
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM])

        var started: [ServiceInstance] = []
        do {
            for instance in instances {
                let pid = try supervisor.launch(instance)
                started.append(instance)
                try await supervisor.waitUntilHealthy(instance, pid: pid, security: security)
                print("\(instance.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(instance.endpoint)  pid \(pid)  log \(supervisor.logPath(instance))")
            }
        } catch {
            for instance in started.reversed() { await supervisor.stop(instance.name) }
            throw error
        }
        print("all \(instances.count) services are healthy; data in \(cluster.dataDir)/")
        var demoFailure: (any Error)?
        if demo {
            let runner = try DemoRunner(options: demoOptions, cluster: cluster, certs: certs)
            do {
                try await Interruption.run(until: signals) { try await runner.run() }
            } catch is Interruption {
                FileHandle.standardError.write(Data("\n\(runner.interruptionNote())\n".utf8))
                await stop(instances, supervisor: supervisor)
                throw ExitCode(130)
            } catch {
                if detach { throw error }
                FileHandle.standardError.write(Data("demo failed: \(error)\n".utf8))
                demoFailure = error
            }
        }
        if detach { return }
        print("the services keep running; press Ctrl-C to stop them")
        await signals.next()
        await stop(instances, supervisor: supervisor)
        if demoFailure != nil { throw ExitCode(1) }
    }

    private func stop(_ instances: [ServiceInstance], supervisor: Supervisor) async {
        print("\nstopping…")
        for instance in instances.reversed() {
            await supervisor.stop(instance.name)
            print("stopped \(instance.name)")
        }
    }

    /// The folder of this crmctl binary: the services' executables are built beside it.
    static var binaryDirectory: String {
        let path = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        if CommandLine.arguments[0].contains("/") {
            return path.deletingLastPathComponent().path
        }
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    }
}

/// Turns SIGINT/SIGTERM into an awaitable event instead of killing the process.
/// Unchecked Sendable: every stored property is set once in `init` and never changed; the stream
/// is Sendable and the dispatch sources are only kept alive.
final class SignalWatcher: @unchecked Sendable {
    private let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        self.sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    func next() async {
        for await _ in stream { return }
    }
}

/// `crmctl restart SERVICE`: one service (or replica) stopped gracefully and started again with the
/// same arguments, while the others keep running.
struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Restart one service started by crmctl up (e.g. profiles, matching-2)."
    )

    @Argument(help: "The instance: a service name, or matching-2 for a replica.")
    var instance: String

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let supervisor = Supervisor(dataDir: cluster.dataDir)
        let record = try supervisor.recorded(instance)
        await supervisor.stop(record.name)
        print("stopped \(record.name)")
        let pid = try supervisor.launch(record)
        try await supervisor.waitUntilHealthy(record, pid: pid, security: try cluster.clientSecurity())
        print("\(record.name) is serving again on \(record.endpoint) (pid \(pid))")
    }
}
