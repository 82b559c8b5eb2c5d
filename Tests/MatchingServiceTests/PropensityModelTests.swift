import CRMPropensity
import CRMProtos
import CRMRPC
import CRMWorld
import CRMWorldLoader
import CRMTestSupport
import Testing
@testable import MatchingService

/// The propensity model trained through the service on a generated brokerage of each buying law,
/// loaded through the services' RPCs, evaluated on the held-out month beside logistic regression
/// and the baselines and against the world's recorded true probabilities.
@Suite(.serialized) struct PropensityModelTests {
    static let customers = 1_500

    @Test(arguments: WorldLaw.allCases)
    func theModelBeatsLogisticRegressionAndBothBaselinesOnTheHeldOutMonth(law: WorldLaw) async throws {
        try await withService(await MatchingHarness.start()) { harness in
            let world = World(WorldConfiguration(customers: Self.customers, seed: 20_261_129, law: law))
            let loader = WorldLoader(world: world, clients: .init(
                profiles: harness.profiles.client(token: "office"), products: harness.products.client(token: "office")
            ))
            try await loader.loadCatalogue()
            for start in stride(from: 0, to: Self.customers, by: 500) {
                _ = try await loader.loadCustomers(start..<min(Self.customers, start + 500))
            }
            try await harness.waitUntilCaughtUp()

            let progress = try await harness.matching.serverStreaming(
                Crm_Matching_V1_Matching.trainModel, Crm_Matching_V1_TrainModelRequest.with {
                    $0.trees = 80; $0.depth = 4; $0.negativesPerPositive = 50
                }, options: .timeout(.seconds(600))
            ).collect()
            #expect(progress.map(\.stage).contains("training"))
            let summary = try #require(progress.last?.model)
            #expect(summary.heldOutMonth == world.configuration.month(world.configuration.heldOutMonth).description)
            // Every month of the order history before the held-out one, none before it began.
            let configuration = world.configuration
            #expect(summary.trainingMonths == (0..<configuration.heldOutMonth).map { configuration.month($0).description })
            #expect(summary.negativesPerPositive == 50)
            #expect(summary.validationAuc > 0.6)

            // Realised hit rates over the most-bought products: the model's beside both baselines.
            let evaluation = try await harness.matching.unary(Crm_Matching_V1_Matching.evaluateModel, Crm_Matching_V1_EvaluateModelRequest.with {
                $0.k = [100]
                $0.includeRankings = true
            }, options: .timeout(.seconds(600))).evaluation
            #expect(!evaluation.products.isEmpty)
            let modelHits = evaluation.model[0].hits, randomHits = evaluation.random[0].hits, richestHits = evaluation.richest[0].hits
            #expect(modelHits > randomHits, "model \(modelHits) vs random \(randomHits)")
            #expect(modelHits > richestHits, "model \(modelHits) vs richest \(richestHits)")

            // Expected precision from the world's true probabilities: less noisy than realised hits.
            let month = world.configuration.heldOutMonth
            var modelExpected = 0.0, randomExpected = 0.0, richestExpected = 0.0
            for product in evaluation.products {
                func expected(_ ids: [String]) -> Double {
                    ids.reduce(0) { total, id in
                        total + (world.customerIndex(of: id).map { world.trueProbability(customer: $0, product: product.productCode, month: month) } ?? 0)
                    }
                }
                modelExpected += expected(product.modelRanking)
                randomExpected += expected(product.randomRanking)
                richestExpected += expected(product.richestRanking)
            }
            #expect(modelExpected > 1.5 * randomExpected, "expected buyers: model \(modelExpected), random \(randomExpected)")
            #expect(modelExpected > richestExpected, "expected buyers: model \(modelExpected), richest \(richestExpected)")


            // The current model now ranks target lists, with the features that raised each score.
            let top = try #require(evaluation.products.first?.productCode)
            let targets = try await harness.targets(top, k: 10)
            #expect(targets.modelVersion == summary.version)
            #expect(targets.customers.first?.reasons.isEmpty == false)
            #expect(zip(targets.customers, targets.customers.dropFirst()).allSatisfy { $0.score >= $1.score })

            // The background pass scores every customer under the new model and then says so.
            let replica = harness.replicas[0].service
            try await waitUntil { replica.replicaStatus().scoresWarm }
            let status = replica.replicaStatus()
            #expect(status.scoresWarm && status.modelVersion == summary.version)
            let unscored = replica.replica.memory.withLock { memory in memory.familyScores.reduce(0) { $0 + $1.filter(\.isNaN).count } }
            #expect(unscored == 0)

            // A customer's recommendations: the best products in rank order (score, then code), and a
            // shorter limit is the start of a longer one.
            var checked = 0
            for index in stride(from: 0, to: Self.customers, by: 97) {
                let id = world.customer(at: index).id
                let all = try await harness.recommend(id).products
                guard all.count > 3 else { continue }
                checked += 1
                #expect(zip(all, all.dropFirst()).allSatisfy { $0.score > $1.score || ($0.score == $1.score && $0.productCode < $1.productCode) })
                let three = try await harness.matching.unary(Crm_Matching_V1_Matching.recommendProducts, Crm_Matching_V1_RecommendProductsRequest.with {
                    $0.customerID = id
                    $0.limit = 3
                }).products
                #expect(three == Array(all.prefix(3)))
            }
            #expect(checked > 3)

            // A row cap keeps fewer negatives per positive, never a positive.
            let trainer = ModelTrainer(replica: replica.replica, profiles: nil)
            var options = ModelTrainer.Options()
            options.trees = 5
            options.depth = 3
            options.negativesPerPositive = 50
            let uncapped = summary.trainingRows + summary.validationRows
            options.maxRows = Int(uncapped / 4)
            let capped = try await trainer.train(options) { _ in }
            #expect(capped.negativesPerPositive < 50 && capped.negativesPerPositive >= 1)
            #expect(Double(capped.trainingRows + capped.validationRows) < Double(options.maxRows) * 1.1,
                    "\(capped.trainingRows) + \(capped.validationRows) rows for a cap of \(options.maxRows)")
            #expect(capped.trainingMonths == summary.trainingMonths)
            #expect(capped.trainingPositives == summary.trainingPositives && capped.trainingPositives > 0)

            // Logistic regression on the same rows, evaluated on the same products: below the trees.
            let logistic = try #require(try await harness.matching.serverStreaming(
                Crm_Matching_V1_Matching.trainModel, Crm_Matching_V1_TrainModelRequest.with {
                    $0.kind = .logisticRegression; $0.negativesPerPositive = 50
                }
            ).collect().last?.model)
            let linear = try await harness.matching.unary(Crm_Matching_V1_Matching.evaluateModel, Crm_Matching_V1_EvaluateModelRequest.with {
                $0.version = logistic.version
                $0.k = [100]
                $0.includeRankings = true
                $0.productCodes = evaluation.products.map(\.productCode)
            }).evaluation
            var logisticExpected = 0.0
            for product in linear.products {
                logisticExpected += product.modelRanking.reduce(0) { total, id in
                    total + (world.customerIndex(of: id).map { world.trueProbability(customer: $0, product: product.productCode, month: month) } ?? 0)
                }
            }
            #expect(modelExpected > logisticExpected, "expected buyers: trees \(modelExpected), logistic regression \(logisticExpected)")
        }
    }
}
