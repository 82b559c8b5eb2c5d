import ArgumentParser
import CRMProtos
import CRMRPC
import CRMServiceHost
import Foundation
import ProfilesService

/// The profiles service at scale: load customers, positions and trades through the RPCs, fold them
/// into dimensions, then measure a 360° call, segment counts and a restart, with memory and file
/// sizes.
struct ProfilesScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "Profiles at scale: ingestion, dimension folding, 360 latency, segment counts, start-up."
    )

    @Option(help: "Customers.")
    var customers: Int = 10_000

    @Option(help: "Trades per customer.")
    var tradesPerCustomer: Int = 20

    @Option(help: "360 calls to time.")
    var calls: Int = 2_000

    @Option(help: "Folder for the store (kept afterwards when given).")
    var folder: String?

    func run() async throws {
        let dir = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-profiles-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if folder == nil { try? FileManager.default.removeItem(at: dir) } }
        let path = dir.appendingPathComponent("profiles.sqlite").path
        let token = "bench"
        let tokens: [TokenAuthenticator.Entry] = [.init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"]))]
        let clock = ContinuousClock()
        print("\(customers) customers, \(customers * tradesPerCustomer) trades\n")

        var service = try await InProcessService<ProfilesService>.start(databasePath: path, tokens: tokens)
        var client = service.client(token: token)
        let method = "/crm.profiles.v1.Profiles/"
        let lastDay = Days.day(year: 2026, month: 6, day: 30)

        // Customers and one end-of-day position each.
        var started = clock.now
        for index in 0..<customers {
            _ = try await client.unary(method + "UpsertCustomer", Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = .with {
                    $0.customerID = String(format: "C%07d", index); $0.kind = .individual; $0.name = "Customer \(index)"
                    $0.branchID = "B\(index % 20)"; $0.managerID = "M\(index % 500)"; $0.status = index % 10 == 9 ? .prospect : .normal
                    if index % 10 != 9 { $0.openDate = .init(year: 2015 + Int32(index % 10), month: 3, day: 1) }
                }
            }, as: Crm_Profiles_V1_UpsertCustomerResponse.self)
        }
        let customerSeconds = (clock.now - started).seconds
        let civil = Days.civil(lastDay)
        for start in stride(from: 0, to: customers, by: 1_000) {
            _ = try await client.unary(method + "IngestDailyPositions", Crm_Profiles_V1_IngestDailyPositionsRequest.with { request in
                request.events = (start..<min(start + 1_000, customers)).filter { $0 % 10 != 9 }.map { index in
                    .with {
                        $0.idempotencyKey = "P\(index)"; $0.customerID = String(format: "C%07d", index)
                        $0.tradingDay = .init(year: civil.year, month: civil.month, day: civil.day)
                        $0.cash = .with { $0.minorUnits = Int64(100_000 * (1 + index % 97)) }
                        $0.holdings = [.with {
                            $0.instrument = String(600_000 + index % 300); $0.instrumentType = .stock; $0.sector = "s\(index % 11)"; $0.quantity = 100
                            $0.marketValue = .with { $0.minorUnits = Int64(300_000 * (1 + index % 89)) }; $0.cost = .with { $0.minorUnits = Int64(280_000 * (1 + index % 89)) }
                        }]
                    }
                }
            }, as: Crm_Profiles_V1_IngestResponse.self)
        }

        // Trades through the RPC, 1,000 a batch, 4 batches in flight.
        let traders = (0..<customers).filter { $0 % 10 != 9 }
        let total = traders.count * tradesPerCustomer
        let startMillis = Int64(lastDay - 364) * Days.millisPerDay
        started = clock.now
        let ingestClient = client
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func batch(_ from: Int) -> Crm_Profiles_V1_IngestTradesRequest {
                .with { request in
                    request.events = (from..<min(from + 1_000, total)).map { n in
                        let customer = traders[n % traders.count]
                        return .with {
                            $0.idempotencyKey = "T\(n)"; $0.customerID = String(format: "C%07d", customer); $0.account = n % 9 == 0 ? .margin : .cash
                            $0.side = n % 2 == 0 ? .buy : .sell; $0.instrument = String(600_000 + n % 300); $0.instrumentType = n % 5 == 0 ? .fund : .stock
                            $0.sector = "s\(n % 11)"; $0.quantity = 100; $0.price = "10.00"
                            $0.amount = .with { $0.minorUnits = Int64(100_000 + n % 50_000) }
                            $0.commission = .with { $0.minorUnits = Int64(25 + n % 50) }; $0.fees = .with { $0.minorUnits = 2 }
                            $0.tradedAt = .with { $0.unixMillis = startMillis + Int64(n % 365) * Days.millisPerDay + 3_600_000 }
                        }
                    }
                }
            }
            for _ in 0..<4 where next < total {
                let request = batch(next)
                next += 1_000
                group.addTask { _ = try await ingestClient.unary(method + "IngestTrades", request, as: Crm_Profiles_V1_IngestResponse.self) }
            }
            while try await group.next() != nil {
                if next < total {
                    let request = batch(next)
                    next += 1_000
                    group.addTask { _ = try await ingestClient.unary(method + "IngestTrades", request, as: Crm_Profiles_V1_IngestResponse.self) }
                }
            }
        }
        let ingestSeconds = (clock.now - started).seconds

        started = clock.now
        try await service.service.updateDimensions()
        let foldSeconds = (clock.now - started).seconds

        // 360° latency, one call at a time.
        var latencies: [Double] = []
        for n in 0..<calls {
            let id = String(format: "C%07d", (n * 7_919) % customers)
            let t0 = clock.now
            _ = try await client.unary(method + "GetCustomer360", Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = id }, as: Crm_Profiles_V1_GetCustomer360Response.self)
            latencies.append((clock.now - t0).seconds * 1_000)
        }
        latencies.sort()
        func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }

        // Segment counts over every customer.
        let rules = ["status = normal", "asset_tier >= gold and position_ratio < 0.8", "trade_count_90d > 3 and not lifecycle_stage = dormant or contribution_tier in (high, top)"]
        var countTimes: [String: Double] = [:]
        for rule in rules {
            var times: [Double] = []
            for _ in 0..<5 {
                let t0 = clock.now
                _ = try await client.unary(method + "CountSegment", Crm_Profiles_V1_CountSegmentRequest.with { $0.rule = rule }, as: Crm_Profiles_V1_CountSegmentResponse.self)
                times.append((clock.now - t0).seconds * 1_000)
            }
            countTimes[rule] = BenchMain.median(times)
        }
        let rss = Self.residentMegabytes()

        // Restart: time to listening, then to the index being loaded.
        await client.close()
        try await service.stop()
        started = clock.now
        service = try await InProcessService<ProfilesService>.start(databasePath: path, tokens: tokens)
        let listenSeconds = (clock.now - started).seconds
        client = service.client(token: token)
        _ = try await client.unary("/crm.rpc.v1.Health/Check", HealthCheckRequest(), as: HealthCheckResponse.self)
        let healthySeconds = (clock.now - started).seconds
        try await service.service.updateDimensions()
        let indexSeconds = (clock.now - started).seconds
        await client.close()
        try await service.stop()

        let size = { (suffix: String) -> Double in
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path + suffix))?[.size] as? Int
            return Double(bytes ?? 0) / 1_048_576
        }
        print("| figure | value |\n|---|---:|")
        print(String(format: "| customers created (UpsertCustomer, one per call) | %.0f /s |", Double(customers) / customerSeconds))
        print(String(format: "| trades ingested (IngestTrades, 1,000 a batch, 4 in flight) | %.0f /s |", Double(total) / ingestSeconds))
        print(String(format: "| events folded into dimensions (updater catch-up) | %.0f /s (%.1f s) |", Double(total + customers) / foldSeconds, foldSeconds))
        print(String(format: "| GetCustomer360 p50 / p99 / max | %.2f / %.2f / %.2f ms |", pct(0.5), pct(0.99), latencies.last ?? 0))
        for rule in rules {
            print(String(format: "| CountSegment `%@` (median of 5) | %.1f ms |", rule, countTimes[rule] ?? 0))
        }
        print(String(format: "| restart: listening / healthy / index loaded | %.2f / %.2f / %.2f s |", listenSeconds, healthySeconds, indexSeconds))
        print(String(format: "| resident memory after the queries | %.0f MiB |", rss))
        print(String(format: "| store file (+ WAL) | %.0f MiB (+ %.0f MiB) |", size(""), size("-wal")))
    }

    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1_024
    }
}
