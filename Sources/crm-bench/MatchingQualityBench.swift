import ArgumentParser
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMWorld
import CRMWorldLoader
import Foundation
import MatchingService
import ProductsService
import ProfilesService

/// How close the propensity model comes to the best possible target list. A generated world is
/// loaded through the services' RPCs, the model is trained through matching's TrainModel, and for
/// the held-out month's most-bought products the model's top K (from EvaluateModel) is scored with
/// the world's recorded true probabilities: expected precision@K (the mean true probability of the
/// list) as a ratio to the best list's (customers ranked by their true probability), beside the
/// realised hit rates and the random and richest-first baselines.
struct MatchingQualityBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching-quality",
        abstract: "Propensity model quality on a generated world: precision@K, lift, and expected precision against the best possible list."
    )

    @Option(help: "Customers in the generated world.")
    var customers: Int = 20_000

    @Option(help: "World seed.")
    var seed: UInt64 = 20_261_129

    @Option(help: "Trees (gradient-boosted trees).")
    var trees: UInt32 = 150

    @Option(help: "Tree depth.")
    var depth: UInt32 = 5

    @Flag(help: "Also train and report L2-regularised logistic regression.")
    var logistic = false

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-quality-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = "bench"
        let tokens: [TokenAuthenticator.Entry] = [.init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"]))]
        let clock = ContinuousClock()
        let world = World(WorldConfiguration(customers: customers, seed: seed))

        let profiles = try await InProcessService<ProfilesService>.start(databasePath: dir.appendingPathComponent("profiles.sqlite").path, tokens: tokens, runBackground: true)
        let products = try await InProcessService<ProductsService>.start(databasePath: dir.appendingPathComponent("products.sqlite").path, tokens: tokens)
        let matching = try await InProcessService<MatchingService>.start(
            databasePath: dir.appendingPathComponent("matching.sqlite").path, tokens: tokens, settings: ["feed.page": "5000"],
            peers: ["profiles": profiles.client(token: token), "products": products.client(token: token)], runBackground: true
        )
        let loader = WorldLoader(world: world, clients: .init(profiles: profiles.client(token: token), products: products.client(token: token)))
        var started = clock.now
        try await loader.loadCatalogue()
        var events = 0, orders = 0
        for start in stride(from: 0, to: customers, by: 1_000) {
            let report = try await loader.loadCustomers(start..<min(customers, start + 1_000))
            events += report.events
            orders += report.orders
        }
        let loadSeconds = Self.seconds(clock.now - started)
        print("loaded \(customers) customers, \(events) events, \(orders) orders in \(String(format: "%.1f", loadSeconds)) s (\(Int(Double(events) / loadSeconds)) events/s through the RPCs)")
        started = clock.now
        try await profiles.service.updateDimensions()
        let (profilesLast, productsLast) = try await (profiles.database.read { try ChangeFeed.lastSequence($0) }, products.database.read { try ChangeFeed.lastSequence($0) })
        while true {
            let status = matching.service.replicaStatus()
            if status.profilesSequence >= profilesLast && status.productsSequence >= productsLast { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        print("dimensions folded and matching caught up in \(String(format: "%.1f", Self.seconds(clock.now - started))) s")

        let client = matching.client(token: token)
        var kinds: [Crm_Matching_V1_ModelKind] = [.boostedTrees]
        if logistic { kinds.append(.logisticRegression) }
        let month = world.configuration.heldOutMonth
        // Each customer once: the true probabilities are read from the generated customers.
        var generated: [GeneratedCustomer] = []
        generated.reserveCapacity(customers)
        for index in 0..<customers { generated.append(world.customer(at: index)) }
        var rows: [String] = []
        for kind in kinds {
            started = clock.now
            let progress = try await client.serverStreaming("/crm.matching.v1.Matching/TrainModel", Crm_Matching_V1_TrainModelRequest.with {
                $0.kind = kind; $0.trees = trees; $0.depth = depth
            }, as: Crm_Matching_V1_TrainingProgress.self, options: .timeout(.seconds(3_600))).collect()
            guard let summary = progress.last?.model else { throw RPCError(.internal, "training ended without a model") }
            print("\(kind): trained in \(String(format: "%.1f", Self.seconds(clock.now - started))) s on \(summary.trainingRows) rows, validation AUC \(String(format: "%.3f", summary.validationAuc)), months \(summary.trainingMonths.joined(separator: ",")) → held out \(summary.heldOutMonth)")
            let evaluation = try await client.unary("/crm.matching.v1.Matching/EvaluateModel", Crm_Matching_V1_EvaluateModelRequest.with {
                $0.version = summary.version; $0.k = [100, 500]; $0.products = 10; $0.includeRankings = true
            }, as: Crm_Matching_V1_EvaluateModelResponse.self, options: .timeout(.seconds(3_600))).evaluation
            for (position, k) in [100, 500].enumerated() {
                var ratios: [Double] = [], randomRatios: [Double] = [], richestRatios: [Double] = []
                for product in evaluation.products {
                    guard let record = world.product(code: product.productCode) else { continue }
                    let truth = generated.map { world.trueProbability(of: $0, product: record, month: month) }
                    let best = truth.sorted(by: >).prefix(k).reduce(0, +) / Double(k)
                    func expected(_ ids: [String]) -> Double {
                        ids.prefix(k).reduce(0) { $0 + (world.customerIndex(of: $1).map { truth[$0] } ?? 0) } / Double(k)
                    }
                    guard best > 0 else { continue }
                    ratios.append(expected(product.modelRanking) / best)
                    randomRatios.append(expected(product.randomRanking) / best)
                    richestRatios.append(expected(product.richestRanking) / best)
                }
                let model = evaluation.model[position], random = evaluation.random[position], richest = evaluation.richest[position]
                rows.append("| \(kind == .logisticRegression ? "logistic" : "trees") | \(k) | \(Self.f(Self.mean(ratios))) | \(Self.f(Self.mean(randomRatios))) | \(Self.f(Self.mean(richestRatios))) | \(Self.f(model.precision)) / \(Self.f(random.precision)) / \(Self.f(richest.precision)) | \(Self.f(model.recall)) | \(Self.f(model.lift)) / \(Self.f(random.lift)) / \(Self.f(richest.lift)) |")
            }
        }
        print("")
        print("| model | K | expected precision ÷ best: model | random | richest | hit rate (precision@K) model / random / richest | recall@K model | lift model / random / richest |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows { print(row) }
        await client.close()
        try await matching.stop()
        try await products.stop()
        try await profiles.stop()
    }

    static func f(_ value: Double) -> String { String(format: "%.3f", value) }
    static func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
