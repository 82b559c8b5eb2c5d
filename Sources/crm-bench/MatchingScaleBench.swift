import CRMTestSupport
import ArgumentParser
import CRMPropensity
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMWorld
import CRMWorldLoader
import CustomerDimensions
import Foundation
import GRDB
import MatchingService
import ProductsService
import ProfilesService

/// Matching at scale. The profiles store is seeded directly with N customers (record, assessment
/// and a full set of dimensions each, with their change-feed entries, as the service leaves them;
/// see ``StoreSeeding``) and the products service gets the generated library of 1,000 products
/// through its RPCs. Both run in this process. Then the `crm-matching` executable (built beside
/// this one) starts as its own process on an empty store, and the time until it has applied both
/// sources (profiles' snapshot, then the feeds) is the catch-up figure. A propensity model over the
/// replica's features is imported, and the RPCs are timed: one suitability decision, a product's
/// top-1,000 target list, a customer's recommendations. Memory is the replica process's own RSS.
struct MatchingScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching",
        abstract: "Matching at scale: replica catch-up, decision, target-list and recommendation latency, memory."
    )

    @Option(help: "Customers.")
    var customers: Int = 10_000

    @Option(help: "Calls to time per measurement.")
    var calls: Int = 500

    @Option(help: "Target-list calls to time (each over a different product).")
    var lists: Int = 60

    @Option(help: "Customers per snapshot call of the replica (its feed.snapshot_page setting).")
    var snapshotPage: Int = 5_000

    @Option(help: "Trees of the imported model (700: what training kept at 50,000 customers).")
    var modelTrees = 700

    @Option(help: "Depth of the imported model's trees (TrainModel's default).")
    var modelDepth = 3

    @Option(help: "The crm-matching executable (default: beside this one).")
    var matchingExecutable: String?

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-matching-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = "bench"
        let peerToken = "bench-peer"
        let tokens: [TokenAuthenticator.Entry] = [
            .init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"])),
            .init(sha256: TokenAuthenticator.hash(token: peerToken), principal: Principal(name: "matching", roles: ["service"])),
        ]
        let clock = ContinuousClock()
        let world = World(WorldConfiguration(customers: 1_000, seed: 7, products: 1_000))

        let profiles = try await InProcessService<ProfilesService>.start(databasePath: dir.appendingPathComponent("profiles.sqlite").path, tokens: tokens)
        let products = try await InProcessService<ProductsService>.start(databasePath: dir.appendingPathComponent("products.sqlite").path, tokens: tokens)
        let profilesClient = profiles.client(token: token)
        let dictionary = try await profilesClient.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest()).dimensions
        let schemes = try await profilesClient.unary(Crm_Profiles_V1_Profiles.listClassificationSchemes, Crm_Profiles_V1_ListClassificationSchemesRequest()).schemes
        var started = clock.now
        try await Self.seedProfiles(profiles.database, customers: customers, schemes: schemes)
        print("profiles store: \(customers) customers seeded (record, assessment, \(dictionary.count) dimensions and 3 feed entries each) in \(Self.seconds(clock.now - started)) s")
        let productsClient = products.client(token: token)
        try await forEachConcurrently(world.products, limit: 16) { product in
            var record = product.record
            record.targetRule = ""
            _ = try await productsClient.unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with { $0.product = record })
        }

        // Catch-up of an empty replica, its own process.
        let matching = try ServiceExecutable(
            executable: matchingExecutable ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent().appendingPathComponent("crm-matching").path,
            directory: dir, adminTokenHash: TokenAuthenticator.hash(token: token), peerToken: peerToken,
            peers: ["profiles": profiles.port, "products": products.port],
            settings: ["feed.page": "5000", "feed.interval_ms": "50", "feed.snapshot_page": "\(snapshotPage)"]
        )
        defer { matching.stop() }
        let benchCPUBefore = ProcessFigures.cpuSeconds()
        started = clock.now
        let port = try await matching.start()
        let client = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], token: token, defaultDeadline: .seconds(30)))
        let (profilesLast, productsLast) = try await (profiles.database.read { try ChangeFeed.lastSequence($0) }, products.database.read { try ChangeFeed.lastSequence($0) })
        while true {
            let status = try await client.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
            if status.profilesSequence >= profilesLast && status.productsSequence >= productsLast && status.customers >= UInt64(customers) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let catchUp = Self.seconds(clock.now - started)
        print("catch-up from empty: \(catchUp) s (snapshot of \(customers) customers, then the feeds to sequence \(profilesLast) and \(productsLast))")
        print("replica RSS after catch-up: \(matching.rssMiB()) MiB (\(matching.rssBreakdown()))")
        print(String(format: "CPU during catch-up: replica %.1f s, the sources (profiles serving the snapshot, in this process) %.1f s",
                     matching.cpuSeconds(), ProcessFigures.cpuSeconds() - benchCPUBefore))

        // A model over the replica's features, fitted to synthetic rows, imported as current.
        let names = MatchingService.featureNames(knownDimensions: Set(dictionary.map(\.name)))
        let model = try Self.syntheticModel(features: names, trees: modelTrees, depth: modelDepth)
        let weights = Dictionary(uniqueKeysWithValues: world.products.map { ($0.code, $0.popularity) })
        started = clock.now
        _ = try await client.unary(Crm_Matching_V1_Matching.importModel, Crm_Matching_V1_ImportModelRequest.with {
            $0.model = .with {
                $0.summary = .with {
                    $0.version = "bench-model"
                    $0.kind = .boostedTrees
                    $0.trainedAt = .with { $0.unixMillis = 1 }
                    $0.features = names
                }
                $0.model = Data(model.serialized())
                $0.productWeights = weights
                // A choice model of the trained shape, so a product's share is computed as in
                // production (its features per suitability profile and day).
                $0.choice = .with {
                    $0.features = ["risk_headroom_1", "risk_headroom_2", "risk_headroom_3", "risk_headroom_4", "horizon_gap", "log_days_on_sale", "log_sales_30d"]
                    $0.coefficients = [0.4, 0.2, -0.1, -0.3, -0.1, 0.05, 0.3]
                }
            }
        })

        let codes = world.products.filter { $0.record.status == .onSale }.map(\.code)
        // The first list after the import scores every customer for its family (the replica
        // also warms scores in the background); report it on its own, then the warm figures.
        let warming = try await Self.firstListThenWarm(client, code: codes[0])
        print("first target list after a model change (scores one family for everyone): \(Self.seconds(warming.firstList)) s")
        print("every customer scored for every family \(Self.seconds(warming.warm)) s after the first list")

        let (listTimes, first) = try await Self.timeLists(client, codes: codes, count: lists)
        if let first { print("  e.g. \(first.code): \(first.response.eligible) eligible, \(first.response.customers.count) listed") }
        var recommendTimes: [Double] = []
        var decideTimes: [Double] = []
        for index in 0..<calls {
            let customer = String(format: "C%07d", (index * 104_729) % customers)
            var begin = clock.now
            _ = try await client.unary(Crm_Matching_V1_Matching.recommendProducts, Crm_Matching_V1_RecommendProductsRequest.with {
                $0.customerID = customer; $0.limit = 10
            })
            recommendTimes.append(Self.millis(clock.now - begin))
            begin = clock.now
            _ = try await client.unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
                $0.customerID = customer; $0.productCode = codes[index % codes.count]
            })
            decideTimes.append(Self.millis(clock.now - begin))
        }
        print("")
        print("| customers | top-1,000 list p50 / p99 | recommendations p50 / p99 | decision p50 / p99 | catch-up | RSS |")
        print("|---|---|---|---|---|---|")
        print("| \(customers) | \(Self.percentile(listTimes, 0.5)) / \(Self.percentile(listTimes, 0.99)) ms | \(Self.percentile(recommendTimes, 0.5)) / \(Self.percentile(recommendTimes, 0.99)) ms | \(Self.percentile(decideTimes, 0.5)) / \(Self.percentile(decideTimes, 0.99)) ms | \(catchUp) s | \(matching.rssMiB()) MiB |")
        await client.close()
        matching.stop()
        try await products.stop()
        try await profiles.stop()
    }

    /// Seeds N customers into the profiles store (20,000 a transaction): records (one in twenty
    /// frozen), assessments of every tolerance, random values for every dimension and class.
    static func seedProfiles(_ database: DatabasePool, customers: Int, schemes: [Crm_Profiles_V1_ClassificationScheme]) async throws {
        let numericCount = DimensionCatalog.numeric.count
        let categoryCount = DimensionCatalog.categorical.count
        let classesByScheme = Dictionary(uniqueKeysWithValues: schemes.map { ($0.name, $0.classes) })
        let schemeClasses = StoreSeeding.schemeNames.map { classesByScheme[$0] ?? [] }
        let families = ["FUND_BOND", "FUND_EQUITY", "FUND_INDEX", "FUND_MONEY_MARKET", "FUND_MIXED", "none"]
        for start in stride(from: 0, to: customers, by: 20_000) {
            var random = BenchRandom(seed: UInt64(start) &+ 1)
            var seeds: [StoreSeeding.Seed] = []
            for index in start..<min(customers, start + 20_000) {
                let id = String(format: "C%07d", index)
                let tolerance = Crm_Common_V1_RiskTolerance(rawValue: 1 + Int(random.next() % 5)) ?? .c3
                let customer = Crm_Profiles_V1_Customer.with {
                    $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(index)"; $0.branchID = "B\(index % 40)"
                    $0.managerID = "M\(index % 5_000)"; $0.status = index % 20 == 19 ? .frozen : .normal
                    $0.openDate = .init(year: 2018, month: 5, day: 1); $0.updatedAt = .with { $0.unixMillis = 1_764_000_000_000 }
                }
                let assessment = Crm_Profiles_V1_SuitabilityAssessment.with {
                    $0.investorClass = index % 50 == 0 ? .professional : .ordinary
                    $0.riskTolerance = tolerance
                    $0.lowestCategory = tolerance == .c1 && index % 3 == 0
                    $0.assessedOn = .init(year: 2026, month: 3, day: 1)
                    $0.expiresOn = .init(year: 2028, month: 2, day: 29)
                    $0.horizon = Crm_Profiles_V1_InvestmentHorizon(rawValue: 1 + Int(random.next() % 4)) ?? .oneTo3Years
                    $0.varieties = [.depositsAndMoneyMarket, .bonds, .funds, .equities, .assetManagement].filter { _ in random.next() % 3 != 0 }
                }
                let numbers = (0..<numericCount).map { _ in Double(random.next() % 1_000_000) / 100 }
                let categories = (0..<categoryCount).map { _ in families[Int(random.next() % UInt64(families.count))] }
                let classes = schemeClasses.map { $0.isEmpty ? "" : $0[Int(random.next() % UInt64($0.count))] }
                seeds.append(StoreSeeding.Seed(customer: customer, assessment: assessment, numbers: numbers, categories: categories,
                                               classes: classes, asOf: .init(year: 2026, month: 11, day: 27)))
            }
            try await StoreSeeding.write(seeds, into: database)
        }
    }

    /// Gradient-boosted trees over the feature names, fitted to seeded rows with a planted pattern:
    /// a model of the size and shape the service trains (by default 700 trees of depth 3, what
    /// TrainModel's defaults kept after early stopping on a generated world of 50,000 customers;
    /// smaller books keep fewer).
    static func syntheticModel(features: [String], trees: Int, depth: Int) throws -> BoostedTreesModel {
        var random = BenchRandom(seed: 42)
        var values: [Float] = []
        var labels: [Bool] = []
        let rows = 40_000
        let family = features.firstIndex(of: "family") ?? features.count - 1
        let viewed = features.firstIndex(of: "viewed_family_90d") ?? features.count - 1
        let indicators = features.indices.filter { features[$0].hasPrefix("family_is_") }
        for _ in 0..<rows {
            var row = (0..<features.count).map { _ in Float(random.next() % 10_000) / 100 }
            let drawn = Int(random.next() % 10)
            row[family] = Float(drawn)
            for (position, index) in indicators.enumerated() { row[index] = position == drawn ? 1 : 0 }
            row[viewed] = Float(random.next() % 2)
            let logit = -3 + 0.03 * Double(row[0]) + (row[viewed] > 0 ? 1.5 : 0) + (row[3] > 50 && row[5] < 30 ? 1 : 0) + (drawn == 2 ? 0.5 : 0)
            labels.append(Double(random.next() % 1_000_000) / 1_000_000 < 1 / (1 + exp(-logit)))
            values.append(contentsOf: row)
        }
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = trees
        configuration.maxDepth = depth
        configuration.earlyStoppingRounds = nil
        let data = try LabeledData(features: try FeatureMatrix(columnNames: features, values: values), labels: labels)
        return try GradientBoostedTrees(configuration: configuration).train(data).model
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    /// The first top-1,000 list after a model change (it scores one family for everyone), then
    /// the wait until the background pass has scored every customer for every family (the steady
    /// state the other figures are timed in).
    static func firstListThenWarm(_ client: RPCClient, code: String) async throws -> (firstList: Duration, warm: Duration) {
        let clock = ContinuousClock()
        let started = clock.now
        _ = try await client.unary(Crm_Matching_V1_Matching.targetCustomers, Crm_Matching_V1_TargetCustomersRequest.with {
            $0.productCode = code; $0.k = 1_000
        }, options: .timeout(.seconds(600)))
        let listed = clock.now
        while !(try await client.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status.scoresWarm) {
            try await Task.sleep(for: .milliseconds(100))
        }
        return (listed - started, clock.now - listed)
    }

    /// `count` top-1,000 lists, each over another of `codes`, one at a time: milliseconds each, and
    /// the first list's product and answer.
    static func timeLists(_ client: RPCClient, codes: [String], count: Int) async throws
        -> (millis: [Double], first: (code: String, response: Crm_Matching_V1_TargetCustomersResponse)?) {
        let clock = ContinuousClock()
        var times: [Double] = []
        var first: (code: String, response: Crm_Matching_V1_TargetCustomersResponse)?
        for index in 0..<count {
            let code = codes[(index * 7_919) % codes.count]
            let begin = clock.now
            let response = try await client.unary(Crm_Matching_V1_Matching.targetCustomers, Crm_Matching_V1_TargetCustomersRequest.with {
                $0.productCode = code; $0.k = 1_000
            })
            times.append(millis(clock.now - begin))
            if first == nil { first = (code, response) }
        }
        return (times, first)
    }

    static func millis(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
    }

    static func percentile(_ values: [Double], _ p: Double) -> String {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return "-" }
        return String(format: "%.2f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
    }
}
