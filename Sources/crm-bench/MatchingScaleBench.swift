import ArgumentParser
import CRMPropensity
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

/// Matching at scale. The profiles feed is filled directly with N customers (created, assessed,
/// and one full set of dimensions each, as the dimension updater would announce them) and the
/// products service gets the generated library of 1,000 products; then a matching replica starts
/// from an empty store and the time until it has applied both feeds is the catch-up figure. A
/// propensity model over the replica's features is imported, and the RPCs are timed: one
/// suitability decision, a product's top-1,000 target list, a customer's recommendations. Memory
/// is the process's RSS (the replica and the two source services share the process, so it is an
/// upper bound of the replica's).
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

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-matching-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = "bench"
        let tokens: [TokenAuthenticator.Entry] = [.init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"]))]
        let clock = ContinuousClock()
        let world = World(WorldConfiguration(customers: 1_000, seed: 7, products: 1_000))

        let profiles = try await InProcessService<ProfilesService>.start(databasePath: dir.appendingPathComponent("profiles.sqlite").path, tokens: tokens)
        let products = try await InProcessService<ProductsService>.start(databasePath: dir.appendingPathComponent("products.sqlite").path, tokens: tokens)
        let profilesClient = profiles.client(token: token)
        let dictionary = try await profilesClient.unary("/crm.profiles.v1.Profiles/ListDimensions", Crm_Profiles_V1_ListDimensionsRequest(),
                                                        as: Crm_Profiles_V1_ListDimensionsResponse.self).dimensions
        let schemes = try await profilesClient.unary("/crm.profiles.v1.Profiles/ListClassificationSchemes", Crm_Profiles_V1_ListClassificationSchemesRequest(),
                                                     as: Crm_Profiles_V1_ListClassificationSchemesResponse.self).schemes
        var started = clock.now
        try await Self.fillProfilesFeed(profiles.database, customers: customers, dimensions: dictionary, schemes: schemes)
        print("profiles feed: \(customers) customers × 3 changes, \(dictionary.count) dimensions each, written in \(Self.seconds(clock.now - started)) s")
        let productsClient = products.client(token: token)
        try await forEachConcurrently(world.products, limit: 16) { product in
            var record = product.record
            record.targetRule = ""
            _ = try await productsClient.unary("/crm.products.v1.Products/UpsertProduct", Crm_Products_V1_UpsertProductRequest.with { $0.product = record },
                                               as: Crm_Products_V1_UpsertProductResponse.self)
        }

        // Catch-up of an empty replica.
        started = clock.now
        let matching = try await InProcessService<MatchingService>.start(
            databasePath: dir.appendingPathComponent("matching.sqlite").path, tokens: tokens,
            settings: ["feed.page": "5000", "feed.interval_ms": "50"],
            peers: ["profiles": profilesClient, "products": productsClient], runBackground: true
        )
        let (profilesLast, productsLast) = try await (profiles.database.read { try ChangeFeed.lastSequence($0) }, products.database.read { try ChangeFeed.lastSequence($0) })
        while true {
            let status = matching.service.replicaStatus()
            if status.profilesSequence >= profilesLast && status.productsSequence >= productsLast { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let catchUp = Self.seconds(clock.now - started)
        print("catch-up from empty: \(catchUp) s (\(profilesLast) profiles changes, \(productsLast) products changes)")
        print("RSS after catch-up: \(Self.rssMiB()) MiB")

        // A model over the replica's features, fitted to synthetic rows, imported as current.
        let client = matching.client(token: token)
        let names = MatchingService.featureNames(knownDimensions: Set(dictionary.map(\.name)))
        let model = try Self.syntheticModel(features: names)
        let weights = Dictionary(uniqueKeysWithValues: world.products.map { ($0.code, $0.popularity) })
        started = clock.now
        _ = try await client.unary("/crm.matching.v1.Matching/ImportModel", Crm_Matching_V1_ImportModelRequest.with {
            $0.model = .with {
                $0.summary = .with {
                    $0.version = "bench-model"
                    $0.kind = .boostedTrees
                    $0.trainedAt = .with { $0.unixMillis = 1 }
                    $0.features = names
                }
                $0.model = Data(model.serialized())
                $0.productWeights = weights
            }
        }, as: Crm_Matching_V1_ImportModelResponse.self)

        let codes = world.products.filter { $0.record.status == .onSale }.map(\.code)
        // The first list after the import scores every customer for its family (the replica
        // also warms scores in the background); report it on its own, then the warm figures.
        started = clock.now
        _ = try await client.unary("/crm.matching.v1.Matching/TargetCustomers", Crm_Matching_V1_TargetCustomersRequest.with {
            $0.productCode = codes[0]; $0.k = 1_000
        }, as: Crm_Matching_V1_TargetCustomersResponse.self, options: .timeout(.seconds(600)))
        print("first target list after a model change (scores one family for everyone): \(Self.seconds(clock.now - started)) s")
        // Wait for the warm-up to finish: every family scored.
        for code in codes.prefix(40) {
            _ = try await client.unary("/crm.matching.v1.Matching/TargetCustomers", Crm_Matching_V1_TargetCustomersRequest.with {
                $0.productCode = code; $0.k = 1
            }, as: Crm_Matching_V1_TargetCustomersResponse.self, options: .timeout(.seconds(600)))
        }

        var listTimes: [Double] = []
        for index in 0..<lists {
            let code = codes[(index * 7919) % codes.count]
            let begin = clock.now
            let response = try await client.unary("/crm.matching.v1.Matching/TargetCustomers", Crm_Matching_V1_TargetCustomersRequest.with {
                $0.productCode = code; $0.k = 1_000
            }, as: Crm_Matching_V1_TargetCustomersResponse.self)
            listTimes.append(Self.millis(clock.now - begin))
            if index == 0 { print("  e.g. \(code): \(response.eligible) eligible, \(response.customers.count) listed") }
        }
        var recommendTimes: [Double] = []
        var decideTimes: [Double] = []
        for index in 0..<calls {
            let customer = String(format: "C%07d", (index * 104_729) % customers)
            var begin = clock.now
            _ = try await client.unary("/crm.matching.v1.Matching/RecommendProducts", Crm_Matching_V1_RecommendProductsRequest.with {
                $0.customerID = customer; $0.limit = 10
            }, as: Crm_Matching_V1_RecommendProductsResponse.self)
            recommendTimes.append(Self.millis(clock.now - begin))
            begin = clock.now
            _ = try await client.unary("/crm.matching.v1.Matching/DecideSuitability", Crm_Matching_V1_DecideSuitabilityRequest.with {
                $0.customerID = customer; $0.productCode = codes[index % codes.count]
            }, as: Crm_Matching_V1_DecideSuitabilityResponse.self)
            decideTimes.append(Self.millis(clock.now - begin))
        }
        print("")
        print("| customers | top-1,000 list p50 / p99 | recommendations p50 / p99 | decision p50 / p99 | catch-up | RSS |")
        print("|---|---|---|---|---|---|")
        print("| \(customers) | \(Self.percentile(listTimes, 0.5)) / \(Self.percentile(listTimes, 0.99)) ms | \(Self.percentile(recommendTimes, 0.5)) / \(Self.percentile(recommendTimes, 0.99)) ms | \(Self.percentile(decideTimes, 0.5)) / \(Self.percentile(decideTimes, 0.99)) ms | \(catchUp) s | \(Self.rssMiB()) MiB |")
        await client.close()
        try await matching.stop()
        try await products.stop()
        try await profiles.stop()
    }

    /// Writes, per customer, CUSTOMER_CREATED, REASSESSED and DIMENSIONS_CHANGED (every numeric and
    /// category dimension and every class) into the profiles change log.
    static func fillProfilesFeed(_ database: DatabasePool, customers: Int, dimensions: [Crm_Profiles_V1_DimensionDefinition],
                                 schemes: [Crm_Profiles_V1_ClassificationScheme]) async throws {
        let numeric = dimensions.filter { $0.type != .category }.map(\.name)
        let categorical = dimensions.filter { $0.type == .category }.map(\.name)
        let families = ["FUND_BOND", "FUND_EQUITY", "FUND_INDEX", "FUND_MONEY_MARKET", "FUND_MIXED", "none"]
        for start in stride(from: 0, to: customers, by: 20_000) {
            try await database.write { db in
                let insert = try db.makeStatement(sql: "INSERT INTO change_log (kind, customer_id, at_millis, body) VALUES (?, ?, ?, ?)")
                var random = SplitMix(seed: UInt64(start) &+ 1)
                for index in start..<min(customers, start + 20_000) {
                    let id = String(format: "C%07d", index)
                    let status: Crm_Profiles_V1_AccountStatus = index % 20 == 19 ? .frozen : .normal
                    let created = Crm_Profiles_V1_ChangeEvent.with {
                        $0.kind = .customerCreated
                        $0.customerID = id
                        $0.customer = .with {
                            $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(index)"; $0.branchID = "B\(index % 40)"
                            $0.managerID = "M\(index % 5_000)"; $0.status = status; $0.openDate = .init(year: 2018, month: 5, day: 1)
                        }
                    }
                    let tolerance = Crm_Common_V1_RiskTolerance(rawValue: 1 + Int(random.next() % 5)) ?? .c3
                    let assessed = Crm_Profiles_V1_ChangeEvent.with {
                        $0.kind = .reassessed
                        $0.customerID = id
                        $0.assessment = .with {
                            $0.investorClass = index % 50 == 0 ? .professional : .ordinary
                            $0.riskTolerance = tolerance
                            $0.lowestCategory = tolerance == .c1 && index % 3 == 0
                            $0.assessedOn = .init(year: 2026, month: 3, day: 1)
                            $0.expiresOn = .init(year: 2028, month: 2, day: 29)
                            $0.horizon = Crm_Profiles_V1_InvestmentHorizon(rawValue: 1 + Int(random.next() % 4)) ?? .oneTo3Years
                            $0.varieties = [.depositsAndMoneyMarket, .bonds, .funds, .equities, .assetManagement].filter { _ in random.next() % 3 != 0 }
                        }
                    }
                    let dims = Crm_Profiles_V1_ChangeEvent.with {
                        $0.kind = .dimensionsChanged
                        $0.customerID = id
                        $0.dimensions = .with {
                            $0.customerID = id
                            $0.asOf = .init(year: 2026, month: 11, day: 27)
                            for name in numeric { $0.numbers[name] = Double(random.next() % 1_000_000) / 100 }
                            for name in categorical { $0.categories[name] = families[Int(random.next() % UInt64(families.count))] }
                            for scheme in schemes where !scheme.classes.isEmpty {
                                $0.classes[scheme.name] = scheme.classes[Int(random.next() % UInt64(scheme.classes.count))]
                            }
                        }
                    }
                    for change in [created, assessed, dims] {
                        try insert.execute(arguments: [change.kind.rawValue, id, 0, try change.serializedBytes() as Data])
                    }
                }
            }
        }
    }

    /// Gradient-boosted trees (150 trees, depth 5) over the feature names, fitted to seeded rows
    /// with a planted pattern: a model of the size and shape the service trains.
    static func syntheticModel(features: [String]) throws -> BoostedTreesModel {
        var random = SplitMix(seed: 42)
        var values: [Float] = []
        var labels: [Bool] = []
        let rows = 40_000
        for _ in 0..<rows {
            var row = (0..<features.count).map { _ in Float(random.next() % 10_000) / 100 }
            row[features.count - 3] = Float(random.next() % 10)
            row[features.count - 2] = Float(random.next() % 2)
            let logit = -3 + 0.03 * Double(row[0]) + (row[features.count - 2] > 0 ? 1.5 : 0) + (row[3] > 50 && row[5] < 30 ? 1 : 0)
            labels.append(Double(random.next() % 1_000_000) / 1_000_000 < 1 / (1 + exp(-logit)))
            values.append(contentsOf: row)
        }
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 150
        configuration.maxDepth = 5
        configuration.earlyStoppingRounds = nil
        let data = try LabeledData(features: try FeatureMatrix(columnNames: features, values: values), labels: labels)
        return try GradientBoostedTrees(configuration: configuration).train(data).model
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    static func millis(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
    }

    static func percentile(_ values: [Double], _ p: Double) -> String {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return "-" }
        return String(format: "%.2f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
    }

    static func rssMiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib / 1_024
    }
}
