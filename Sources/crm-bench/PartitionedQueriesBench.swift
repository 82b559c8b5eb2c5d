import ArgumentParser
import CRMPartitions
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CustomerDimensions
import Foundation
import GRDB
import Logging
import ProfilesService
import SwiftProtobuf

/// Calls across customers when the customers are split over several profiles processes (issue
/// 16's aims: a CountSegment over a million customers in 16 partitions under 10 ms, a merged
/// SearchCustomers page under 20 ms).
///
/// The same customers (their assets and position ratios differing, see ``seed(_:owner:)``) are
/// written into one store for a single `crm-profiles` process, the reference, and split by
/// partition into one store per owner; each process is its own executable, plaintext on loopback.
/// Every call goes to the first owner, which asks the others and merges; each is timed one at a
/// time beside the same call to the reference, and the answers are checked equal.
struct PartitionedQueriesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partitioned-queries",
        abstract: "CountSegment and SearchCustomers across several profiles processes beside one process holding everyone."
    )

    @Option(help: "Customers (one in ten a prospect without positions).")
    var customers: Int = 100_000

    @Option(help: "Partitions of the firm (P).")
    var partitions: Int = 16

    @Option(help: "Profiles processes the partitions are split over, in equal ranges.")
    var processes: Int = 2

    @Option(help: "Times each call is made; p50 and p99 are reported.")
    var repeats: Int = 30

    @Option(help: "Keep the stores here and reuse them when they exist (the seeding of a million customers takes minutes).")
    var folder: String?

    @Option(help: "How the owners keep their partitions: one-file, or file-per-partition (their seeded stores split with crm-profiles split-partitions' code, timed). The reference keeps one file.")
    var storage = "one-file"

    @Option(help: "Then move the first owner's first partition to the second owner and back this many times each way, timing each move, with the main part copied while it serves and with the file copied whole after the drain, the two alternating (file-per-partition, fresh stores only).")
    var moves = 0

    func validate() throws {
        guard ["one-file", "file-per-partition"].contains(storage) else { throw ValidationError("--storage is one-file or file-per-partition") }
        guard moves == 0 || (storage == "file-per-partition" && folder == nil) else {
            throw ValidationError("--moves needs --storage file-per-partition and no --folder (a move changes the owners' stores)")
        }
        guard (2...8).contains(processes), processes <= partitions else { throw ValidationError("--processes is 2…8 and at most --partitions") }
        guard customers >= 1_000 else { throw ValidationError("--customers is at least 1,000") }
    }

    static let token = "bench-queries"
    static let peerToken = "bench-peer"
    static let rules = ["", "status = normal", "total_assets >= 5000000", "position_ratio > 0.5 and cash < 3000000", "asset_tier = gold"]

    func run() async throws {
        let directory = URL(fileURLWithPath: folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-queries-\(UUID().uuidString)").path)
        defer { if folder == nil { try? FileManager.default.removeItem(at: directory) } }
        let partitioning = try Partitioning(count: partitions)
        let ranges = (0..<processes).map { ordinal in (partitions * ordinal / processes)..<(partitions * (ordinal + 1) / processes) }
        let names = ["reference"] + (0..<processes).map { "profiles-\($0)" }
        let stores = names.map { directory.appendingPathComponent($0).appendingPathComponent("profiles.sqlite").path }
        let clock = ContinuousClock()
        if !FileManager.default.fileExists(atPath: stores[0]) {
            let started = clock.now
            try await seed(stores, owner: { id in ranges.firstIndex { $0.contains(partitioning.partition(of: id)) } ?? 0 })
            print(String(format: "seeded %d customers into one store and %d owners' stores in %.1f s", customers, processes, (clock.now - started).seconds))
        } else {
            print("reusing the stores in \(directory.path)")
        }

        if storage == "file-per-partition" {
            for store in stores.dropFirst() where !FileManager.default.fileExists(atPath: ProfilesService.partitionFilesDirectory(ofStore: store).path) {
                // The count the service records at its first start, then the split tool's own code.
                let pool = try DatabasePool(path: store)
                try await pool.write { db in
                    try db.execute(sql: "INSERT OR IGNORE INTO partitioning (id, count, recorded_at) VALUES (1, ?, 0)", arguments: [partitions])
                }
                try pool.close()
                let at = clock.now
                let report = try PartitionSplit.split(storePath: store, logger: Logger(label: "crm.bench.split"))
                print(String(format: "split %@ in %.1f s: %@", URL(fileURLWithPath: store).deletingLastPathComponent().lastPathComponent,
                             (clock.now - at).seconds, "\(report)"))
            }
        }

        // The map: owners by name, their endpoints once they listen.
        let topology = directory.appendingPathComponent("topology.json")
        let map = try PartitionMap(partitioning: partitioning, epoch: 1, owners: Dictionary(uniqueKeysWithValues: (0..<processes).map {
            ("profiles-\($0)", PartitionSet(Array(ranges[$0])))
        }))
        try map.writeTopology(endpoints: [], to: topology)
        var launched: [ServiceExecutable] = []
        defer { for process in launched { process.stop() } }
        var ports: [Int] = []
        let started = clock.now
        for (place, name) in names.enumerated() {
            var settings = ["partitions.count": "\(partitions)"]
            if place > 0 {
                settings["partitions.topology"] = topology.path
                settings["partitions.owner"] = name
                settings["partitions.storage"] = storage
            }
            let process = try ServiceExecutable(executable: ServiceExecutable.beside("crm-profiles"), directory: URL(fileURLWithPath: stores[place]).deletingLastPathComponent(),
                                                name: "profiles", configuration: [
                "tokens": [
                    ["sha256": TokenAuthenticator.hash(token: Self.token), "principal": ["name": "bench", "roles": ["admin"], "attributes": [String: String]()]],
                    ["sha256": TokenAuthenticator.hash(token: Self.peerToken), "principal": ["name": "profiles", "roles": [Principal.serviceRole], "attributes": [String: String]()]],
                ],
                "peerToken": Self.peerToken,
                "settings": settings,
                // Reads by an admin are audited in production too; the trail's cost is issue 17's figure.
                "audit": ["enabled": true],
            ])
            launched.append(process)
            ports.append(try await process.start())
        }
        try map.writeTopology(endpoints: ports.dropFirst().map { "127.0.0.1:\($0)" }, to: topology)
        let clients = ports.map { RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: $0)], token: Self.token, defaultDeadline: .seconds(120))) }
        // Ready when every process has loaded its index: until then a count scans the store, so the
        // count of everyone is timed until it comes from the index (the whole store in one pass at
        // first, milliseconds after).
        for client in clients {
            while true {
                let at = clock.now
                _ = try await client.unary(Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = "cash > 0" })
                if (clock.now - at) < .milliseconds(50) { break }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        print(String(format: "%d processes started and their indexes loaded in %.1f s", names.count, (clock.now - started).seconds))
        let memory = launched.map { String(format: "%@ %.0f MiB", $0.directory.lastPathComponent, ProcessFigures.memoryMiB("VmRSS", process: $0.pid)) }
        print("resident: " + memory.joined(separator: ", ") + "\n")

        let reference = clients[0], entry = clients[1]
        var rows: [String] = []
        func measure<Request: SwiftProtobuf.Message & Sendable, Response: SwiftProtobuf.Message & Equatable & Sendable>(
            _ label: String, _ method: UnaryMethod<Request, Response>, _ request: Request, same: (Response, Response) -> Bool = { $0 == $1 }
        ) async throws {
            var one: [Double] = [], many: [Double] = []
            var answers: (Response, Response)?
            for _ in 0..<repeats {
                var at = clock.now
                let whole = try await reference.unary(method, request)
                one.append(MatchingScaleBench.millis(clock.now - at))
                at = clock.now
                let merged = try await entry.unary(method, request)
                many.append(MatchingScaleBench.millis(clock.now - at))
                answers = (whole, merged)
            }
            guard let (whole, merged) = answers, same(whole, merged) else {
                throw ValidationError("\(label): the merged answer differs from the one process's: \(answers.map { "\($0.1) vs \($0.0)" } ?? "")")
            }
            rows.append("| \(label) | \(MatchingScaleBench.percentile(one, 0.5)) / \(MatchingScaleBench.percentile(one, 0.99)) | "
                + "\(MatchingScaleBench.percentile(many, 0.5)) / \(MatchingScaleBench.percentile(many, 0.99)) | "
                + String(format: "%.2f", BenchMain.median(many) / max(BenchMain.median(one), 0.001)) + " |")
        }
        for rule in Self.rules {
            try await measure("CountSegment `\(rule.isEmpty ? "everyone" : rule)`", Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = rule })
        }
        // Pages: the first, and one deep in the list (its token from the reference: the tokens are the same).
        func page(_ rule: String, orderBy: String, token: String) -> Crm_Profiles_V1_SearchCustomersRequest {
            .with { $0.rule = rule; $0.orderBy = orderBy; $0.descending = !orderBy.isEmpty; $0.page = .with { $0.pageSize = 50; $0.pageToken = token } }
        }
        for (rule, orderBy) in [("", ""), ("total_assets >= 5000000", ""), ("", "total_assets"), ("status = normal", "position_ratio")] {
            var deep = page(rule, orderBy: orderBy, token: "")
            for _ in 0..<20 {
                let answer = try await reference.unary(Crm_Profiles_V1_Profiles.searchCustomers, deep)
                guard !answer.page.nextPageToken.isEmpty else { break }
                deep.page.pageToken = answer.page.nextPageToken
            }
            let what = "SearchCustomers \(rule.isEmpty ? "everyone" : "`\(rule)`")\(orderBy.isEmpty ? " by id" : ", by \(orderBy) descending")"
            try await measure("\(what), first page of 50", Crm_Profiles_V1_Profiles.searchCustomers, page(rule, orderBy: orderBy, token: ""))
            try await measure("\(what), page 21", Crm_Profiles_V1_Profiles.searchCustomers, deep)
        }
        print("\(customers) customers in \(partitions) partitions over \(processes) processes; each call \(repeats) times, one at a time, "
            + "to the one process and to the first owner (which asks the others and merges); milliseconds\n")
        print("| call | one process p50 / p99 | \(processes) processes p50 / p99 | ratio of p50s |\n|---|---:|---:|---:|")
        for row in rows { print(row) }
        if moves > 0 {
            try await measureMoves(clients: clients, ports: ports, topology: topology, map: map, ranges: ranges)
        }
        for client in clients { await client.close() }
    }

    /// Moves partition `ranges[0].lowerBound` from profiles-0 to profiles-1 and back, `moves` times
    /// each way, under probes through profiles-0; prints each move and the medians, then checks
    /// that every count through the owners still equals the reference's.
    private func measureMoves(clients: [RPCClient], ports: [Int], topology: URL, map initial: PartitionMap, ranges: [Range<Int>]) async throws {
        let partitioning = initial.partitioning
        let partition = ranges[0].lowerBound
        let ids = (0..<customers).lazy.map { ProfilesScaleBench.customer($0).customerID }
        guard let moving = ids.first(where: { partitioning.partition(of: $0) == partition }),
              let staying = ids.first(where: { partitioning.partition(of: $0) != partition && ranges[0].contains(partitioning.partition(of: $0)) }) else {
            throw ValidationError("no customer in partition \(partition), or none in another of profiles-0's")
        }
        let inPartition = ids.filter { partitioning.partition(of: $0) == partition }.count
        var owners: [String: RPCClient] = [:]
        for ordinal in 0..<processes { owners["profiles-\(ordinal)"] = clients[1 + ordinal] }
        let measure = PartitionMoveMeasure(partition: partition, owners: owners, entry: clients[1], movingCustomer: moving, stayingCustomer: staying,
                                           topology: topology, endpoints: ports.dropFirst().map { "127.0.0.1:\($0)" })
        var map = initial
        print("\nmoving partition \(partition) (\(inPartition) customers) between profiles-0 and profiles-1, \(moves) times each way by each "
            + "method (copied while serving, then the tail; or whole after the drain), while two probers call GetCustomer through profiles-0 back "
            + "to back (one for a customer of the partition, one for another of profiles-0's) and a writer ingests the partition's customer's service "
            + "contacts one at a time; milliseconds\n")
        print("| move | method | file MiB | copy while serving | drain | copy after the drain (MiB) | map + reloads | refused window | refused calls "
            + "| others refused | probes | contacts written (refused) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        var all: [(whole: Bool, figures: PartitionMoveMeasure.Figures)] = []
        for round in 0..<(4 * moves) {
            let (from, to) = round % 2 == 0 ? ("profiles-0", "profiles-1") : ("profiles-1", "profiles-0")
            let whole = (round / 2) % 2 == 1
            let (figures, next) = try await measure.move(from: from, to: to, map: map, whole: whole)
            map = next
            all.append((whole, figures))
            print(String(format: "| %@ → %@ | %@ | %.1f | %.1f | %.1f | %.1f (%.2f) | %.1f | %.1f | %d | %d | %d | %d (%d) |", from, to,
                         whole ? "whole" : "tail", Double(figures.bytes) / 1_048_576, MatchingScaleBench.millis(figures.copyWhileServing),
                         MatchingScaleBench.millis(figures.drain), MatchingScaleBench.millis(figures.copy), Double(figures.drainedBytes) / 1_048_576,
                         MatchingScaleBench.millis(figures.commit), MatchingScaleBench.millis(figures.refusedWindow), figures.refused,
                         figures.refusedElsewhere, figures.probes, figures.written, figures.writesRefused))
        }
        func median(_ values: [Duration]) -> Double { BenchMain.median(values.map(MatchingScaleBench.millis)) }
        for method in [false, true] {
            let runs = all.filter { $0.whole == method }.map(\.figures)
            print(String(format: "| median | %@ | | %.1f | %.1f | %.1f | %.1f | %.1f | | | | |", method ? "whole" : "tail", median(runs.map(\.copyWhileServing)),
                         median(runs.map(\.drain)), median(runs.map(\.copy)), median(runs.map(\.commit)), median(runs.map(\.refusedWindow))))
        }
        // The writer's contacts to the reference as well (its customer's dimensions are then
        // computed from the same events on both sides), every process's updater caught up.
        let keys = all.flatMap(\.figures.writtenKeys)
        for start in stride(from: 0, to: keys.count, by: 1_000) {
            _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, .with {
                $0.events = keys[start..<min(start + 1_000, keys.count)].map { PartitionMoveMeasure.contact($0, moving) }
            })
        }
        try await IngestBench.untilFolded(ports: ports, token: Self.token)
        for rule in Self.rules {
            let whole = try await clients[0].unary(Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = rule })
            let merged = try await clients[1].unary(Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = rule })
            guard whole == merged else {
                throw ValidationError("after the moves, CountSegment `\(rule)` answers \(merged.textFormatString()) through the owners, "
                    + "\(whole.textFormatString()) from one process")
            }
        }
        print("\nafter the moves (\(keys.count) contacts written during them, then to the one process too) every count through the owners "
            + "equals the one process's")
    }

    /// Writes every customer (record, dimensions) into the reference store and its owner's.
    ///
    /// The dimensions are the service's own for a customer without events (``ComputedSeeds``) with
    /// three money figures and the position ratio set from the customer's number, so that rules and
    /// sorts have something to tell customers apart by. No events: a million customers' ledgers,
    /// folded positions and feed entries would take tens of GB over three stores, and the calls
    /// measured here read only the index and the page's rows. (The classes stay those computed for
    /// no assets, so `asset_tier` here is everyone's lowest tier.)
    private func seed(_ stores: [String], owner: (String) -> Int) async throws {
        var pools: [DatabasePool] = []
        for path in stores {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            pools.append(try SQLiteStore.open(path: path, migrator: ProfilesService.migrator))
        }
        defer { for pool in pools { try? pool.close() } }
        let computed = try ComputedSeeds(), lastDate = ProfilesScaleBench.date(ProfilesScaleBench.lastDay)
        func slot(_ name: String) throws -> Int {
            guard let slot = DimensionCatalog.numeric.firstIndex(where: { $0.name == name }) else { throw ValidationError("no dimension \(name)") }
            return slot
        }
        let cash = try slot("cash"), market = try slot("securities_value"), total = try slot("total_assets"), ratio = try slot("position_ratio")
        let chunk = 20_000
        for start in stride(from: 0, to: customers, by: chunk) {
            var seeds = Array(repeating: [StoreSeeding.Seed](), count: stores.count)
            for index in start..<min(customers, start + chunk) {
                let customer = ProfilesScaleBench.customer(index)
                var seed = computed.seed(customer: customer, assessment: nil, asOf: lastDate)
                if customer.status == .normal {
                    // As ProfilesScaleBench.position(index) would leave them, in fen.
                    let cashFen = Double(100_000 * (1 + index % 97)), marketFen = Double(300_000 * (1 + index % 89))
                    seed.numbers[cash] = cashFen
                    seed.numbers[market] = marketFen
                    seed.numbers[total] = cashFen + marketFen
                    seed.numbers[ratio] = marketFen / (cashFen + marketFen)
                }
                seeds[0].append(seed)
                seeds[1 + owner(customer.customerID)].append(seed)
            }
            for (place, pool) in pools.enumerated() {
                try await StoreSeeding.write(seeds[place], into: pool)
            }
        }
        for pool in pools { try await ComputedSeeds.markFolded(pool, asOf: lastDate) }
    }
}
