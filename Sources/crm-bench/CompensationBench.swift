import CRMTestSupport
import ArgumentParser
import CRMHeap
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CompensationService
import Foundation
import GRDB

/// Settling one month at scale: a compensation store filled directly (its own store API, in one
/// process, as the feed consumers would have) with the organisation, the assignments, the schemes
/// and a month of trades' income; then SettleMonth over RPC on a fresh copy of that store, several
/// times, with wall time and peak resident memory of each run.
struct CompensationBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compensation",
        abstract: "SettleMonth for N managers, M customers and T trades already ingested."
    )

    @Option(help: "Client managers (10 per team, 100 per branch).")
    var managers: Int = 5_000

    @Option(help: "Customers, each assigned to a manager (1 in 100 transferred mid-month).")
    var customers: Int = 1_000_000

    @Option(help: "Trades in the settled month (March 2025), 1 in 5 on margin accounts.")
    var trades: Int = 5_000_000

    @Option(help: "Timed SettleMonth runs, each on a fresh copy of the filled store; the median is reported.")
    var runs: Int = 3

    @Option(help: "Folder for the stores (kept afterwards when given).")
    var folder: String?

    @Flag(help: "Reuse the filled store an earlier run left in --folder (same figures) instead of filling it again.")
    var reuse = false

    static let month = "2025-03"

    func validate() throws {
        guard managers >= 1, customers >= 1, trades >= 0, runs >= 1 else { throw ValidationError("managers, customers and runs must be at least 1") }
    }

    func run() async throws {
        let dir = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-compensation-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if folder == nil { try? FileManager.default.removeItem(at: dir) } }
        let base = dir.appendingPathComponent("filled.sqlite").path
        print("\(managers) managers, \(customers) customers, \(trades) trades in \(Self.month); \(runs) runs\n")

        let clock = ContinuousClock()
        var started = clock.now
        if !(reuse && FileManager.default.fileExists(atPath: base)) {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: base + suffix) }
            try fill(path: base)
        }
        let fillSeconds = (clock.now - started).seconds
        let fileMiB = Double((try? FileManager.default.attributesOfItem(atPath: base)[.size] as? Int) ?? 0) / 1_048_576
        print(String(format: "filled in %.1f s (%.0f trades/s recorded); store %.0f MiB", fillSeconds, Double(trades) / fillSeconds, fileMiB))

        let token = "bench"
        let tokens: [TokenAuthenticator.Entry] = [.init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"]))]
        var seconds: [Double] = []
        var cpuTimes: [Double] = []
        var peaks: [Double] = []
        var verifySeconds = 0.0
        var last = Crm_Compensation_V1_SettleMonthResponse()
        for round in 1...runs {
            let path = dir.appendingPathComponent("run-\(round).sqlite").path
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try FileManager.default.copyItem(atPath: base, toPath: path)
            let service = try await InProcessService<CompensationService>.start(databasePath: path, tokens: tokens)
            let client = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: service.port)], token: token,
                                                                      defaultDeadline: .seconds(3_600)))
            Self.resetPeakMemory()
            let before = ProcessFigures.memoryMiB("VmRSS")
            let cpuBefore = ProcessFigures.cpuSeconds()
            let load = Self.loadAverage()
            started = clock.now
            last = try await client.unary(Crm_Compensation_V1_Compensation.settleMonth,
                                          Crm_Compensation_V1_SettleMonthRequest.with { $0.month = Self.month })
            let elapsed = (clock.now - started).seconds
            let cpu = ProcessFigures.cpuSeconds() - cpuBefore
            let peak = ProcessFigures.memoryMiB("VmHWM")
            seconds.append(elapsed)
            cpuTimes.append(cpu)
            peaks.append(peak)
            print(String(format: "run %d: SettleMonth %.2f s (%.1f CPU-s in this process; 1-min load average %@ before); resident memory %.0f MiB before, peak %.0f MiB during; %d statements, %d lines",
                         round, elapsed, cpu, load, before, peak, last.statements, last.lines))
            if round == runs {
                started = clock.now
                let again = try await client.unary(Crm_Compensation_V1_Compensation.settleMonth,
                                                   Crm_Compensation_V1_SettleMonthRequest.with { $0.month = Self.month })
                verifySeconds = (clock.now - started).seconds
                print(String(format: "again on the closed month: %.2f s (recomputed identical: %@)", verifySeconds, again.recomputedIdentical ? "yes" : "NO"))
            }
            await client.close()
            try await service.stop()
            let beforeTrim = ProcessFigures.memoryMiB("VmRSS")
            _ = crm_heap_trim()
            print(String(format: "  after the run: resident %.0f MiB, %.0f MiB after malloc_trim", beforeTrim, ProcessFigures.memoryMiB("VmRSS")))
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }

        let sorted = seconds.sorted()
        print("")
        print("| figure | value |")
        print("|---|---:|")
        print(String(format: "| SettleMonth, median of %d (runs: %@) | %.2f s |", runs, seconds.map { String(format: "%.2f", $0) }.joined(separator: ", "), sorted[sorted.count / 2]))
        print(String(format: "| CPU time of SettleMonth, median (both cores; runs: %@) | %.1f s |", cpuTimes.map { String(format: "%.1f", $0) }.joined(separator: ", "),
                     cpuTimes.sorted()[cpuTimes.count / 2]))
        print(String(format: "| peak resident memory during SettleMonth (max of runs) | %.0f MiB |", peaks.max() ?? 0))
        print(String(format: "| SettleMonth again on the closed month (recompute and compare) | %.2f s |", verifySeconds))
        print("| statements / lines | \(last.statements) / \(last.lines) |")
        print(String(format: "| total pay | %.2f CNY |", Double(last.totalPayFen) / 100))
        print(String(format: "| store filled directly (not timed above) | %.1f s, %.0f MiB |", fillSeconds, fileMiB))
    }

    /// Writes the organisation, assignments, schemes and trades, 50,000 rows a transaction.
    func fill(path: String) throws {
        let pool = try SQLiteStore.open(path: path, migrator: CompensationService.migrator)
        let now = currentUnixMillis()
        let teams = max(1, managers / 10), branches = max(1, managers / 100)
        func padded(_ prefix: String, _ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        func managerID(_ index: Int) -> String { padded("M", index, 5) }
        let customerIDs = (0..<customers).map { padded("C", $0, 7) }
        func customerID(_ index: Int) -> String { customerIDs[index] }
        try pool.write { db in
            for branch in 0..<branches { try BulkLoad.branch(db, id: String(format: "B%03d", branch), name: "Branch \(branch)", atMillis: now) }
            for team in 0..<teams {
                try BulkLoad.team(db, id: String(format: "T%04d", team), branchID: String(format: "B%03d", team * branches / teams), name: "Team \(team)", atMillis: now)
            }
            for index in 0..<managers {
                let team = index * teams / managers
                try BulkLoad.manager(db, .with {
                    $0.managerID = managerID(index)
                    $0.name = "Manager \(index)"
                    $0.teamID = String(format: "T%04d", team)
                    $0.branchID = String(format: "B%03d", team * branches / teams)
                    $0.grade = "G\(1 + index % 5)"
                    $0.status = .active
                }, atMillis: now)
            }
            for grade in 1...5 {
                try BulkLoad.scheme(db, .with {
                    $0.grade = "G\(grade)"
                    $0.version = 1
                    $0.effectiveFrom = .init(year: 2024, month: 1, day: 1)
                    $0.commissionTiers = [
                        .with { $0.lowerFen = 0; $0.upperFen = 1_000_000; $0.rateBp = UInt32(1_500 + 100 * grade) },
                        .with { $0.lowerFen = 1_000_000; $0.upperFen = 5_000_000; $0.rateBp = UInt32(2_000 + 100 * grade) },
                        .with { $0.lowerFen = 5_000_000; $0.rateBp = UInt32(2_500 + 100 * grade) },
                    ]
                    $0.rates = .with { $0.marginInterestBp = 1_000; $0.productRebateBp = 5_000; $0.advisoryFeeBp = 2_000 }
                    $0.deductedCosts = ["transfer"]
                    $0.createdAt = .with { $0.unixMillis = now }
                })
            }
        }
        let start = CalendarDay(year: 2024, month: 1, day: 1) ?? CalendarDay(daysSince1970: 0)
        let midMonth = CalendarDay(year: 2025, month: 3, day: 16) ?? start
        for first in stride(from: 0, to: customers, by: 50_000) {
            try pool.write { db in
                for index in first..<min(first + 50_000, customers) {
                    let manager = index % managers
                    if index % 100 == 99 {
                        // Transferred on 16 March to the next manager.
                        try BulkLoad.assignment(db, CustomerAssignment(customerID: customerID(index), managerID: managerID(manager), effectiveFrom: start,
                                                                       effectiveUntil: midMonth), atMillis: now)
                        try BulkLoad.assignment(db, CustomerAssignment(customerID: customerID(index), managerID: managerID((manager + 1) % managers),
                                                                       effectiveFrom: midMonth), atMillis: now)
                    } else {
                        try BulkLoad.assignment(db, CustomerAssignment(customerID: customerID(index), managerID: managerID(manager), effectiveFrom: start),
                                                atMillis: now)
                    }
                }
            }
        }
        var random = BenchRandom(seed: 20_250_301)
        let firstDay = CalendarDay(year: 2025, month: 3, day: 1)?.daysSince1970 ?? 0
        let costs = TradeCostSchedule(rates: [.init(name: "transfer", partsPerHundredMillion: 10_000)])
        // In time order, as the feed delivers them: the same share of the trades on each day.
        for first in stride(from: 0, to: trades, by: 50_000) {
            try pool.write { db in
                for index in first..<min(first + 50_000, trades) {
                    let customer = Int(random.next() % UInt64(customers))
                    let day = CalendarDay(daysSince1970: firstDay + Int32(index * 31 / max(1, trades)))
                    let amount = Int64(1_000_000 + random.next() % 99_000_000)       // 10,000–1,000,000 CNY
                    let commission = amount * Int64(2 + random.next() % 6) / 10_000  // 2–7 bp
                    let trade = TradeCommission(
                        account: index % 5 == 4 ? .margin : .cash, commissionFen: commission,
                        exchangeFeesFen: amount / 50_000, regulatoryFeesFen: 0, otherCosts: costs.costs(ofTradeAmount: amount)
                    )
                    // Keyed as the feed keys a trade (its identity), so the items and the index are their real size.
                    let key = ProfilesEventIdentity.key(.trade, customerID: customerID(customer), idempotencyKey: "T\(index + 1)")
                    try BulkLoad.income(db, IncomeItem(sourceEventID: key, customerID: customerID(customer), day: day, kind: .trade(trade)))
                }
            }
        }
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try pool.close()
    }

    /// Resets the kernel's peak-RSS mark (VmHWM) so the next reading covers only what follows.
    static func resetPeakMemory() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// The 1-minute load average, as text.
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
    }

}

/// A small seeded generator, so every run fills the same store.
struct BenchRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
