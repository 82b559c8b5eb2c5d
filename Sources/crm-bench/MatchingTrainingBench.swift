import ArgumentParser
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMTestSupport
import CRMWorld
import CRMWorldLoader
import Foundation
import GRDB
import ProductsService
import ProfilesService

/// TrainModel at scale: how long a year of a large book takes to train, phase by phase, and how
/// much memory the replica and profiles need for it. A generated world (``World``, the behaviour
/// law by default) is loaded through the services' RPCs into profiles and products (in this
/// process) once per folder; the `crm-matching` executable runs as its own process on its own
/// store, catches up, and is asked to train through the RPC `--runs` times. Each run prints its
/// progress messages as they arrive (stage, step, seconds since the call), the summary (rows,
/// positives, trees) and the peak resident memory of the replica and of this process (profiles
/// and products serving it). With `--fresh-snapshots` every run first drops the replica's stored
/// month-end snapshots, so it fetches them all from profiles as a new replica would; without it
/// the runs after the first reuse them, as a monthly retraining does.
struct MatchingTrainingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching-training",
        abstract: "TrainModel at scale: time per phase, rows, peak memory of the replica and of profiles."
    )

    @Option(help: "Customers in the generated world.")
    var customers: Int = 100_000

    @Option(help: "World seed.")
    var seed: UInt64 = 20_261_129

    @Option(help: "The world's buying law: observed-state or behaviour.")
    var law: String = "behaviour"

    @Option(help: "Products in the library (default 300, as matching-quality's behaviour world).")
    var products: Int = 300

    @Option(help: "A folder for the stores, kept afterwards; a world already loaded there is reused.")
    var folder: String?

    @Option(help: "TrainModel calls (0: none, the replica scores with the model its store holds).")
    var runs: Int = 1

    @Flag(help: "Drop the replica's stored month-end snapshots before every run (a new replica's first training).")
    var freshSnapshots = false

    @Flag(help: "Load the world's events through the ingestion RPCs instead of straight into profiles' store (StoreSeeding.appendEvents).")
    var eventsThroughRPCs = false

    @Option(help: "Seconds one TrainModel call may take before it is cancelled.")
    var timeout: Int = 2_400

    @Option(help: "The crm-matching executable (default: beside this one).")
    var matchingExecutable: String?

    @Option(help: "A matching setting as key=value (e.g. model.snapshot_page=100000, model.max_rows=3000000); repeatable.")
    var setting: [String] = []

    @Option(help: "Matching partition groups of one replica each (docs/partitioning.md §9): 1 is one replica holding every customer; with more, the first trains across all of them.")
    var groups: Int = 1

    @Option(help: "How profiles keeps its 64 partitions: one-file (the default) or file-per-partition (a file each, as a large firm would; docs/partitioning.md §2). Part of the world's marker: a folder holds one of each.")
    var storage = "one-file"

    @Option(help: "After the last run, target lists (top 1,000, each over another product) to time with the model just trained; 0 times none.")
    var scoreLists = 0

    @Option(help: "After the last run, RecommendProducts calls to time with the model just trained (with --score-lists).")
    var scoreCalls = 500

    func run() async throws {
        guard let law = WorldLaw(rawValue: law) else { throw ValidationError("--law must be observed-state or behaviour") }
        let base = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-training-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { if folder == nil { try? FileManager.default.removeItem(at: base) } }
        guard ["one-file", "file-per-partition"].contains(storage) else { throw ValidationError("--storage is one-file or file-per-partition") }
        let files = storage == "file-per-partition"
        let marker = base.appendingPathComponent("loaded-\(law.rawValue)-\(customers)-\(seed)-\(products)\(files ? "-files" : "")")
        let token = "bench"
        let peerToken = "bench-peer"
        let tokens: [TokenAuthenticator.Entry] = [
            .init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"])),
            .init(sha256: TokenAuthenticator.hash(token: peerToken), principal: Principal(name: "matching", roles: ["service"])),
        ]
        let clock = ContinuousClock()
        let world = World(WorldConfiguration(customers: customers, seed: seed, products: products, law: law))
        print("== world \(law.rawValue): \(customers) customers, \(world.products.count) products, seed \(seed), folder \(base.path)")

        let profilesPath = base.appendingPathComponent("profiles.sqlite").path
        let profiles = try await InProcessService<ProfilesService>.start(databasePath: profilesPath, tokens: tokens,
                                                                         settings: files ? ["partitions.storage": storage] : [:], runBackground: true)
        let productsService = try await InProcessService<ProductsService>.start(databasePath: base.appendingPathComponent("products.sqlite").path, tokens: tokens)
        try await Self.loadWorld(world, customers: customers, marker: marker, profiles: profiles, products: productsService, token: token,
                                 eventsThroughRPCs: eventsThroughRPCs)

        let settings = try setting.reduce(into: ["feed.page": "5000", "feed.interval_ms": "50"]) { settings, pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--setting \(pair) is not key=value") }
            settings[parts[0]] = parts[1]
        }
        let executable = matchingExecutable ?? ServiceExecutable.beside("crm-matching")
        let replicas = try await Self.startReplicas(groups: groups, executable: executable, base: base, token: token, peerToken: peerToken,
                                                    peers: ["profiles": profiles.port, "products": productsService.port], settings: settings)
        let matching = replicas[0].process
        defer { for replica in replicas { replica.process.stop() } }
        var started = clock.now
        let clients = replicas.map { replica in
            RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: replica.port)], token: token, defaultDeadline: .seconds(30)))
        }
        let client = clients[0]
        let productsLast = try await productsService.database.read { try ChangeFeed.lastSequence($0) }
        let (profilesLast, eventsLast) = try Self.feedEnds(profiles: profiles, storePath: profilesPath, files: files)
        let catchUpDeadline = clock.now + .seconds(3_600)
        for replica in clients {
            while true {
                let status = try await replica.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
                if status.ready && status.profilesSequence >= profilesLast && status.productsSequence >= productsLast && status.eventsSequence >= UInt64(eventsLast) { break }
                guard clock.now < catchUpDeadline else { throw ValidationError("the replica did not catch up within an hour") }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        print(String(format: "%@ caught up in %.1f s; RSS %@ MiB", replicas.count == 1 ? "replica" : "\(replicas.count) group replicas",
                     (clock.now - started).seconds, replicas.map { "\($0.process.rssMiB())" }.joined(separator: " + ")))

        // --runs 0 trains nothing: the replica keeps the model its store holds (for --score-lists).
        for run in stride(from: 1, through: runs, by: 1) {
            if freshSnapshots {
                // The replica's store is its own process's; its snapshot table is dropped through a
                // second connection (WAL), as a new replica would start without any.
                // The replica writes its store too (feed cursors, behaviour): wait for its write lock.
                var configuration = Configuration()
                configuration.busyMode = .timeout(30)
                for replica in replicas {
                    let store = try DatabasePool(path: base.appendingPathComponent("\(replica.process.name).sqlite").path, configuration: configuration)
                    try await store.write { db in try db.execute(sql: "DELETE FROM snapshot") }
                    try store.close()
                }
            }
            Self.resetPeak("self")
            for replica in replicas { Self.resetPeak(replica.process.pid) }
            let cpuBefore = (matching.cpuSeconds(), ProcessFigures.cpuSeconds())
            print("-- run \(run)\(freshSnapshots ? " (snapshots fetched afresh)" : "")")
            started = clock.now
            var stage = ""
            var stageStarted = clock.now
            var summary: Crm_Matching_V1_ModelSummary?
            let stream = try await client.serverStreaming(Crm_Matching_V1_Matching.trainModel, Crm_Matching_V1_TrainModelRequest(),
                                                          options: .timeout(.seconds(Int64(timeout))))
            for try await progress in stream {
                let now = clock.now
                if progress.stage != stage {
                    if !stage.isEmpty { print(String(format: "   stage %@ took %.1f s", stage, (now - stageStarted).seconds)) }
                    stage = progress.stage
                    stageStarted = now
                }
                if progress.stage != "training" || progress.done % 100 == 0 || progress.done == progress.total {
                    print(String(format: "  %7.1f s  %@ %d/%d  replica RSS %d MiB", (now - started).seconds, progress.stage, progress.done, progress.total, matching.rssMiB()))
                }
                if progress.hasModel { summary = progress.model }
            }
            let total = (clock.now - started).seconds
            guard let summary else { throw ValidationError("training ended without a model") }
            print(String(format: "run %d: %.1f s; %d training rows (%d positives, %d negatives per positive), %d validation rows, %d trees, validation AUC %.3f",
                         run, total, summary.trainingRows, summary.trainingPositives, summary.negativesPerPositive, summary.validationRows, summary.trees, summary.validationAuc))
            print(String(format: "  peak RSS: replica %.0f MiB, this process (profiles, products) %.0f MiB; CPU: replica %.0f s, this process %.0f s",
                         ProcessFigures.memoryMiB("VmHWM", process: matching.pid), ProcessFigures.memoryMiB("VmHWM"),
                         matching.cpuSeconds() - cpuBefore.0, ProcessFigures.cpuSeconds() - cpuBefore.1))
            // The call's stream ends once the replica has handed back what the training used.
            print("  replica RSS after the call: \(matching.rssMiB()) MiB")
            if replicas.count > 1 {
                print("  peak RSS of the other groups' replicas: " + replicas.dropFirst().map {
                    String(format: "%.0f MiB", ProcessFigures.memoryMiB("VmHWM", process: $0.process.pid))
                }.joined(separator: ", ") + "; now " + replicas.map { "\($0.process.rssMiB())" }.joined(separator: " + ") + " MiB")
            }
            if summary.hasEvaluation, let first = summary.evaluation.model.first {
                print(String(format: "  held-out %@: precision@%d %.3f, lift %.1f", summary.heldOutMonth, first.k, first.precision, first.lift))
            }
        }
        if scoreLists > 0 {
            try await Self.timeScoring(client: client, replica: matching, world: world, customers: customers, lists: scoreLists, calls: scoreCalls)
        }
        for client in clients { await client.close() }
        for replica in replicas { replica.process.stop() }
        try await productsService.stop()
        try await profiles.stop()
    }

    /// The scoring aims with the model the runs trained (issue 14: a top-1,000 list p50 < 100 ms,
    /// recommendations p99 < 2 ms, replica < 2 GiB), timed as `crm-bench matching` times them with
    /// an imported model: the first list after the model change, the wait until the background
    /// pass has scored everyone, then `lists` lists and `calls` recommendations, one at a time.
    static func timeScoring(client: RPCClient, replica: ServiceExecutable, world: World, customers: Int, lists: Int, calls: Int) async throws {
        let clock = ContinuousClock()
        let codes = world.products.filter { $0.record.status == .onSale }.map(\.code)
        guard !codes.isEmpty else { throw ValidationError("the world has no product on sale") }
        let warming = try await MatchingScaleBench.firstListThenWarm(client, code: codes[0])
        print(String(format: "-- scoring with the trained model: first target list %.1f s", warming.firstList.seconds))
        print(String(format: "  every customer scored for every family %.1f s later; replica RSS %d MiB", warming.warm.seconds, replica.rssMiB()))
        let listTimes = try await MatchingScaleBench.timeLists(client, codes: codes, count: lists).millis
        var recommendTimes: [Double] = []
        for index in 0..<calls {
            let begin = clock.now
            _ = try await client.unary(Crm_Matching_V1_Matching.recommendProducts, Crm_Matching_V1_RecommendProductsRequest.with {
                $0.customerID = World.customerID((index * 104_729) % customers); $0.limit = 10
            })
            recommendTimes.append(MatchingScaleBench.millis(clock.now - begin))
        }
        print("| customers | top-1,000 list p50 / p99 | recommendations p50 / p99 | replica RSS |")
        print("|---|---|---|---|")
        print("| \(customers) | \(MatchingScaleBench.percentile(listTimes, 0.5)) / \(MatchingScaleBench.percentile(listTimes, 0.99)) ms | "
            + "\(MatchingScaleBench.percentile(recommendTimes, 0.5)) / \(MatchingScaleBench.percentile(recommendTimes, 0.99)) ms | \(replica.rssMiB()) MiB |")
    }

    /// Where profiles' change feed and behaviour events (views, contacts) end, as the replica's
    /// status adds them up: one store's, or with a file per partition the sum over the files (the
    /// replica follows each partition's feed and reports the sum of their positions).
    static func feedEnds(profiles: InProcessService<ProfilesService>, storePath: String, files: Bool) throws -> (changes: UInt64, events: Int64) {
        func ends(_ db: Database) throws -> (UInt64, Int64) {
            (try ChangeFeed.lastSequence(db), try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM event WHERE kind IN (6, 7)") ?? 0)
        }
        guard files else { return try profiles.database.read(ends) }
        let directory = ProfilesService.partitionFilesDirectory(ofStore: storePath)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sqlite") }.sorted()
        var total: (changes: UInt64, events: Int64) = (0, 0)
        for name in names {
            let file = try DatabasePool(path: directory.appendingPathComponent(name).path)
            let (changes, events) = try file.read(ends)
            try file.close()
            total = (total.changes + changes, total.events + events)
        }
        return total
    }

    /// Loads `world` unless `marker` says this folder already holds it, then folds the dimensions
    /// and writes the marker (also used by `profiles-as-of`). Customers, their status changes and
    /// assessments, the catalogue and the orders go through the services' RPCs; the events go
    /// straight into profiles' store (`appendSeededEvents`: the rows ingestion would write, one
    /// prepared INSERT per chunk) unless `eventsThroughRPCs`. The same world either way.
    static func loadWorld(_ world: World, customers: Int, marker: URL, profiles: InProcessService<ProfilesService>,
                          products: InProcessService<ProductsService>, token: String, eventsThroughRPCs: Bool = false) async throws {
        if FileManager.default.fileExists(atPath: marker.path) {
            print("reusing the world loaded in \(marker.deletingLastPathComponent().path)")
            return
        }
        let clock = ContinuousClock()
        var loader = WorldLoader(world: world, clients: .init(profiles: profiles.client(token: token), products: products.client(token: token)))
        let service = profiles.service
        if !eventsThroughRPCs {
            loader.directEvents = { chunk in
                var events = StoreSeeding.Events()
                for customer in chunk {
                    events.trades += customer.trades
                    events.fundTransfers += customer.fundTransfers
                    events.dailyPositions += customer.dailyPositions
                    events.marginAccounts += customer.marginAccounts
                    events.marginInterest += customer.marginInterest
                    events.serviceContacts += customer.serviceContacts
                    events.productViews += customer.productViews
                }
                try await service.appendSeededEvents(events)
            }
        }
        let started = clock.now
        try await loader.loadCatalogue()
        var events = 0, orders = 0
        for start in stride(from: 0, to: customers, by: 1_000) {
            let report = try await loader.loadCustomers(start..<min(customers, start + 1_000))
            events += report.events
            orders += report.orders
            if (start + 1_000) % 20_000 == 0 {
                print(String(format: "  loaded %d customers, %d events, %d orders, %.0f s", start + 1_000, events, orders, (clock.now - started).seconds))
            }
        }
        let loaded = (clock.now - started).seconds
        print(String(format: "loaded %d customers, %d events (%@), %d orders in %.1f s: %.0f events/s", customers, events,
                     eventsThroughRPCs ? "through the ingestion RPCs" : "straight into the store", orders, loaded, Double(events) / loaded))
        let folding = clock.now
        try await profiles.service.updateDimensions()
        print(String(format: "folded the dimensions in %.1f s; %.1f s in all", (clock.now - folding).seconds, (clock.now - started).seconds))
        _ = FileManager.default.createFile(atPath: marker.path, contents: Data())
    }

    /// The matching replicas: one holding every customer (`groups` 1, the store `matching.sqlite`),
    /// or one per partition group (`matching-g0`, …) on ports chosen first, each the others'
    /// sibling, with a topology file naming the groups over profiles' 64 partitions.
    static func startReplicas(groups: Int, executable: String, base: URL, token: String, peerToken: String,
                              peers: [String: Int], settings: [String: String]) async throws -> [(process: ServiceExecutable, port: Int)] {
        guard groups > 1 else {
            let matching = try ServiceExecutable(executable: executable, directory: base, adminTokenHash: TokenAuthenticator.hash(token: token),
                                                 peerToken: peerToken, peers: peers, settings: settings)
            return [(matching, try await matching.start())]
        }
        guard 64 % groups == 0 else { throw ValidationError("--groups must divide profiles' 64 partitions") }
        let reserved = try (0..<groups).map { _ in try ReservedPort() }
        let endpoints = reserved.map { "127.0.0.1:\($0.port)" }
        let run = 64 / groups
        let topology: [String: Any] = [
            "matching": endpoints,
            "partitions": ["count": 64, "epoch": 1, "owners": ["profiles-0": "0-63"]],
            "matching_groups": (0..<groups).map { ["partitions": "\($0 * run)-\(($0 + 1) * run - 1)", "replicas": [endpoints[$0]]] },
        ]
        let topologyFile = base.appendingPathComponent("topology-groups-\(groups).json")
        try JSONSerialization.data(withJSONObject: topology).write(to: topologyFile)
        var replicas: [(process: ServiceExecutable, port: Int)] = []
        for index in 0..<groups {
            let process = try ServiceExecutable(
                executable: executable, directory: base, name: "matching-g\(index)-of-\(groups)", adminTokenHash: TokenAuthenticator.hash(token: token),
                peerToken: peerToken, peers: peers, siblings: endpoints.enumerated().filter { $0.offset != index }.map(\.element),
                settings: settings.merging(["groups.topology": topologyFile.path, "groups.replica": endpoints[index]]) { $1 })
            reserved[index].release()
            replicas.append((process, try await process.start(port: reserved[index].port)))
        }
        return replicas
    }

    /// Resets a process's peak resident size (VmHWM) to its current one (proc(5), clear_refs 5).
    static func resetPeak(_ process: String) {
        try? "5".write(toFile: "/proc/\(process)/clear_refs", atomically: false, encoding: .utf8)
    }

}
