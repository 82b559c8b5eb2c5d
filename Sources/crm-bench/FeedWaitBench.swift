import ArgumentParser
import CRMProtos
import CRMRPC
import CRMServiceHost
import Foundation

/// What following a profiles process that keeps a file per partition costs while nothing happens,
/// and how soon a new event reaches matching: followers that poll every interval (`wait_ms` 0)
/// against followers whose reads wait for an entry (docs/partitioning.md §7, "reads that wait").
///
/// The real executables on loopback: `crm-profiles` with a file per partition and `crm-products`,
/// `crm-matching` (every partition's change feed and event log, and products' feed) and
/// `crm-compensation` (the same feeds) following them. Once both are caught up, the CPU each process uses over an idle window; then service
/// contacts ingested one at a time, each timed from its acknowledgement until matching's replica
/// status counts it applied (polled every 2 ms). The variants alternate, each in a fresh folder.
struct FeedWaitBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed-waits",
        abstract: "Idle CPU and event delivery of matching and compensation following a file-per-partition profiles: polling against waiting reads."
    )

    @Option(help: "Partitions (files) of the profiles process.")
    var partitions = 64
    @Option(help: "Customers upserted before the followers start.")
    var customers = 640
    @Option(help: "Seconds of the idle window.")
    var idleSeconds = 30
    @Option(help: "Events delivered one at a time after the idle window.")
    var deliveries = 40
    @Option(help: "Rounds; each round runs every variant once.")
    var rounds = 2
    @Option(help: "The followers' wait_ms variants (0 polls every interval).")
    var waits: [Int] = [0, 10_000]

    static let token = "feed-wait-bench-admin"
    static let peerToken = "feed-wait-bench-peer"

    struct Figures {
        var cpu: [String: Double] = [:]
        var latencies: [Double] = []
    }

    func run() async throws {
        print("== feed waits: \(partitions) partition files, \(customers) customers, idle \(idleSeconds) s, \(deliveries) deliveries, "
              + "\(ProcessInfo.processInfo.activeProcessorCount) cores")
        var results: [Int: [Figures]] = [:]
        for round in 1...max(1, rounds) {
            for wait in waits {
                let figures = try await measure(wait: wait)
                results[wait, default: []].append(figures)
                print(String(format: "round %d, wait_ms %d: idle CPU per second: profiles %.3f, products %.3f, matching %.3f, compensation %.3f; delivery median %.1f ms, p90 %.1f ms",
                             round, wait, figures.cpu["profiles"] ?? 0, figures.cpu["products"] ?? 0, figures.cpu["matching"] ?? 0, figures.cpu["compensation"] ?? 0,
                             Self.quantile(figures.latencies, 0.5), Self.quantile(figures.latencies, 0.9)))
            }
        }
        print("\n| wait_ms | idle CPU-s per s: profiles | products | matching | compensation | delivery to matching: median | p90 |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for wait in waits {
            let runs = results[wait] ?? []
            func median(_ name: String) -> Double { Self.quantile(runs.compactMap { $0.cpu[name] }, 0.5) }
            let latencies = runs.flatMap(\.latencies)
            print(String(format: "| %d | %.3f | %.3f | %.3f | %.3f | %.1f ms | %.1f ms |", wait, median("profiles"), median("products"), median("matching"),
                         median("compensation"),
                         Self.quantile(latencies, 0.5), Self.quantile(latencies, 0.9)))
        }
    }

    func measure(wait: Int) async throws -> Figures {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-feed-waits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokens: [[String: Any]] = [
            ["sha256": TokenAuthenticator.hash(token: Self.token), "principal": ["name": "bench", "roles": ["admin", "ingest", "service"], "attributes": [String: String]()]],
            ["sha256": TokenAuthenticator.hash(token: Self.peerToken), "principal": ["name": "services", "roles": [Principal.serviceRole], "attributes": [String: String]()]],
        ]
        let profiles = try ServiceExecutable(executable: ServiceExecutable.beside("crm-profiles"), directory: folder, name: "profiles", configuration: [
            "tokens": tokens, "peerToken": Self.peerToken,
            "settings": ["partitions.storage": "file-per-partition", "partitions.count": "\(partitions)"],
        ])
        let profilesPort = try await profiles.start()
        defer { profiles.stop() }
        let client = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: profilesPort)], token: Self.token,
                                                                  defaultDeadline: .seconds(60)))
        defer { Task { await client.close() } }
        for start in stride(from: 0, to: customers, by: 1) {
            _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
                $0.customer = .with {
                    $0.customerID = String(format: "W%06d", start)
                    $0.kind = .individual
                    $0.name = "Customer \(start)"
                    $0.branchID = "B01"
                    $0.managerID = "M1"
                    $0.status = .normal
                    $0.openDate = .init(year: 2020, month: 1, day: 15)
                }
            })
        }
        let products = try ServiceExecutable(executable: ServiceExecutable.beside("crm-products"), directory: folder, name: "products", configuration: [
            "tokens": tokens, "peerToken": Self.peerToken,
        ])
        let productsPort = try await products.start()
        defer { products.stop() }
        let peers = ["profiles": ["127.0.0.1:\(profilesPort)"], "products": ["127.0.0.1:\(productsPort)"]]
        let matching = try ServiceExecutable(executable: ServiceExecutable.beside("crm-matching"), directory: folder, name: "matching", configuration: [
            "tokens": tokens, "peers": peers, "peerToken": Self.peerToken,
            "settings": ["feed.wait_ms": "\(wait)"],
        ])
        let compensation = try ServiceExecutable(executable: ServiceExecutable.beside("crm-compensation"), directory: folder, name: "compensation", configuration: [
            "tokens": tokens, "peers": peers, "peerToken": Self.peerToken,
            "settings": ["feeds.wait_ms": "\(wait)"],
        ])
        let matchingPort = try await matching.start()
        defer { matching.stop() }
        _ = try await compensation.start()
        defer { compensation.stop() }
        let replica = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: matchingPort)], token: Self.token,
                                                                   defaultDeadline: .seconds(60)))
        defer { Task { await replica.close() } }
        func status() async throws -> Crm_Matching_V1_ReplicaStatus {
            try await replica.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
        }
        let clock = ContinuousClock()
        let readyBy = clock.now + .seconds(300)
        while try await !status().ready {
            guard clock.now < readyBy else { throw ValidationError("the replica was not ready within 5 minutes") }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Settled: the start-up's snapshot and catch-up are over before the window opens.
        try await Task.sleep(for: .seconds(3))
        var figures = Figures()
        let processes = ["profiles": profiles, "products": products, "matching": matching, "compensation": compensation]
        let before = processes.mapValues { $0.cpuSeconds() }
        let opened = clock.now
        try await Task.sleep(for: .seconds(idleSeconds))
        let window = (clock.now - opened).seconds
        for (name, process) in processes { figures.cpu[name] = (process.cpuSeconds() - (before[name] ?? 0)) / window }

        for delivery in 0..<deliveries {
            let applied = try await status().eventsSequence
            let customer = String(format: "W%06d", (delivery * 7_919) % max(1, customers))
            _ = try await client.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, .with {
                $0.events = [.with {
                    $0.idempotencyKey = "contact-\(wait)-\(delivery)"
                    $0.customerID = customer
                    $0.channel = .call
                    $0.staffID = "M1"
                    $0.outcome = .reached
                    $0.contactedAt = .with { $0.unixMillis = Int64(Date().timeIntervalSince1970 * 1_000) }
                }]
            })
            let acknowledged = clock.now
            let deadline = acknowledged + .seconds(30)
            while try await status().eventsSequence == applied {
                guard clock.now < deadline else { throw ValidationError("contact \(delivery) was not applied by matching within 30 s") }
                try await Task.sleep(for: .milliseconds(2))
            }
            figures.latencies.append((clock.now - acknowledged).seconds * 1_000)
            // Spread the events over the interval's phase.
            try await Task.sleep(for: .milliseconds(37))
        }
        return figures
    }

    static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }
}
