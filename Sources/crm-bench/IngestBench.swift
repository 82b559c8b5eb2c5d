import CRMAudit
import CRMTestSupport
import ArgumentParser
import CRMProfilesClient
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CustomerDimensions
import Foundation
import GRDB
import ProfilesService

/// Trade events per second into the profiles service: through the RPC in batches of 1,000 (the
/// trading system's path), beside raw batched inserts of the same rows into the same schema in one
/// process (the limit of the store).
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Profiles trade ingestion through the RPC beside raw SQLite inserts."
    )

    @Flag(inversion: .prefixedNo, help: "Record audited calls in the service's audit trail (as in production); --no-audit measures without it.")
    var audit = true

    @Option(help: "Trade events per run.")
    var events: Int = 200_000

    @Option(help: "Events per batch (per RPC call, per raw transaction).")
    var batch: Int = 1_000

    @Option(help: "Customers the trades are spread over.")
    var customers: Int = 2_000

    @Option(help: "Batches in flight at once through the RPC.")
    var inFlight: Int = 4

    @Option(help: "Rounds; medians are reported.")
    var rounds: Int = 3

    @Option(help: "Profiles processes sharing the partitions (1 or 2): with 2, the batches go through one of them, which forwards the other's part (docs/partitioning.md §6).")
    var processes: Int = 1

    @Flag(help: "With --processes 2: send each part of a batch straight to its owner (the map-aware client) instead of through one endpoint.")
    var mapAware = false

    @Flag(help: "Run each profiles process as its own crm-profiles executable (built beside this one), plaintext on loopback, instead of in this process.")
    var executables = false

    @Option(help: "How each profiles process keeps its partitions: one-file (this bench's default, as its earlier figures were measured) or file-per-partition (a file per owned partition, a new store's default since 7 Dec; docs/partitioning.md §2, §3).")
    var storage = "one-file"

    @Option(help: "With --processes 2: how often each process asks the other for its business day (the gossip of docs/partitioning.md §2; production's default is 5,000 ms). Executables: their partitions.business_day_interval_ms (0: 3,600,000, one round at start); in process: the bench runs the rounds during the ingestion (0: none).")
    var gossipEveryMs: Int = 0

    @Option(help: "With --executables: the cores each profiles process is told it counts on (its `cores`, as a pod is given its CPU request; docs/partitioning.md §3). Default: each counts on every core it may run on.")
    var coresEach: Int?

    func validate() throws {
        guard (1...2).contains(processes) else { throw ValidationError("--processes is 1 or 2") }
        if mapAware && processes == 1 { throw ValidationError("--map-aware needs --processes 2") }
        guard gossipEveryMs == 0 || (10...3_600_000).contains(gossipEveryMs) else { throw ValidationError("--gossip-every-ms is 0 or 10...3600000") }
        if gossipEveryMs > 0 && processes == 1 { throw ValidationError("--gossip-every-ms needs --processes 2") }
        guard ["one-file", "file-per-partition"].contains(storage) else { throw ValidationError("--storage is one-file or file-per-partition") }
        if let coresEach {
            guard executables else { throw ValidationError("--cores-each needs --executables") }
            guard (1...1024).contains(coresEach) else { throw ValidationError("--cores-each is 1...1024") }
        }
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-ingest-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        print("\(events) trade events per run, batches of \(batch), \(customers) customers, \(inFlight) RPC batches in flight, \(rounds) rounds, "
            + "\(processes) profiles process\(processes == 1 ? "" : "es")\(mapAware ? " (map-aware client)" : "")"
            + "\(executables ? ", crm-profiles executables" : ", in this process"), storage \(storage)"
            + "\(coresEach.map { ", each process told \($0) core\($0 == 1 ? "" : "s")" } ?? "")\n")

        var rpcRates: [Double] = []
        var rawRates: [Double] = []
        for round in 1...rounds {
            let trades = makeTrades(round: round)
            let raw = try rawInserts(trades, path: folder.appendingPathComponent("raw-\(round).sqlite").path)
            let rpc = try await throughRPC(trades, path: folder.appendingPathComponent("rpc-\(round).sqlite").path)
            rawRates.append(raw)
            rpcRates.append(rpc)
            print(String(format: "round %d: raw inserts %.0f events/s, through the RPC %.0f events/s (%.2f)", round, raw, rpc, rpc / raw))
        }
        let raw = BenchMain.median(rawRates), rpc = BenchMain.median(rpcRates)
        print("\n| path | trade events/s (median) |\n|---|---:|")
        print(String(format: "| raw batched inserts, one process | %.0f |", raw))
        print(String(format: "| IngestTrades RPC, batches of %d | %.0f |", batch, rpc))
        print(String(format: "| ratio RPC / raw | %.2f |", rpc / raw))
    }

    private func makeTrades(round: Int) -> [Crm_Profiles_V1_TradeEvent] {
        let start = Int64(Days.day(year: 2026, month: 6, day: 1)) * Days.millisPerDay
        return (0..<events).map { index in
            .with {
                $0.idempotencyKey = "R\(round)-T\(index)"
                $0.customerID = "C\(index % customers)"
                $0.account = index % 7 == 0 ? .margin : .cash
                $0.side = index % 2 == 0 ? .buy : .sell
                $0.instrument = String(600_000 + index % 500)
                $0.instrumentType = .stock
                $0.sector = ["banking", "consumer", "energy", "technology"][index % 4]
                $0.quantity = Int64(100 * (1 + index % 20))
                $0.price = "12.34"
                $0.amount = .with { $0.minorUnits = Int64(123_400 * (1 + index % 20)) }
                $0.commission = .with { $0.minorUnits = Int64(31 * (1 + index % 20)) }
                $0.fees = .with { $0.minorUnits = Int64(2 * (1 + index % 20)) }
                $0.tradedAt = .with { $0.unixMillis = start + Int64(index) * 1_000 }
            }
        }
    }

    /// The store's limit: the same rows and statement, no RPC, no validation.
    private func rawInserts(_ trades: [Crm_Profiles_V1_TradeEvent], path: String) throws -> Double {
        let pool = try SQLiteStore.open(path: path, migrator: ProfilesService.migrator)
        defer { try? pool.close() }
        let rows = try trades.map { trade -> (String, String, Int32, Int64, Data) in
            (trade.idempotencyKey, trade.customerID, Days.day(ofMillis: trade.tradedAt.unixMillis), trade.tradedAt.unixMillis, Data(try trade.serializedBytes() as [UInt8]))
        }
        let clock = ContinuousClock()
        let started = clock.now
        for chunk in stride(from: 0, to: rows.count, by: batch) {
            try pool.write { db in
                let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO event (kind, idempotency_key, customer_id, day, at_millis, body) VALUES (1, ?, ?, ?, ?, ?)")
                for row in rows[chunk..<min(chunk + batch, rows.count)] {
                    try statement.execute(arguments: [row.0, row.1, row.2, row.3, row.4])
                }
            }
        }
        return Double(rows.count) / (clock.now - started).seconds
    }

    /// The trading system's path: encode, send, validate, check customers, insert, answer. With two
    /// processes, each owns half of the 64 partitions; the batches go to the first (which forwards
    /// the second's part) or, map-aware, are split and sent to both.
    private func throughRPC(_ trades: [Crm_Profiles_V1_TradeEvent], path: String) async throws -> Double {
        let token = "bench-ingest", peerToken = "bench-peer"
        let tokens: [TokenAuthenticator.Entry] = [
            .init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["ingest"])),
            .init(sha256: TokenAuthenticator.hash(token: peerToken), principal: Principal(name: "profiles", roles: [Principal.serviceRole])),
        ]
        var services: [InProcessService<ProfilesService>] = []
        var launched: [ServiceExecutable] = []
        defer { for process in launched { process.stop() } }
        var ports: [Int] = []
        // Owners first, then their ports in the topology: the map names owners, not ports.
        let topology = path + ".topology.json"
        func write(_ endpoints: [String]) throws {
            let list = endpoints.map { "\"\($0)\"" }.joined(separator: ",")
            try Data(#"{"profiles": [\#(list)], "partitions": {"count": 64, "epoch": 1, "owners": {"profiles-0": "0-31", "profiles-1": "32-63"}}}"#.utf8)
                .write(to: URL(fileURLWithPath: topology))
        }
        let partitioned = processes == 2
        if partitioned { try write([]) }
        for ordinal in 0..<processes {
            var settings = partitioned ? ["partitions.topology": topology, "partitions.owner": "profiles-\(ordinal)"] : [:]
            settings["partitions.storage"] = storage
            if executables && partitioned {
                // The executables run their own gossip (and updater): only its interval is the bench's to set.
                settings["partitions.business_day_interval_ms"] = "\(gossipEveryMs == 0 ? 3_600_000 : gossipEveryMs)"
            }
            if executables {
                let directory = URL(fileURLWithPath: path + ".\(ordinal)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                var configuration: [String: Any] = [
                    "tokens": tokens.map { entry in
                        ["sha256": entry.sha256, "principal": ["name": entry.principal.name, "roles": Array(entry.principal.roles), "attributes": [String: String]()]]
                    },
                    "peerToken": peerToken,
                    "settings": settings,
                    "audit": ["enabled": audit],
                ]
                if let coresEach { configuration["cores"] = coresEach }
                let process = try ServiceExecutable(executable: ServiceExecutable.beside("crm-profiles"), directory: directory, name: "profiles",
                                                    configuration: configuration)
                launched.append(process)
                ports.append(try await process.start())
            } else {
                let service = try await InProcessService<ProfilesService>.start(
                    databasePath: partitioned ? path + ".\(ordinal)" : path, tokens: tokens, settings: settings,
                    audit: AuditSettings(enabled: audit), peerToken: partitioned ? peerToken : nil)
                services.append(service)
                ports.append(service.port)
            }
        }
        if partitioned { try write(ports.map { "127.0.0.1:\($0)" }) }
        let entry = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: ports[0])], token: token, defaultDeadline: .seconds(60)))
        let routed = mapAware ? try await PartitionedProfilesClient.connect(through: entry) : nil
        let client = entry
        @Sendable func ingest(_ request: Crm_Profiles_V1_IngestTradesRequest) async throws -> Int {
            if let routed { return Int(try await routed.ingest(Crm_Profiles_V1_Profiles.ingestTrades, request).accepted) }
            return Int(try await client.unary(Crm_Profiles_V1_Profiles.ingestTrades, request).accepted)
        }
        for index in 0..<customers {
            _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = .with {
                    $0.customerID = "C\(index)"; $0.kind = .individual; $0.name = "Bench \(index)"; $0.status = .normal
                    $0.openDate = .init(year: 2020, month: 1, day: 2)
                }
            })
        }
        let size = batch
        let batches = stride(from: 0, to: trades.count, by: size).map { start in
            Crm_Profiles_V1_IngestTradesRequest.with { $0.events = Array(trades[start..<min(start + size, trades.count)]) }
        }
        let clock = ContinuousClock()
        let cpuBefore = launched.map { $0.cpuSeconds() }
        // In process (no background work runs there), the bench runs the business-day gossip's rounds itself.
        let gossip: Task<[Duration], Never>? = gossipEveryMs == 0 || services.count < 2 ? nil : Task { [services, gossipEveryMs] in
            var rounds: [Duration] = []
            while !Task.isCancelled {
                let start = clock.now
                for service in services { await service.service.learnBusinessDay() }
                rounds.append(clock.now - start)
                do { try await Task.sleep(for: .milliseconds(gossipEveryMs)) } catch { break }
            }
            return rounds
        }
        let started = clock.now
        var accepted = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            for _ in 0..<min(inFlight, batches.count) {
                let request = batches[next]
                next += 1
                group.addTask { try await ingest(request) }
            }
            while let done = try await group.next() {
                accepted += done
                if next < batches.count {
                    let request = batches[next]
                    next += 1
                    group.addTask { try await ingest(request) }
                }
            }
        }
        let ingested = clock.now
        let rate = Double(accepted) / (ingested - started).seconds
        if let gossip {
            gossip.cancel()
            let rounds = await gossip.value.map { $0.seconds * 1_000_000 }
            print(String(format: "  gossip: %d rounds (both processes asking the other) during the ingestion, median %.0f us a round", rounds.count, BenchMain.median(rounds)))
        }
        if !launched.isEmpty {
            // The servers' own CPU per event: steadier than the rate on a shared machine.
            let cpu = zip(launched, cpuBefore).map { $0.cpuSeconds() - $1 }
            print(String(format: "  servers' CPU: %@ s, %.2f µs per event", cpu.map { String(format: "%.2f", $0) }.joined(separator: " + "),
                         cpu.reduce(0, +) / Double(max(accepted, 1)) * 1e6))
            // The executables fold the trades into dimensions as they arrive; an updater that fell
            // behind would leave work (and CPU) outside the figures above. Until every server's
            // Health says nothing is pending: events ingested and folded per second, and the CPU.
            try await Self.untilFolded(ports: ports, token: token)
            let folded = clock.now
            let foldedCPU = zip(launched, cpuBefore).map { $0.cpuSeconds() - $1 }.reduce(0, +)
            print(String(format: "  folded %.2f s after the last batch: ingested and folded %.0f events/s, servers' CPU %.2f µs per event",
                         (folded - ingested).seconds, Double(accepted) / (folded - started).seconds, foldedCPU / Double(max(accepted, 1)) * 1e6))
        }
        if audit {
            // What the trail deferred: the by-customer index, built when compliance first queries by customer.
            let indexing = clock.now
            // Each process's trail, in turn (one process: the one).
            for service in services {
                let through = try await service.auditTrail.indexCustomers()
                let rows = try await service.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_customer") ?? 0 }
                let seconds = String(format: "%.2f", (clock.now - indexing).seconds)
                print("  audit: \(through) records; the customer index brought up to date afterwards in \(seconds) s (\(rows) rows)")
            }
        }
        await routed?.close()
        await client.close()
        for service in services.reversed() { try await service.stop() }
        guard accepted == trades.count else { throw RPCError(.internal, "accepted \(accepted) of \(trades.count)") }
        return rate
    }
}

extension IngestBench {
    /// Waits until every server's Health reports `dimensions_pending` 0 (polled every 10 ms; gives
    /// up after 10 minutes, a benchmark's bound).
    static func untilFolded(ports: [Int], token: String) async throws {
        for port in ports {
            let client = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], token: token, defaultDeadline: .seconds(30)))
            let clock = ContinuousClock(), deadline = clock.now + .seconds(600)
            do {
                while true {
                    let details = try await client.unary(Crm_Rpc_V1_Health.check, HealthCheckRequest()).details
                    if details["dimensions_pending"] == "0" { break }
                    guard clock.now < deadline else {
                        throw RPCError(.deadlineExceeded, "port \(port) still has \(details["dimensions_pending"] ?? "?") pending after 10 minutes")
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        }
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
