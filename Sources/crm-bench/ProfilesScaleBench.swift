import CRMAudit
import CRMTestSupport
import ArgumentParser
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CustomerDimensions
import Foundation
import GRDB
import ProfilesService

/// The profiles service at scale (issue 3's performance aims): fill a store with N customers, one
/// end-of-day position each and T trades per trading customer — the trades through IngestTrades
/// with the dimension updater folding them as they arrive, as in production — then measure
/// start-up, GetCustomer360 latency, segment counts over everyone, a restart, memory and file sizes.
///
/// Filling a million customers through UpsertCustomer (about 2,000 a second, one call each) would
/// take most of the time available, so `--create seed` writes them straight into the store with
/// the dimensions the service itself computes for a customer with no events (``ComputedSeeds``);
/// their ledgers and dimensions then come only from the events ingested through the RPCs.
/// `--reuse` measures a store an earlier run filled (the filling run's figures are kept beside it).
struct ProfilesScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "Profiles at scale: ingestion, dimension folding, 360 latency, segment counts, start-up, memory, files."
    )

    enum Creation: String, ExpressibleByArgument, Codable {
        /// UpsertCustomer, one call per customer.
        case rpc
        /// Written into the store before the service starts (``StoreSeeding`` with ``ComputedSeeds``).
        case seed
    }

    enum Order: String, ExpressibleByArgument, Codable {
        /// Trade k of every customer, then trade k + 1 of every customer: each customer's trades
        /// spread over the whole ingestion, as a live feed from the trading system delivers them.
        case interleaved
        /// All of one customer's trades, then the next customer's: a history import from the previous
        /// system, delivered customer by customer.
        case customer
    }

    @Flag(inversion: .prefixedNo, help: "Record audited calls in the service's audit trail (as in production); --no-audit measures without it.")
    var audit = true

    @Option(help: "Customers (one in ten a prospect, which never trades).")
    var customers: Int = 10_000

    @Option(help: "Trades per trading customer, spread over the year up to 2026-06-30.")
    var tradesPerCustomer: Int = 20

    @Option(help: "Trades in all (default: trades per customer × trading customers); each trading customer gets an equal share, the last ones one fewer.")
    var trades: Int?

    @Option(help: "After filling (or reusing), this many more trades as a live day's feed: one per trading customer in turn, on the last day, through the running updater.")
    var liveTrades: Int = 0

    @Option(help: "Which live day (its trades' keys differ, so a reused store gets new trades each day).")
    var liveDay: Int = 1

    @Option(help: "Seconds allowed for the live day (sending and folding).")
    var liveTimeLimit: Double = 600

    @Option(help: "How customers are created: rpc (UpsertCustomer, one per call) or seed (written into the store with the service's own computed dimensions).")
    var create: Creation = .rpc

    @Option(help: "Order of the trades: interleaved (live feed) or customer (history import, customer by customer).")
    var order: Order = .interleaved

    @Option(help: "IngestTrades calls in flight (1,000 trades each).")
    var inFlight: Int = 4

    @Option(help: "Seconds allowed for filling (customers, positions, trades, folding); ingestion stops when they run out and the run measures what was stored.")
    var timeLimit: Double = 3_600

    @Option(help: "Seconds between progress lines while filling.")
    var progressEvery: Double = 15

    @Option(help: "360 calls to time, one at a time.")
    var calls: Int = 3_000

    @Option(help: "Folder for the store (kept afterwards when given).")
    var folder: String?

    @Flag(help: "Reuse the store an earlier run with the same figures filled in --folder instead of filling it again.")
    var reuse = false

    @Flag(help: "After filling, rebuild every ledger from the stored events and compare (RebuildDimensions; holds every ledger in memory).")
    var verify = false

    @Flag(help: "Report each table's and index's size (reads the whole file through SQLite's dbstat).")
    var tableSizes = false

    func validate() throws {
        guard customers >= 10, tradesPerCustomer >= 0, inFlight >= 1, calls >= 1, timeLimit > 0 else {
            throw ValidationError("customers must be at least 10; calls, in-flight and the time limit positive")
        }
    }

    /// The trades to ingest while filling.
    var tradeTotal: Int { trades ?? Self.traderCount(customers) * tradesPerCustomer }

    /// Each trading customer's share of `total` trades, rounded up.
    static func perCustomer(_ total: Int, traders: Int) -> Int { max(1, (total + traders - 1) / max(1, traders)) }

    static let token = "bench"
    static let lastDay = Days.day(year: 2026, month: 6, day: 30)

    /// What the filling run recorded, kept beside the store for `--reuse`.
    struct FillRecord: Codable {
        var customers: Int
        /// The trades filled in all.
        var trades: Int
        var create: Creation
        var order: Order
        /// Whether every trade was ingested and folded within the time limit.
        var complete: Bool
        var tradesIngested: Int
        /// Table rows (| figure | value |) describing the fill.
        var lines: [String]
    }

    func run() async throws {
        let dir = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-profiles-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if folder == nil { try? FileManager.default.removeItem(at: dir) } }
        let path = dir.appendingPathComponent("profiles.sqlite").path
        let recordPath = dir.appendingPathComponent("fill.json").path
        let traders = Self.traderCount(customers)
        print("\(customers) customers (\(traders) trading), \(tradeTotal) trades, created by \(create.rawValue), trades in \(order.rawValue) order; \(ProcessInfo.processInfo.activeProcessorCount) cores\n")

        let record: FillRecord
        if reuse, let data = FileManager.default.contents(atPath: recordPath), FileManager.default.fileExists(atPath: path) {
            record = try JSONDecoder().decode(FillRecord.self, from: data)
            guard record.customers == customers, record.trades == tradeTotal, record.create == create, record.order == order else {
                throw ValidationError("the store in \(dir.path) was filled with other figures (\(record.customers) customers, \(record.trades) trades, \(record.create.rawValue), \(record.order.rawValue))")
            }
            print("reusing the store filled earlier in \(dir.path)\n")
        } else {
            record = try await fill(path: path)
            try JSONEncoder().encode(record).write(to: URL(fileURLWithPath: recordPath))
        }
        if verify { try await verifyLedgers(path: path) }
        var liveLines: [String] = []
        if liveTrades > 0 { liveLines = try await live(path: path) }
        try await measure(path: path, record: record, liveLines: liveLines)
    }

    // MARK: Filling

    private func fill(path: String) async throws -> FillRecord {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let clock = ContinuousClock()
        let fillStarted = clock.now
        let deadline = fillStarted + .seconds(timeLimit)
        var lines: [String] = []
        let lastDate = Self.date(Self.lastDay)

        if create == .seed {
            let started = clock.now
            let pool = try SQLiteStore.open(path: path, migrator: ProfilesService.migrator)
            let computed = try ComputedSeeds()
            var lastPrint = clock.now
            let customers = self.customers
            // The next chunk's dimensions are computed on the other core while one is written.
            func compute(_ start: Int) -> Task<[StoreSeeding.Seed], Never> {
                Task {
                    (start..<min(customers, start + 10_000)).map { index in
                        computed.seed(customer: Self.customer(index), assessment: nil, asOf: lastDate)
                    }
                }
            }
            var next = compute(0)
            for start in stride(from: 0, to: customers, by: 10_000) {
                let seeds = await next.value
                if start + 10_000 < customers { next = compute(start + 10_000) }
                try await StoreSeeding.write(seeds, into: pool)
                if (clock.now - lastPrint).seconds >= progressEvery {
                    lastPrint = clock.now
                    print(String(format: "[%6.0f s] seeded %d customers", (clock.now - fillStarted).seconds, start + seeds.count))
                }
            }
            try await ComputedSeeds.markFolded(pool, asOf: lastDate)
            try pool.close()
            let seconds = (clock.now - started).seconds
            lines.append(String(format: "| customers seeded into the store (dimensions computed by the service's engine) | %.0f /s (%.1f s) |", Double(customers) / seconds, seconds))
        }

        let tokens: [TokenAuthenticator.Entry] = [.init(sha256: TokenAuthenticator.hash(token: Self.token), principal: Principal(name: "bench", roles: ["admin"]))]
        // The updater runs as in production, folding while trades arrive.
        let service = try await InProcessService<ProfilesService>.start(databasePath: path, tokens: tokens, runBackground: true, audit: AuditSettings(enabled: audit))
        let client = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: service.port)], token: Self.token,
                                                                  defaultDeadline: .seconds(600)))

        // The updater loads its index before it folds anything; wait for it, so the figures below
        // are ingestion's and folding's alone.
        let indexStarted = clock.now
        try await Self.waitForIndex(service)
        lines.append(String(format: "| updater's index loaded at the service's start (%d customers) | %.1f s |", create == .seed ? customers : 0,
                            (clock.now - indexStarted).seconds))

        if create == .rpc {
            let started = clock.now
            for index in 0..<customers {
                _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with { $0.customer = Self.customer(index) })
            }
            let seconds = (clock.now - started).seconds
            lines.append(String(format: "| customers created (UpsertCustomer, one per call) | %.0f /s (%.1f s) |", Double(customers) / seconds, seconds))
        }

        // One end-of-day position per trading customer, on the last day: it sets the business date.
        for start in stride(from: 0, to: customers, by: 1_000) {
            let events = (start..<min(start + 1_000, customers)).filter { $0 % 10 != 9 }.map(Self.position)
            _ = try await client.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, Crm_Profiles_V1_IngestDailyPositionsRequest.with { $0.events = events })
        }

        // Trades through the RPC, 1,000 a batch, several in flight, until done or out of time.
        let traders = Self.traderCount(customers)
        let total = tradeTotal
        let order = self.order, perCustomer = Self.perCustomer(total, traders: traders)
        let phase = try await ingestAndFold(service: service, client: client, total: total, label: "\(order.rawValue) order", since: fillStarted, deadline: deadline) { n in
            Self.trade(number: n, traders: traders, tradesPerCustomer: perCustomer, order: order)
        }
        lines += phase.lines
        let acknowledged = phase.acknowledged
        let complete = phase.complete
        lines.append(String(format: "| filling, from an empty folder | %.1f s |", (clock.now - fillStarted).seconds))
        lines.append(String(format: "| peak resident memory while filling (client and service in one process) | %.0f MiB |", ProcessFigures.memoryMiB("VmHWM")))
        await client.close()
        try await service.stop()
        return FillRecord(customers: customers, trades: tradeTotal, create: create, order: order, complete: complete,
                          tradesIngested: acknowledged, lines: lines)
    }

    /// Sends `total` trades (`make(n)` is the n-th) through IngestTrades, `inFlight` batches of
    /// 1,000 at a time, while the service's updater folds them; then waits until it has folded
    /// everything. Stops sending at `deadline` and stops waiting there too.
    private func ingestAndFold(service: InProcessService<ProfilesService>, client: RPCClient, total: Int, label: String,
                               since fillStarted: ContinuousClock.Instant, deadline: ContinuousClock.Instant,
                               make: @escaping @Sendable (Int) -> Crm_Profiles_V1_TradeEvent) async throws -> (lines: [String], acknowledged: Int, complete: Bool) {
        let clock = ContinuousClock()
        var lines: [String] = []
        // Positions and trades are both events; folding is counted over all of them from here.
        let startEventID = try await Self.foldState(service.database).lastFoldedEventID
        let started = clock.now
        var lastPrint = clock.now
        var sent = 0
        var acknowledged = 0
        var accepted: UInt64 = 0
        var timedOut = false
        let inFlight = self.inFlight
        try await withThrowingTaskGroup(of: (Int, UInt64).self) { group in
            func submit() {
                let from = sent
                let count = min(1_000, total - from)
                sent += count
                group.addTask {
                    let request = Crm_Profiles_V1_IngestTradesRequest.with { $0.events = (from..<from + count).map(make) }
                    let response = try await client.unary(Crm_Profiles_V1_Profiles.ingestTrades, request)
                    return (count, UInt64(response.accepted))
                }
            }
            for _ in 0..<inFlight where sent < total { submit() }
            while let (done, fresh) = try await group.next() {
                acknowledged += done
                accepted += fresh
                if clock.now >= deadline { timedOut = true }
                if sent < total && !timedOut { submit() }
                if (clock.now - lastPrint).seconds >= progressEvery {
                    lastPrint = clock.now
                    try await printProgress(service: service, since: fillStarted, tradesStarted: started, acknowledged: acknowledged, total: total, startEventID: startEventID)
                }
            }
        }
        let ingestSeconds = (clock.now - started).seconds
        let foldedDuringIngestion = try await Self.foldState(service.database)
        lines.append(String(format: "| trades ingested (IngestTrades, 1,000 a batch, %d in flight, %@) | %.0f /s (%d in %.1f s; %llu new) |",
                            inFlight, label, Double(acknowledged) / ingestSeconds, acknowledged, ingestSeconds, accepted))

        // Wait until the updater has folded everything (it keeps folding on its own), within the limit.
        let endEventID = foldedDuringIngestion.maxEventID
        var state = foldedDuringIngestion
        while !state.caughtUp && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            state = try await Self.foldState(service.database)
            if (clock.now - lastPrint).seconds >= progressEvery {
                lastPrint = clock.now
                try await printProgress(service: service, since: fillStarted, tradesStarted: started, acknowledged: acknowledged, total: total, startEventID: startEventID)
            }
        }
        if state.caughtUp {
            // Any last rollover, in this task (a no-op when the updater is idle).
            try await service.service.updateDimensions()
        }
        let foldSeconds = (clock.now - started).seconds
        let folded = state.lastFoldedEventID - startEventID
        lines.append(String(format: "| events folded into dimensions while those trades were ingested | %.0f /s (%lld of %lld events stored when ingestion ended) |",
                            Double(foldedDuringIngestion.lastFoldedEventID - startEventID) / ingestSeconds,
                            foldedDuringIngestion.lastFoldedEventID, endEventID))
        lines.append(String(format: "| events folded, first trade sent to last event folded | %.0f /s (%lld events in %.1f s; %.1f s after ingestion ended) |",
                            Double(folded) / foldSeconds, folded, foldSeconds, foldSeconds - ingestSeconds))
        let complete = !timedOut && state.caughtUp && acknowledged == total
        if !complete {
            lines.append(String(format: "| **stopped by the time limit** | %d of %d trades ingested; %lld of %lld stored events folded |", acknowledged, total,
                                state.lastFoldedEventID, state.maxEventID))
        }
        for line in lines { print(line) }
        return (lines, acknowledged, complete)
    }

    private func printProgress(service: InProcessService<ProfilesService>, since fillStarted: ContinuousClock.Instant, tradesStarted: ContinuousClock.Instant,
                               acknowledged: Int, total: Int, startEventID: Int64) async throws {
        let now = ContinuousClock.now
        let state = try await Self.foldState(service.database)
        let tradeSeconds = max(0.001, (now - tradesStarted).seconds)
        let folded = state.lastFoldedEventID - startEventID
        print(String(format: "[%6.0f s] trades %d of %d (%.0f /s); events folded %lld of %lld (%.0f /s since the first trade); RSS %.0f MiB; store %.0f MiB + WAL %.0f MiB",
                     (now - fillStarted).seconds, acknowledged, total, Double(acknowledged) / tradeSeconds, state.lastFoldedEventID, state.maxEventID,
                     Double(folded) / tradeSeconds, ProcessFigures.memoryMiB("VmRSS"),
                     Self.fileMiB(service.database.path), Self.fileMiB(service.database.path + "-wal")))
    }

    struct FoldState {
        var maxEventID: Int64
        var lastFoldedEventID: Int64
        var lastChange: Int64
        var lastFoldedChange: Int64
        var caughtUp: Bool { lastFoldedEventID >= maxEventID && lastFoldedChange >= lastChange }
    }

    /// How far the dimension updater has come (its checkpoint against the tables' ends).
    static func foldState(_ database: DatabasePool) async throws -> FoldState {
        try await database.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT (SELECT COALESCE(MAX(id), 0) FROM event), last_event_id,
                       (SELECT COALESCE(MAX(sequence), 0) FROM change_log), last_change_sequence
                FROM dimension_checkpoint WHERE id = 1
                """)
            guard let row else { return FoldState(maxEventID: 0, lastFoldedEventID: 0, lastChange: 0, lastFoldedChange: 0) }
            return FoldState(maxEventID: row[0], lastFoldedEventID: row[1], lastChange: row[2], lastFoldedChange: row[3])
        }
    }

    /// A live day's feed on the filled store: `liveTrades` trades, one per trading customer in turn,
    /// all on the last day, while the updater folds them (each one a customer's refresh).
    private func live(path: String) async throws -> [String] {
        let service = try await InProcessService<ProfilesService>.start(databasePath: path, tokens: Self.tokens, runBackground: true, audit: AuditSettings(enabled: audit))
        let client = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: service.port)], token: Self.token,
                                                                  defaultDeadline: .seconds(600)))
        // Let the updater load its index first, so the figures below are the feed's alone.
        try await Self.waitForIndex(service)
        let traders = Self.traderCount(customers)
        let day = liveDay
        let started = ContinuousClock.now
        print("a live day (\(day)): \(liveTrades) trades, one per trading customer in turn")
        let phase = try await ingestAndFold(service: service, client: client, total: liveTrades, label: "a live day, one per customer in turn",
                                            since: started, deadline: started + .seconds(liveTimeLimit)) { n in
            Self.liveTrade(number: n, traders: traders, day: day)
        }
        await client.close()
        try await service.stop()
        print("")
        return phase.lines
    }

    static func waitForIndex(_ service: InProcessService<ProfilesService>) async throws {
        while !service.service.isDimensionIndexReady { try await Task.sleep(for: .milliseconds(50)) }
    }

    /// The n-th trade of live day `day` (day 1's keys are L0000000000…, later days' L2-0000000000…).
    static func liveTrade(number n: Int, traders: Int, day: Int = 1) -> Crm_Profiles_V1_TradeEvent {
        benchTrade(key: (day == 1 ? "L" : "L\(day)-") + zeroPadded(n, width: 10), trader: n % traders, serial: n, day: lastDay)
    }

    /// A trade of trading customer `trader` on `day` whose instrument, side, amount and time of
    /// day follow from `serial`: the history's and the live days' trades differ only in key and day.
    static func benchTrade(key: String, trader: Int, serial: Int, day: DayNumber) -> Crm_Profiles_V1_TradeEvent {
        .with {
            $0.idempotencyKey = key; $0.customerID = customerID(traderCustomer(trader))
            $0.account = serial % 9 == 0 ? .margin : .cash
            $0.side = serial % 2 == 0 ? .buy : .sell; $0.instrument = String(600_000 + serial % 300); $0.instrumentType = serial % 5 == 0 ? .fund : .stock
            $0.sector = "s\(serial % 11)"; $0.quantity = 100; $0.price = "10.00"
            $0.amount = .with { $0.minorUnits = Int64(100_000 + serial % 50_000) }
            $0.commission = .with { $0.minorUnits = Int64(25 + serial % 50) }; $0.fees = .with { $0.minorUnits = 2 }
            $0.tradedAt = .with { $0.unixMillis = Int64(day) * Days.millisPerDay + 3_600_000 + Int64(serial % 20_000) * 1_000 }
        }
    }

    private func verifyLedgers(path: String) async throws {
        let service = try await InProcessService<ProfilesService>.start(databasePath: path, tokens: Self.tokens, audit: AuditSettings(enabled: audit))
        let client = service.client(token: Self.token)
        let started = ContinuousClock.now
        let response = try await client.unary(Crm_Profiles_V1_Profiles.rebuildDimensions, Crm_Profiles_V1_RebuildDimensionsRequest())
        print(String(format: "rebuild from the stored events: %d customers, %d mismatches (%.1f s)\n", response.customers, response.mismatches,
                     (ContinuousClock.now - started).seconds))
        await client.close()
        try await service.stop()
    }

    // MARK: Measuring

    private func measure(path: String, record: FillRecord, liveLines: [String]) async throws {
        let clock = ContinuousClock()
        // Start-up on the filled store (its pages are in the OS cache from filling or the last run).
        var startup = try await Self.start(path: path, audit: audit)
        var service = startup.service
        var client = service.client(token: Self.token)
        let firstStart = startup.figures

        // 360° latency, one call at a time, customers spread over the whole id range; then the same
        // customers again, to tell reads from the disk (the first pass's, counted in /proc/self/io)
        // from the calls' own cost.
        var passLines: [String] = []
        for pass in 1...2 {
            var latencies: [Double] = []
            latencies.reserveCapacity(calls)
            let readBefore = Self.diskReadBytes()
            for n in 0..<calls {
                let id = Self.customerID((n &* 7_919) % customers)
                let t0 = clock.now
                _ = try await client.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = id })
                latencies.append((clock.now - t0).seconds * 1_000)
            }
            latencies.sort()
            func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
            passLines.append(String(format: "| GetCustomer360 p50 / p99 / max (%d calls, one at a time; %@) | %.2f / %.2f / %.2f ms (%.1f MiB read from disk) |",
                                    calls, pass == 1 ? "first pass" : "the same customers again", pct(0.5), pct(0.99), latencies.last ?? 0,
                                    Double(Self.diskReadBytes() - readBefore) / 1_048_576))
        }

        // Segment counts over every customer, from the in-memory index.
        let rules = ["status = normal", "asset_tier >= gold and position_ratio < 0.8",
                     "trade_count_90d > 3 and not lifecycle_stage = dormant or contribution_tier in (high, top)"]
        var countLines: [String] = []
        for rule in rules {
            var times: [Double] = []
            var members: UInt64 = 0
            for _ in 0..<5 {
                let t0 = clock.now
                let response = try await client.unary(Crm_Profiles_V1_Profiles.countSegment, Crm_Profiles_V1_CountSegmentRequest.with { $0.rule = rule })
                times.append((clock.now - t0).seconds * 1_000)
                members = response.count
            }
            countLines.append(String(format: "| CountSegment `%@` over %d customers (%llu members; median of 5) | %.1f ms |", rule, customers, members, BenchMain.median(times)))
        }
        let rss = ProcessFigures.memoryMiB("VmRSS")
        let mainMiB = Self.fileMiB(path), walMiB = Self.fileMiB(path + "-wal")
        var tables: [(String, Double)] = []
        if tableSizes {
            tables = try await service.database.read { db in
                try Row.fetchAll(db, sql: "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").map { ($0[0], Double($0[1] as Int64) / 1_048_576) }
            }
        }

        // A restart: a new service on the same store.
        await client.close()
        try await service.stop()
        startup = try await Self.start(path: path, audit: audit)
        service = startup.service
        client = service.client(token: Self.token)
        let rssAfterRestart = ProcessFigures.memoryMiB("VmRSS")
        await client.close()
        try await service.stop()

        print("| figure | value |\n|---|---:|")
        for line in record.lines { print(line) }
        for line in liveLines { print(line) }
        print(String(format: "| start-up on the filled store: listening / healthy / dimension index loaded | %.2f / %.2f / %.2f s |",
                     firstStart.listening, firstStart.healthy, firstStart.indexLoaded))
        for line in passLines { print(line) }
        for line in countLines { print(line) }
        print(String(format: "| restart: listening / healthy / dimension index loaded | %.2f / %.2f / %.2f s |",
                      startup.figures.listening, startup.figures.healthy, startup.figures.indexLoaded))
        print(String(format: "| resident memory after the queries / after the restart (client and service in one process) | %.0f / %.0f MiB |", rss, rssAfterRestart))
        print(String(format: "| store file (+ WAL) while running | %.0f MiB (+ %.0f MiB) |", mainMiB, walMiB))
        print(String(format: "| store file after shutdown | %.0f MiB |", Self.fileMiB(path)))
        for (name, mib) in tables where mib >= 1 { print(String(format: "| — %@ | %.0f MiB |", name, mib)) }
        if !record.complete { print("\nThe fill was stopped by its time limit: the figures above are for what it stored.") }
    }

    struct StartupFigures {
        var listening: Double
        var healthy: Double
        var indexLoaded: Double
    }

    static var tokens: [TokenAuthenticator.Entry] {
        [.init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"]))]
    }

    /// Starts the service on `path`, timing listening, the first health answer and the in-memory
    /// index loaded (what the updater does first in the background; queries scan the store until then).
    /// The updater itself does not run, so a store left part-folded stays as it is while measured.
    static func start(path: String, audit: Bool) async throws -> (service: InProcessService<ProfilesService>, figures: StartupFigures) {
        let clock = ContinuousClock()
        let started = clock.now
        let service = try await InProcessService<ProfilesService>.start(databasePath: path, tokens: tokens, audit: AuditSettings(enabled: audit))
        let listening = (clock.now - started).seconds
        let client = service.client(token: token)
        _ = try await client.unary(Crm_Rpc_V1_Health.check, HealthCheckRequest())
        let healthy = (clock.now - started).seconds
        await client.close()
        try await service.service.loadDimensionIndex()
        let indexLoaded = (clock.now - started).seconds
        return (service, StartupFigures(listening: listening, healthy: healthy, indexLoaded: indexLoaded))
    }

    // MARK: Generated data

    /// Customers whose index is not 9 mod 10 trade (the others are prospects).
    static func traderCount(_ customers: Int) -> Int { customers / 10 * 9 + min(customers % 10, 9) }

    /// The customer index of the t-th trading customer.
    static func traderCustomer(_ t: Int) -> Int { t / 9 * 10 + t % 9 }

    static func customerID(_ index: Int) -> String { "C" + zeroPadded(index, width: 7) }

    /// Decimal digits with leading zeros (String(format:) costs a few microseconds a call: 20 million
    /// trades' keys and ids are built on the client's side of a shared two-core machine).
    static func zeroPadded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    static func date(_ day: DayNumber) -> Crm_Common_V1_Date {
        let civil = Days.civil(day)
        return .init(year: civil.year, month: civil.month, day: civil.day)
    }

    static func customer(_ index: Int) -> Crm_Profiles_V1_Customer {
        .with {
            $0.customerID = customerID(index); $0.kind = .individual; $0.name = "Customer \(index)"
            $0.branchID = "B\(index % 20)"; $0.managerID = "M\(index % 500)"; $0.status = index % 10 == 9 ? .prospect : .normal
            if index % 10 != 9 { $0.openDate = .init(year: 2015 + Int32(index % 10), month: 3, day: 1) }
            $0.updatedAt = .with { $0.unixMillis = 1_764_000_000_000 }
        }
    }

    static func position(_ index: Int) -> Crm_Profiles_V1_DailyPositionEvent {
        .with {
            $0.idempotencyKey = "P\(index)"; $0.customerID = customerID(index)
            $0.tradingDay = date(lastDay)
            $0.cash = .with { $0.minorUnits = Int64(100_000 * (1 + index % 97)) }
            $0.holdings = [.with {
                $0.instrument = String(600_000 + index % 300); $0.instrumentType = .stock; $0.sector = "s\(index % 11)"; $0.quantity = 100
                $0.marketValue = .with { $0.minorUnits = Int64(300_000 * (1 + index % 89)) }; $0.cost = .with { $0.minorUnits = Int64(280_000 * (1 + index % 89)) }
            }]
        }
    }

    /// The n-th trade sent. Trade k of trading customer t is the same event in either order; its
    /// number in time order (k × traders + t) names it, and its day moves on with k, so a live feed
    /// (interleaved) delivers the year in order.
    static func trade(number n: Int, traders: Int, tradesPerCustomer: Int, order: Order) -> Crm_Profiles_V1_TradeEvent {
        let t: Int, k: Int
        switch order {
        case .interleaved: (t, k) = (n % traders, n / traders)
        case .customer: (t, k) = (n / tradesPerCustomer, n % tradesPerCustomer)
        }
        let serial = k * traders + t
        let spread = max(1, 365 / max(1, tradesPerCustomer))
        let day = lastDay - 364 + DayNumber((k * 365) / max(1, tradesPerCustomer) + t % spread)
        return benchTrade(key: "T" + zeroPadded(serial, width: 10), trader: t, serial: serial, day: day)
    }

    /// Bytes this process has had read from storage (not from the page cache), from /proc/self/io.
    static func diskReadBytes() -> Int {
        guard let io = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8),
              let line = io.split(separator: "\n").first(where: { $0.hasPrefix("read_bytes:") }),
              let bytes = Int(line.split(separator: " ").last ?? "") else { return 0 }
        return bytes
    }

    static func fileMiB(_ path: String) -> Double {
        Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) / 1_048_576
    }
}
