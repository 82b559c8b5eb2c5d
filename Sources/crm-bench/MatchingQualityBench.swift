import CRMTestSupport
import ArgumentParser
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMWorld
import CRMWorldLoader
import Foundation
import GRDB
import MatchingService
import ProductsService
import ProfilesService

/// How close the propensity model comes to the best possible target list, on worlds of both buying
/// laws (``WorldLaw``). Each world is loaded through the services' RPCs, the model and a logistic
/// regression are trained through matching's TrainModel, and for the held-out month's 20
/// most-bought products each list's top K (from EvaluateModel) is scored with the world's recorded
/// true probabilities: expected precision@K (the mean true probability of the list) as a ratio to
/// the best list's (customers ranked by their true probability). Beside the model: logistic
/// regression, richest first, random, and the ceiling — customers ranked by what could be known
/// at the month's start (under the behaviour law, the probability without the month's unobserved
/// noise; under the observed-state law that is the truth itself).
struct MatchingQualityBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching-quality",
        abstract: "Propensity model quality on generated worlds of both buying laws: expected precision against the best possible list, beside logistic regression, the baselines and the ceiling."
    )

    @Option(help: "Customers in each generated world.")
    var customers: Int = 20_000

    @Option(help: "World seed.")
    var seed: UInt64 = 20_261_129

    @Option(help: "Which worlds: observed-state, behaviour, or both.")
    var law: String = "both"

    @Option(help: "Products in the library (default: the observed-state world's own default; 300 for the behaviour world).")
    var products: Int?

    @Option(help: "Most-bought products of the held-out month to evaluate.")
    var evaluated: UInt32 = 20

    @Option(help: "Trees (gradient-boosted trees); 0 = the service's default.")
    var trees: UInt32 = 0

    @Option(help: "Tree depth; 0 = the service's default.")
    var depth: UInt32 = 0

    @Option(help: "Training months (the last validates); 0 = the service's default.")
    var trainingMonths: UInt32 = 0

    @Option(help: "Negative rows kept per positive; 0 = the service's default.")
    var negatives: UInt32 = 0

    @Flag(help: "Print the figures of each evaluated product.")
    var verbose = false

    @Option(help: "A folder for the stores (a subfolder per world), kept afterwards; a world already loaded there is reused.")
    var folder: String?

    @Option(help: "A further training run, as comma-separated key=value (months, trees, depth, negatives, rate, kind=trees|logistic); repeatable.")
    var variant: [String] = []

    func run() async throws {
        let laws: [WorldLaw]
        switch law {
        case "both": laws = [.observedState, .behaviour]
        default:
            guard let one = WorldLaw(rawValue: law) else { throw ValidationError("--law must be observed-state, behaviour or both") }
            laws = [one]
        }
        var rows: [String] = []
        for law in laws { rows += try await runWorld(law) }
        print("")
        print("| world | model | K | expected precision ÷ best | hit rate (precision@K) | recall@K | lift |")
        print("|---|---|---|---|---|---|---|")
        for row in rows { print(row) }
    }

    /// Loads (or reuses) one world, trains and evaluates; returns its table rows.
    func runWorld(_ law: WorldLaw) async throws -> [String] {
        let base = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-quality-bench-\(UUID().uuidString)")
        let dir = base.appendingPathComponent(law.rawValue)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if folder == nil { try? FileManager.default.removeItem(at: base) } }
        let productCount = products ?? (law == .behaviour ? 300 : nil)
        let marker = dir.appendingPathComponent("loaded-\(customers)-\(seed)-\(productCount.map(String.init) ?? "default")")
        let reuse = FileManager.default.fileExists(atPath: marker.path)
        let token = "bench"
        let tokens: [TokenAuthenticator.Entry] = [.init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"]))]
        let clock = ContinuousClock()
        let world = World(WorldConfiguration(customers: customers, seed: seed, products: productCount, law: law))
        print("== world \(law.rawValue): \(customers) customers, \(world.products.count) products, seed \(seed)")

        let profiles = try await InProcessService<ProfilesService>.start(databasePath: dir.appendingPathComponent("profiles.sqlite").path, tokens: tokens, runBackground: true)
        let products = try await InProcessService<ProductsService>.start(databasePath: dir.appendingPathComponent("products.sqlite").path, tokens: tokens)
        let matching = try await InProcessService<MatchingService>.start(
            databasePath: dir.appendingPathComponent("matching.sqlite").path, tokens: tokens, settings: ["feed.page": "5000"],
            peers: ["profiles": profiles.peerClient(token: token), "products": products.peerClient(token: token)], runBackground: true
        )
        let loader = WorldLoader(world: world, clients: .init(profiles: profiles.client(token: token), products: products.client(token: token)))
        var started = clock.now
        if reuse {
            print("reusing the world loaded in \(dir.path)")
        } else {
            try await loader.loadCatalogue()
            var events = 0, orders = 0
            for start in stride(from: 0, to: customers, by: 1_000) {
                let report = try await loader.loadCustomers(start..<min(customers, start + 1_000))
                events += report.events
                orders += report.orders
            }
            let loadSeconds = (clock.now - started).seconds
            print("loaded \(customers) customers, \(events) events, \(orders) orders in \(String(format: "%.1f", loadSeconds)) s (\(Int(Double(events) / loadSeconds)) events/s through the RPCs)")
        }
        started = clock.now
        try await profiles.service.updateDimensions()
        let (profilesLast, productsLast) = try await (profiles.database.read { try ChangeFeed.lastSequence($0) }, products.database.read { try ChangeFeed.lastSequence($0) })
        let eventsLast = try await profiles.database.read { try Int64.fetchOne($0, sql: "SELECT COALESCE(MAX(id), 0) FROM event WHERE kind IN (6, 7)") ?? 0 }
        while true {
            let status = matching.service.replicaStatus()
            if status.profilesSequence >= profilesLast && status.productsSequence >= productsLast && status.eventsSequence >= UInt64(eventsLast) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        print("dimensions folded and matching caught up in \(String(format: "%.1f", (clock.now - started).seconds)) s")
        if folder != nil { _ = FileManager.default.createFile(atPath: marker.path, contents: Data()) }

        let client = matching.client(token: token)
        let trained = Crm_Matching_V1_TrainModelRequest.with {
            $0.kind = .boostedTrees; $0.trees = trees; $0.depth = depth
            $0.trainingMonths = trainingMonths; $0.negativesPerPositive = negatives
        }
        var requests = [("trees", trained), ("logistic", Crm_Matching_V1_TrainModelRequest.with {
            $0.kind = .logisticRegression; $0.trainingMonths = trainingMonths; $0.negativesPerPositive = negatives
        })]
        for text in variant { requests.append((text, try Self.request(text, base: trained))) }
        let month = world.configuration.heldOutMonth
        // Each customer once: the true probabilities are read from the generated customers.
        var generated: [GeneratedCustomer] = []
        generated.reserveCapacity(customers)
        for index in 0..<customers { generated.append(world.customer(at: index)) }
        if verbose && law == .observedState { try await Self.compareStates(world: world, generated: generated, month: month, profiles: profiles.client(token: token)) }
        var rows: [String] = []
        var baselinesShown = false
        for (label, request) in requests {
            started = clock.now
            let progress = try await client.serverStreaming(Crm_Matching_V1_Matching.trainModel, request, options: .timeout(.seconds(3_600))).collect()
            guard let summary = progress.last?.model else { throw RPCError(.internal, "training ended without a model") }
            print("\(label): \(summary.trees) trees, trained in \(String(format: "%.1f", (clock.now - started).seconds)) s on \(summary.trainingRows) rows (\(summary.trainingPositives) positives, \(summary.negativesPerPositive) negatives per positive; \(summary.validationRows) validation rows), validation AUC \(String(format: "%.3f", summary.validationAuc)), months \(summary.trainingMonths.joined(separator: ",")) → held out \(summary.heldOutMonth)")
            if verbose { print("  top features: " + summary.topFeatures.prefix(10).map { "\($0.feature) \(String(format: "%.3f", $0.gain))" }.joined(separator: ", ")) }
            let evaluation = try await client.unary(Crm_Matching_V1_Matching.evaluateModel, Crm_Matching_V1_EvaluateModelRequest.with {
                $0.version = summary.version; $0.k = [100, 500]; $0.products = evaluated; $0.includeRankings = true
            }, options: .timeout(.seconds(3_600))).evaluation
            if !baselinesShown { print("held-out month \(evaluation.heldOutMonth): \(evaluation.orders) orders by \(evaluation.buyers) buyers; \(evaluation.products.count) products evaluated") }
            let weights = try await client.unary(Crm_Matching_V1_Matching.exportModel, Crm_Matching_V1_ExportModelRequest.with {
                $0.version = summary.version
            }).productWeights
            // Each product's truth and reference orders once, then the figures at each K.
            let lists = evaluation.products.compactMap { product in
                world.product(code: product.productCode).map { ProductLists(product: product, record: $0, world: world, generated: generated, month: month, weights: weights) }
            }
            for (position, k) in [100, 500].enumerated() {
                var ratios: [Double] = [], randomRatios: [Double] = [], richestRatios: [Double] = [], ceilingRatios: [Double] = []
                for list in lists {
                    let best = list.expected(list.best, k)
                    guard best > 0 else { continue }
                    ratios.append(list.expected(list.model, k) / best)
                    randomRatios.append(list.expected(list.random, k) / best)
                    richestRatios.append(list.expected(list.richest, k) / best)
                    ceilingRatios.append(list.expected(list.ceiling, k) / best)
                    if verbose {
                        if law == .observedState, list.product.productCode == evaluation.products.first?.productCode { list.printTerms(k, generated: generated, month: month) }
                        // Under the observed-state law: what a perfect family propensity reaches alone and
                        // with the product's share as the model estimates it (where a gap comes from).
                        let references = law == .observedState
                            ? ", true propensity alone \(Self.f(list.expected(list.byPropensity, k) / best)), × estimated share \(Self.f(list.expected(list.byEstimatedShare, k) / best))" : ""
                        print("    K=\(k) \(list.record.code) \(list.record.family) eligible \(list.product.eligible) buyers \(list.product.buyers): \(label) \(Self.f(ratios.last ?? 0)), ceiling \(Self.f(ceilingRatios.last ?? 0))\(references)")
                    }
                }
                let model = evaluation.model[position]
                print("  K=\(k): \(label) \(Self.f(Self.mean(ratios))) of the best list (ceiling \(Self.f(Self.mean(ceilingRatios))), richest first \(Self.f(Self.mean(richestRatios))), random \(Self.f(Self.mean(randomRatios))))")
                rows.append("| \(law.rawValue) | \(label) | \(k) | \(Self.f(Self.mean(ratios))) | \(Self.f(model.precision)) | \(Self.f(model.recall)) | \(Self.f(model.lift)) |")
                if !baselinesShown {
                    let random = evaluation.random[position], richest = evaluation.richest[position]
                    rows.append("| \(law.rawValue) | richest first | \(k) | \(Self.f(Self.mean(richestRatios))) | \(Self.f(richest.precision)) | \(Self.f(richest.recall)) | \(Self.f(richest.lift)) |")
                    rows.append("| \(law.rawValue) | random | \(k) | \(Self.f(Self.mean(randomRatios))) | \(Self.f(random.precision)) | \(Self.f(random.recall)) | \(Self.f(random.lift)) |")
                    rows.append("| \(law.rawValue) | ceiling (known at the month's start) | \(k) | \(Self.f(Self.mean(ceilingRatios))) | | | |")
                }
            }
            baselinesShown = true
        }
        await client.close()
        try await matching.stop()
        try await products.stop()
        try await profiles.stop()
        return rows
    }

    /// How often the state the purchase law read (the generator's ``ObservedState``) differs from
    /// what profiles computes for the same day: the model can only learn the law from the latter.
    static func compareStates(world: World, generated: [GeneratedCustomer], month: Int, profiles: RPCClient) async throws {
        let asOf = world.configuration.month(month).firstDay - 1
        let stream = try await profiles.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
            $0.asOf = WorldDays.date(asOf)
        }, options: .timeout(.seconds(3_600))).collect()
        var differing: [String: Int] = [:]
        var examples: [String: String] = [:]
        var compared = 0
        for dimensions in stream {
            guard let index = world.customerIndex(of: dimensions.customerID) else { continue }
            // Only customers who may buy that month: for the others the law gives 0 whatever it reads.
            guard generated[index].months[month].eligible else { continue }
            compared += 1
            for difference in generated[index].months[month].state.differences(from: dimensions) {
                differing[difference.name, default: 0] += 1
                if examples[difference.name] == nil {
                    examples[difference.name] = "\(dimensions.customerID): law \(difference.law), profiles \(difference.served)"
                }
            }
        }
        print("law state vs profiles' dimensions as of \(WorldDays.civil(asOf)): \(compared) customers who may buy in the month after")
        for (name, count) in differing.sorted(by: { $0.key < $1.key }) { print("  \(name): \(count) differ, e.g. \(examples[name] ?? "")") }
    }

    /// A variant's request: `base` with the given keys changed.
    static func request(_ text: String, base: Crm_Matching_V1_TrainModelRequest) throws -> Crm_Matching_V1_TrainModelRequest {
        var request = base
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("variant \(text): \(pair) is not key=value") }
            if parts[0] == "kind" {
                request.kind = parts[1] == "logistic" ? .logisticRegression : .boostedTrees
                continue
            }
            if parts[0] == "rate" {
                guard let rate = Double(parts[1]) else { throw ValidationError("variant \(text): \(parts[1]) is not a number") }
                request.learningRate = rate
                continue
            }
            guard let value = UInt32(parts[1]) else { throw ValidationError("variant \(text): \(parts[1]) is not a number") }
            switch parts[0] {
            case "months": request.trainingMonths = value
            case "trees": request.trees = value
            case "depth": request.depth = value
            case "negatives": request.negativesPerPositive = value
            default: throw ValidationError("variant \(text): unknown key \(parts[0])")
            }
        }
        return request
    }

    static func f(_ value: Double) -> String { String(format: "%.3f", value) }
    static func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
}

/// One evaluated product's lists as customer indices, with every customer's true probability of
/// buying it in the held-out month: the model's, the baselines' and the best list (from the
/// evaluation), and two references built from the truth — customers ranked by their true family
/// propensity alone (a perfect propensity with no notion of the product's share), and by it times
/// the product's share as the model estimates it (its weights over what each customer may buy).
struct ProductLists {
    let product: Crm_Matching_V1_ProductEvaluation
    let record: GeneratedProduct
    let truth: [Double]
    let model: [Int], random: [Int], richest: [Int]
    let best: [Int], byPropensity: [Int], byEstimatedShare: [Int]
    /// Customers ranked by what could be known at the month's start (``World/knowableProbability(of:product:month:)``).
    let ceiling: [Int]

    init(product: Crm_Matching_V1_ProductEvaluation, record: GeneratedProduct, world: World, generated: [GeneratedCustomer], month: Int,
         weights: [String: Double]) {
        self.product = product
        self.record = record
        let truth = generated.map { world.trueProbability(of: $0, product: record, month: month) }
        self.truth = truth
        func indices(_ ids: [String]) -> [Int] { ids.compactMap { world.customerIndex(of: $0) } }
        model = indices(product.modelRanking)
        random = indices(product.randomRanking)
        richest = indices(product.richestRanking)
        best = truth.indices.sorted { truth[$0] > truth[$1] }
        let knowable = generated.map { world.knowableProbability(of: $0, product: record, month: month) }
        ceiling = truth.indices.sorted { knowable[$0] > knowable[$1] }
        let family = record.family
        let canBuy = truth.indices.filter { truth[$0] > 0 }
        func propensity(_ index: Int) -> Double { generated[index].familyPropensity(family, month: month) }
        byPropensity = canBuy.sorted { propensity($0) > propensity($1) }
        let familyProducts = world.products.filter { $0.family == family && $0.isPurchasable(inMonth: month) }
        var shareOfProfile: [SuitabilityProfile: Double] = [:]
        func share(_ index: Int) -> Double {
            guard let profile = generated[index].profile else { return 0 }
            if let known = shareOfProfile[profile] { return known }
            let total = familyProducts.filter { WorldSuitability.matches(profile, $0.record) }.reduce(0) { $0 + (weights[$1.code] ?? 0.5) }
            let share = total > 0 ? (weights[record.code] ?? 0.5) / total : 0
            shareOfProfile[profile] = share
            return share
        }
        byEstimatedShare = canBuy.map { ($0, propensity($0) * share($0)) }.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// Expected precision of a list's top `k`: the mean true probability of its customers.
    func expected(_ list: [Int], _ k: Int) -> Double {
        list.prefix(k).reduce(0) { $0 + truth[$1] } / Double(k)
    }

    /// Which terms of the law the model's and the best list's top `k` hold, and how often.
    func printTerms(_ k: Int, generated: [GeneratedCustomer], month: Int) {
        func counts(_ list: [Int]) -> [String: Int] {
            var counts: [String: Int] = [:]
            for index in list.prefix(k) {
                for term in PurchaseLaw.terms(record.family, generated[index].months[month].state) { counts[term.name, default: 0] += 1 }
            }
            return counts
        }
        let modelTerms = counts(model), bestTerms = counts(best)
        for name in Set(modelTerms.keys).union(bestTerms.keys).sorted() {
            print("      \(name): model \(modelTerms[name] ?? 0), best \(bestTerms[name] ?? 0)")
        }
    }
}
