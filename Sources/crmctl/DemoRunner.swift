import CRMProfilesClient
import CRMProtos
import CRMReport
import CRMRPC
import CRMWorld
import CRMWorldLoader
import Foundation
import Synchronization

/// The demo's settings as plain values (the command-line options, resolved).
struct DemoSettings: Sendable {
    var customers: Int
    var seed: UInt64
    var statePath: String
    var chunkSize: Int
    /// nil: the matching service's default.
    var trees: Int?
    var retrain: Bool
    /// Chunks loaded side by side: one is being generated while the other waits on the services.
    var parallelChunks = 2
    /// Stop after this many chunks of this run and wait for Ctrl-C; nil: load everything.
    var pauseAfterChunks: Int? = nil
}

/// Runs the demo against the services of a topology: load (resumable) profiles, products and
/// compensation, wait for matching, train, wait for compensation and settle the generated months,
/// walk through.
struct DemoRunner: Sendable {
    let settings: DemoSettings
    let topology: Topology
    let token: String?
    let security: ClientSecurity
    /// What the loading has reached, for the note printed on Ctrl-C.
    let reached = LoadingReached()

    /// `certs`: the folder whose CA the services' certificates chain to (crmctl up's `--certs`).
    init(options: DemoOptions, cluster: ClusterOptions, certs: String? = nil) throws {
        settings = DemoSettings(
            customers: options.customers, seed: options.seed, statePath: options.statePath(dataDir: cluster.dataDir),
            chunkSize: options.effectiveChunkSize, trees: options.trees, retrain: options.retrain,
            pauseAfterChunks: options.pauseAfterChunks
        )
        topology = try cluster.loadTopology()
        token = cluster.effectiveToken
        security = try cluster.clientSecurity(certs: certs)
    }

    func interruptionNote() -> String {
        let (loaded, total) = reached.withLock { $0 }
        let progress = total > 0 ? " (\(Format.count(loaded)) of \(Format.count(total)) customers loaded)" : ""
        return "interrupted\(progress); finished chunks are recorded in \(settings.statePath): run the same command again to resume"
    }

    func run() async throws {
        let started = ContinuousClock.now
        let clients = try await DemoClients.connect(topology: topology, security: security, token: token, preferredMatching: try DemoState.load(path: settings.statePath)?.matchingEndpoint)
        defer { Task { await clients.close() } }
        let world = World(WorldConfiguration(customers: settings.customers, seed: settings.seed))
        var state = try await prepareState(world: world, clients: clients)
        let loadedNow = try await load(world: world, state: &state, clients: clients)
        let compensation = CompensationSteps(world: world, clients: clients, settings: settings)
        try await compensation.load(state: &state)
        try await waitForMatching(world: world, state: state, clients: clients)
        let model = try await trainIfNeeded(clients: clients, loadedThisRun: loadedNow)
        if topology.matchingGroups != nil { try await waitForModel(model.version, clients: clients) }
        // Compensation follows the feeds while the model trains; settle once it has everything.
        try await compensation.waitUntilCaughtUp()
        try await compensation.settleMonths()
        let walkthrough = Walkthrough(world: world, clients: clients, settings: settings, model: model)
        state = try await walkthrough.run(state: state)
        try state.save(path: settings.statePath)
        Console.note("demo finished in \(ProgressLine.duration((ContinuousClock.now - started).seconds)); `crmctl report --html report.html` writes the head-office report")
    }

    // MARK: State

    /// The state file's record of this world, checked against what the services hold; a fresh one
    /// when there is none or the services were emptied since.
    func prepareState(world: World, clients: DemoClients) async throws -> DemoState {
        guard var state = try DemoState.load(path: settings.statePath) else {
            return DemoState(customers: settings.customers, seed: settings.seed, chunkSize: settings.chunkSize)
        }
        guard state.customers == settings.customers, state.seed == settings.seed else {
            throw CRMCtlError("""
            \(settings.statePath) records a brokerage of \(state.customers) customers with seed \(state.seed), not \(settings.customers) with seed \(settings.seed).
            To resume it: crmctl demo --customers \(state.customers) --seed \(state.seed). To load another one, start from empty services \
            (stop them, remove the data folder) or give another --state file.
            """)
        }
        // The services may have been emptied since (a new data folder): then the record is stale.
        if let highest = state.chunks.keys.max() {
            let last = World.customerID(state.range(ofChunk: highest).upperBound - 1)
            if try await !clients.customerExists(last) {
                Console.note("the services do not hold \(last), which \(settings.statePath) records as loaded: loading from the start")
                state = DemoState(customers: settings.customers, seed: settings.seed, chunkSize: state.chunkSize)
                state.matchingEndpoint = nil
            }
        }
        state.campaigns.removeAll { record in !clients.matchingEndpoints.contains { $0.description == record.matchingEndpoint } }
        return state
    }

    // MARK: Loading

    /// Loads the catalogue and every chunk not yet recorded, saving the state after each; returns
    /// whether anything was loaded.
    func load(world: World, state: inout DemoState, clients: DemoClients) async throws -> Bool {
        let loader = WorldLoader(world: world, clients: .init(profiles: clients.profiles, products: clients.products))
        reached.withLock { $0 = (state.customersLoaded, state.customers) }
        var loadedSomething = false
        if !state.catalogueLoaded {
            Console.note("loading the product library: \(Format.count(world.products.count)) products and their contract templates…")
            try await loader.loadCatalogue()
            state.catalogueLoaded = true
            try state.save(path: settings.statePath)
            loadedSomething = true
        }
        let pending = state.pendingChunks
        guard !pending.isEmpty else {
            Console.note("all \(Format.count(state.customers)) customers are loaded already (\(settings.statePath))")
            return loadedSomething
        }
        if state.customersLoaded > 0 {
            Console.note("resuming: \(Format.count(state.customersLoaded)) of \(Format.count(state.customers)) customers were loaded by an earlier run")
        }
        Console.note("loading \(Format.count(state.customers - state.customersLoaded)) customers in chunks of \(state.chunkSize) through profiles and products (trades, transfers, positions, margin, contacts, views, orders)…")
        let display = ProgressDisplay(total: state.customers, alreadyDone: state.customersLoaded)
        let ticker = Task { await display.tick() }
        defer { ticker.cancel() }
        let ranges = Dictionary(uniqueKeysWithValues: pending.map { ($0, state.range(ofChunk: $0)) })
        // At most `pauseAfterChunks` chunks are started in this run.
        let limit = min(pending.count, settings.pauseAfterChunks ?? pending.count)
        try await withThrowingTaskGroup(of: (Int, WorldLoader.ChunkReport).self) { group in
            var next = pending.prefix(limit).makeIterator()
            for _ in 0..<settings.parallelChunks {
                guard let index = next.next(), let range = ranges[index] else { break }
                group.addTask { (index, try await loader.loadCustomers(range)) }
            }
            while let (index, report) = try await group.next() {
                state.chunks[index] = DemoState.Chunk(customers: report.customers, events: report.events, orders: report.orders)
                try state.save(path: settings.statePath)
                display.add(customers: report.customers, events: report.events)
                reached.withLock { $0.loaded = state.customersLoaded }
                if let index = next.next(), let range = ranges[index] {
                    group.addTask { (index, try await loader.loadCustomers(range)) }
                }
            }
        }
        display.finish()
        if limit < pending.count {
            Console.note("paused after \(limit) chunks of this run (recorded in \(settings.statePath)); press Ctrl-C to stop here, and run the same command again to resume")
            while true { try await Task.sleep(for: .seconds(3_600)) }
        }
        return true
    }

    // MARK: Matching's copy

    /// Waits until every matching replica holds every customer, product and order and has read both
    /// feeds to their current end.
    func waitForMatching(world: World, state: DemoState, clients: DemoClients) async throws {
        let products = UInt64(world.products.count), orders = UInt64(state.ordersLoaded)
        // A replica of a matching group holds its partitions' customers and follows only their feeds.
        let groups = topology.matchingGroups
        var groupCustomers: [Int: UInt64] = [:]
        if let groups {
            for index in 0..<world.configuration.customers { groupCustomers[groups.group(ofCustomer: World.customerID(index)), default: 0] += 1 }
        }
        Console.note("waiting until matching's copy holds every customer, product and order…")
        try await Console.waitUntil(failure: "matching did not catch up within 30 minutes") {
            var lines: [String] = []
            var allCaughtUp = true
            for (endpoint, client) in clients.matchingReplicas {
                let group = groups?.group(ofReplica: endpoint.description)
                let customers = group.map { groupCustomers[$0] ?? 0 } ?? UInt64(world.configuration.customers)
                let follows: (ProfilesOwner) -> Bool = { owner in
                    guard let groups, let group, let partition = owner.partition else { return true }
                    return groups.group(ofPartition: partition) == group
                }
                guard let status = try? await client.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest(), options: .timeout(.seconds(10))).status
                else {
                    allCaughtUp = false
                    lines.append("matching \(endpoint): not answering")
                    continue
                }
                var caughtUp = status.ready && status.customers >= customers && status.products >= products && status.purchases >= orders
                if caughtUp {
                    // Each profiles owner's change feed and event log (views and contacts) read to its end:
                    // `profiles_sequence` and `events_sequence` in the replica's health details, per
                    // owner (`.<owner>`) when there are several.
                    let details = (try? await clients.healthDetails(of: client)) ?? [:]
                    func position(_ key: String) -> UInt64? { details[key].flatMap { UInt64($0) } }
                    caughtUp = try await clients.profilesFeedsEnd(of: follows) { position($0.cursor("profiles_sequence")) }
                    if caughtUp {
                        caughtUp = try await clients.profilesEventLogsEnd(types: [.productView, .serviceContact], of: follows) { position($0.cursor("events_sequence")) }
                    }
                    if caughtUp { caughtUp = try await clients.productsFeedEnds(after: status.productsSequence) }
                }
                allCaughtUp = allCaughtUp && caughtUp
                lines.append("matching \(endpoint): \(Format.count(status.customers))/\(Format.count(customers)) customers · "
                             + "\(Format.count(status.products))/\(Format.count(products)) products · "
                             + "\(Format.count(status.purchases))/\(Format.count(orders)) orders\(caughtUp ? " · ready" : "")")
            }
            return (lines, allCaughtUp)
        }
    }

    // MARK: The model

    /// With matching groups every group ranks its own customers, and a list across groups is
    /// answered only once every replica scores with the same model: waits until each has copied it.
    func waitForModel(_ version: String, clients: DemoClients) async throws {
        Console.note("waiting until every matching replica scores with \(version)…")
        try await Console.waitUntil(failure: "the model did not reach every matching replica within 30 minutes") {
            var lines: [String] = []
            var all = true
            for (endpoint, client) in clients.matchingReplicas {
                let status = try? await client.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest(), options: .timeout(.seconds(10))).status
                let current = status?.modelVersion == version
                all = all && current
                lines.append("matching \(endpoint): \(status?.modelVersion ?? "not answering")\(current ? " · current" : "")")
            }
            return (lines, all)
        }
    }

    /// The current model when nothing was loaded since it was trained, else a new one, with the
    /// training's progress on standard error.
    func trainIfNeeded(clients: DemoClients, loadedThisRun: Bool) async throws -> Crm_Matching_V1_ModelSummary {
        if !settings.retrain, !loadedThisRun,
           let current = try? await clients.matching.unary(Crm_Matching_V1_Matching.getModel, Crm_Matching_V1_GetModelRequest()).model, !current.version.isEmpty {
            Console.note("using the current model \(current.version) (nothing was loaded since; --retrain trains a new one)")
            return current
        }
        Console.note("training the propensity model on matching \(clients.matchingEndpoint) (\(settings.trees.map { "\($0)" } ?? "up to 1,500") boosted trees, a year of history, held-out month last)…")
        let stream = try await clients.matching.serverStreaming(
            Crm_Matching_V1_Matching.trainModel, Crm_Matching_V1_TrainModelRequest.with { $0.trees = UInt32(settings.trees ?? 0) }, options: .timeout(.seconds(7_200))
        )
        var summary: Crm_Matching_V1_ModelSummary?
        let live = Console.isTerminal
        var lastStage = ""
        for try await progress in stream {
            var line = "training · \(progress.stage) \(progress.done)/\(progress.total)"
            if progress.trainLoss > 0 { line += " · train loss \(Format.decimal(progress.trainLoss, places: 4))" }
            if progress.validationLoss > 0 { line += " · validation loss \(Format.decimal(progress.validationLoss, places: 4))" }
            if live {
                Console.status(line)
            } else if progress.stage != lastStage {
                Console.note(line)
            }
            lastStage = progress.stage
            if progress.hasModel { summary = progress.model }
        }
        if live { Console.endStatus() }
        guard let summary else { throw CRMCtlError("training ended without a model") }
        Console.note("model \(summary.version): \(Format.count(summary.trainingRows)) rows from \(summary.trainingMonths.first ?? "?")…\(summary.trainingMonths.last ?? "?"), "
                     + "validation AUC \(Format.decimal(summary.validationAuc, places: 3)), \(Format.decimal(summary.seconds, places: 1)) s")
        return summary
    }
}

/// How many customers are loaded of how many, shared with the Ctrl-C handler.
final class LoadingReached: Sendable {
    private let value = Mutex<(loaded: Int, total: Int)>((0, 0))

    func withLock<T>(_ body: (inout (loaded: Int, total: Int)) -> T) -> T {
        value.withLock { body(&$0) }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
