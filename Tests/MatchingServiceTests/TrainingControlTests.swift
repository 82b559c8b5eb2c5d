import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMWorld
import CRMWorldLoader
import GRDB
import Testing
@testable import MatchingService

/// Training that is cancelled stops and stores nothing, so a rerun is accepted; an evaluation of a
/// month without orders is refused rather than answered with zeros.
@Suite(.serialized) struct TrainingControlTests {
    @Test func aCancelledTrainingStopsAtTheNextTreeAndAMonthWithoutOrdersIsNotEvaluated() async throws {
        try await withService(await MatchingHarness.start()) { harness in
            let world = World(WorldConfiguration(customers: 600, seed: 20_261_129))
            let loader = WorldLoader(world: world, clients: .init(
                profiles: harness.profiles.client(token: "office"), products: harness.products.client(token: "office")
            ))
            try await loader.loadCatalogue()
            _ = try await loader.loadCustomers(0..<600)
            try await harness.waitUntilCaughtUp()
            // A run of 2,000 deep trees at a tiny rate (no early stop for a long while), cancelled by
            // its caller as soon as the trees start: leaving the stream cancels the call once the
            // stream is gone too (it is read in a function of its own, which releases it on return).
            let stages = try await Self.stagesUntilTraining(harness.matching.serverStreaming(Crm_Matching_V1_Matching.trainModel, Crm_Matching_V1_TrainModelRequest.with {
                $0.trees = 2_000; $0.depth = 8; $0.learningRate = 0.001; $0.negativesPerPositive = 50
            }))
            #expect(stages.last?.stage == "training")
            // Every month-end snapshot fetched and every month of rows is reported, in order (only
            // the trees are thinned out): on a large book each is the progress an operator sees.
            let snapshots = stages.filter { $0.stage == "snapshots" }
            #expect(snapshots.count > 1)
            #expect(snapshots.map(\.done) == (0..<snapshots.count).map { UInt64($0 + 1) })
            #expect(snapshots.allSatisfy { $0.total == UInt64(snapshots.count) })
            let rows = stages.filter { $0.stage == "rows" }
            #expect(rows.count > 1)
            #expect(rows.map(\.done) == (0..<rows.count).map { UInt64($0 + 1) })
            #expect(stages.contains { $0.stage == "choice" })

            // The replica refuses a second run only while the first winds down (to its next tree):
            // retry until a short rerun is accepted.
            var rerun: Crm_Matching_V1_ModelSummary?
            try await waitUntil(every: .milliseconds(20)) {
                do {
                    rerun = try await harness.matching.serverStreaming(Crm_Matching_V1_Matching.trainModel, Crm_Matching_V1_TrainModelRequest.with {
                        $0.trees = 5; $0.depth = 3; $0.negativesPerPositive = 50
                    }).collect().last?.model
                    return true
                } catch let error as RPCError where error.code == .failedPrecondition {
                    return false
                }
            }
            let model = try #require(rerun)
            // Nothing of the cancelled run was stored: had it trained on, it would be stored first.
            let versions = try await harness.replicas[0].database.read { db in try String.fetchAll(db, sql: "SELECT version FROM model") }
            #expect(versions == [model.version])

            // A month without any order cannot be evaluated; the held-out month carries its buyers.
            let error = await statusOf {
                _ = try await harness.matching.unary(Crm_Matching_V1_Matching.evaluateModel, Crm_Matching_V1_EvaluateModelRequest.with { $0.heldOutMonth = "2019-01" })
            }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.message.contains("no orders in 2019-01") == true, "\(String(describing: error))")
            let evaluation = try await harness.matching.unary(Crm_Matching_V1_Matching.evaluateModel, Crm_Matching_V1_EvaluateModelRequest()).evaluation
            let month = world.configuration.heldOutMonth
            let buyers = Set((0..<600).flatMap { index in world.customer(at: index).purchases.filter { $0.month == month }.map(\.order.customerID) })
            let orders = (0..<600).reduce(0) { $0 + world.customer(at: $1).purchases.count { $0.month == month } }
            #expect(evaluation.buyers == UInt64(buyers.count) && evaluation.orders == UInt64(orders))
            #expect(evaluation.buyers > 0)
        }
    }

    /// The stages a training run reports until its trees start; then it stops reading.
    static func stagesUntilTraining(_ progress: ResponseStream<Crm_Matching_V1_TrainingProgress>) async throws -> [Crm_Matching_V1_TrainingProgress] {
        var stages: [Crm_Matching_V1_TrainingProgress] = []
        for try await step in progress {
            stages.append(step)
            if step.stage == "training" { break }
        }
        return stages
    }
}
