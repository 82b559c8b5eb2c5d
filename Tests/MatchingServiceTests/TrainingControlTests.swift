import CRMProtos
import CRMRPC
import CRMWorld
import CRMWorldLoader
import GRDB
import Testing
@testable import MatchingService

/// Training that is cancelled stops and stores nothing, so a rerun is accepted; an evaluation of a
/// month without orders is refused rather than answered with zeros.
@Suite(.serialized) struct TrainingControlTests {
    @Test func aCancelledTrainingStopsAtTheNextTreeAndAMonthWithoutOrdersIsNotEvaluated() async throws {
        let harness = try await MatchingHarness.start()
        let world = World(WorldConfiguration(customers: 600, seed: 20_261_129))
        let loader = WorldLoader(world: world, clients: .init(
            profiles: harness.profiles.client(token: "office"), products: harness.products.client(token: "office")
        ))
        try await loader.loadCatalogue()
        _ = try await loader.loadCustomers(0..<600)
        try await harness.waitUntilCaughtUp()
        let train = MatchingHarness.matchingMethod + "TrainModel"

        // A run of 2,000 deep trees at a tiny rate (no early stop for a long while), cancelled by
        // its caller as soon as the trees start: leaving the stream cancels the call.
        let long = try await harness.matching.serverStreaming(train, Crm_Matching_V1_TrainModelRequest.with {
            $0.trees = 2_000; $0.depth = 8; $0.learningRate = 0.001; $0.negativesPerPositive = 50
        }, as: Crm_Matching_V1_TrainingProgress.self, options: .timeout(.seconds(600)))
        var stages: [String] = []
        for try await progress in long {
            stages.append(progress.stage)
            if progress.stage == "training" { break }
        }
        #expect(stages.last == "training")

        // The replica refuses a second run only while the first winds down (to its next tree):
        // poll until a short rerun is accepted.
        var rerun: Crm_Matching_V1_ModelSummary?
        var refusals = 0
        while rerun == nil, refusals < 10_000 {
            do {
                rerun = try await harness.matching.serverStreaming(train, Crm_Matching_V1_TrainModelRequest.with {
                    $0.trees = 5; $0.depth = 3; $0.negativesPerPositive = 50
                }, as: Crm_Matching_V1_TrainingProgress.self, options: .timeout(.seconds(600))).collect().last?.model
            } catch let error as RPCError where error.code == .failedPrecondition {
                refusals += 1
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let model = try #require(rerun)
        // Nothing of the cancelled run was stored: had it trained on, it would be stored first.
        let versions = try await harness.replicas[0].database.read { db in try String.fetchAll(db, sql: "SELECT version FROM model") }
        #expect(versions == [model.version])

        // A month without any order cannot be evaluated; the held-out month carries its buyers.
        let evaluate = MatchingHarness.matchingMethod + "EvaluateModel"
        let error = await statusOf {
            _ = try await harness.matching.unary(evaluate, Crm_Matching_V1_EvaluateModelRequest.with { $0.heldOutMonth = "2019-01" },
                                                 as: Crm_Matching_V1_EvaluateModelResponse.self)
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("no orders in 2019-01") == true, "\(String(describing: error))")
        let evaluation = try await harness.matching.unary(evaluate, Crm_Matching_V1_EvaluateModelRequest(), as: Crm_Matching_V1_EvaluateModelResponse.self,
                                                          options: .timeout(.seconds(600))).evaluation
        let month = world.configuration.heldOutMonth
        let buyers = Set((0..<600).flatMap { index in world.customer(at: index).purchases.filter { $0.month == month }.map(\.order.customerID) })
        let orders = (0..<600).reduce(0) { $0 + world.customer(at: $1).purchases.count { $0.month == month } }
        #expect(evaluation.buyers == UInt64(buyers.count) && evaluation.orders == UInt64(orders))
        #expect(evaluation.buyers > 0)
        try await harness.stop()
    }
}
