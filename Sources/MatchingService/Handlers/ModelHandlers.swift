import CRMProtos
import CRMRPC
import GRDB
import Synchronization

/// Training, reading, exporting and evaluating the propensity model.
struct ModelHandlers: Sendable {
    let replica: Replica
    let trainer: ModelTrainer
    /// One training run at a time per replica.
    let training: TrainingFlag
    init(replica: Replica, trainer: ModelTrainer) {
        self.replica = replica
        self.trainer = trainer
        self.training = TrainingFlag()
    }

    func register(into router: inout Router) {
        router.serverStreaming(Crm_Matching_V1_Matching.trainModel,
                               policy: .roles(MatchingRoles.headOffice)) { request, writer, _ in
            var options = try Self.options(request)
            options.maxRows = trainer.rowBudget
            guard training.begin() else { throw RPCError(.failedPrecondition, "a training run is already in progress on this replica") }
            // The flag is released only once the training task has ended, so a rerun never
            // overlaps a run that is still winding down.
            defer { training.end() }
            let (stream, continuation) = AsyncStream.makeStream(of: Crm_Matching_V1_TrainingProgress.self, bufferingPolicy: .bufferingNewest(64))
            let trainer = self.trainer
            let work = Task.detached {
                defer { continuation.finish() }
                // The rows, the fit's histograms and the fetched pages are freed by now: hand the
                // memory back before the call ends (ended or failed), so the replica serves at
                // its copy's size rather than the training's peak.
                do {
                    let summary = try await trainer.train(options) { continuation.yield($0) }
                    await trainer.replica.returnMemory()
                    return summary
                } catch {
                    await trainer.replica.returnMemory()
                    throw error
                }
            }
            // A cancelled call (the client went away, or its deadline passed) cancels the training,
            // which stops at the next month of rows or the next tree and stores nothing.
            do {
                try await withTaskCancellationHandler {
                    var lastStageSent = ""
                    var lastDoneSent: UInt64 = 0
                    for await progress in stream {
                        // Training rounds report every tree: of those send the first, every 10th and
                        // the last. Every other step is sent (each month-end snapshot and each month
                        // of rows takes seconds to minutes on a large book, and is the progress).
                        if progress.stage != "training" || progress.stage != lastStageSent || progress.done >= lastDoneSent + 10 || progress.done == progress.total {
                            try await writer.write(progress)
                            lastStageSent = progress.stage
                            lastDoneSent = progress.done
                        }
                    }
                    _ = try await work.value
                } onCancel: {
                    work.cancel()
                }
            } catch {
                work.cancel()
                _ = await work.result
                throw error
            }
        }
        // The model methods read only the store: sibling replicas copy the model from a replica that
        // is still catching up.
        router.unary(Crm_Matching_V1_Matching.getModel,
                     policy: .roles(MatchingRoles.headOffice, MatchingRoles.marketing, MatchingRoles.service), servesWhileStarting: true) { request, _ in
            guard let export = try await replica.database.read({ db in try ModelStore.export(db, version: request.version) }) else {
                throw RPCError(.notFound, request.version.isEmpty ? "no model has been trained yet" : "no model \(request.version)")
            }
            return Crm_Matching_V1_GetModelResponse.with { $0.model = export.summary }
        }
        router.unary(Crm_Matching_V1_Matching.exportModel,
                     policy: .roles(MatchingRoles.service, MatchingRoles.headOffice), servesWhileStarting: true) { request, _ in
            guard let export = try await replica.database.read({ db in try ModelStore.export(db, version: request.version) }) else {
                throw RPCError(.notFound, request.version.isEmpty ? "no model has been trained yet" : "no model \(request.version)")
            }
            return export
        }
        router.unary(Crm_Matching_V1_Matching.importModel, policy: .roles(MatchingRoles.headOffice)) { request, _ in
            try await importModel(request)
        }
        router.unary(Crm_Matching_V1_Matching.evaluateModel,
                     policy: .roles(MatchingRoles.headOffice, MatchingRoles.marketing), offEventLoop: true) { request, _ in
            try await evaluate(request)
        }
        // With matching groups, the training replica asks the other groups for their parts.
        GroupTrainingHandlers(trainer: trainer).register(into: &router)
    }

    func importModel(_ request: Crm_Matching_V1_ImportModelRequest) async throws -> Crm_Matching_V1_ImportModelResponse {
        let export = request.model
        guard !export.summary.version.isEmpty else { throw RPCError.invalidArgument(field: "model.summary.version", "is required") }
        if let problem = FeatureSpace.problem(computing: export.summary.features) {
            throw RPCError.invalidArgument(field: "model.summary.features", problem)
        }
        let scorer: Scorer
        do {
            scorer = try ModelStore.scorer(from: export)
        } catch {
            throw RPCError.invalidArgument(field: "model.model", "cannot be read: \(error)")
        }
        let current = try await replica.database.write { db -> Bool in
            let before = try ModelStore.export(db, version: nil)?.summary
            try ModelStore.save(db, summary: export.summary, model: [UInt8](export.model), weights: export.productWeights,
                                choice: export.hasChoice ? export.choice : nil)
            return try ModelStore.export(db, version: nil)?.summary.version == export.summary.version && before?.version != export.summary.version
        }
        if current {
            replica.install(scorer)
        }
        return .with {
            $0.model = export.summary
            $0.current = current
        }
    }

    func evaluate(_ request: Crm_Matching_V1_EvaluateModelRequest) async throws -> Crm_Matching_V1_EvaluateModelResponse {
        guard let export = try await replica.database.read({ db in try ModelStore.export(db, version: request.version) }) else {
            throw RPCError(.notFound, request.version.isEmpty ? "no model has been trained yet" : "no model \(request.version)")
        }
        var month = BusinessMonth(export.summary.heldOutMonth)
        if !request.heldOutMonth.isEmpty {
            guard let chosen = BusinessMonth(request.heldOutMonth) else {
                throw RPCError.invalidArgument(field: "held_out_month", "must be YYYY-MM")
            }
            month = chosen
        }
        guard let month else { throw RPCError(.failedPrecondition, "the model names no held-out month") }
        let ks = request.k.isEmpty ? [100, 500] : request.k.map(Int.init)
        guard ks.allSatisfy({ (1...100_000).contains($0) }) else { throw RPCError.invalidArgument(field: "k", "each k must be 1..100000") }
        guard request.products <= 100 else { throw RPCError.invalidArgument(field: "products", "at most 100") }
        let (orders, snapshots) = try await replica.database.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM purchase WHERE month = ?", arguments: [month.description]) ?? 0,
             try SnapshotStore.count(db, asOf: month.previous.lastDay))
        }
        guard orders > 0 else { throw Self.noOrders(month) }
        guard snapshots > 0 else {
            throw RPCError(.failedPrecondition, "no snapshot of the dimensions at the end of \(month.previous); train with held_out_month \(month) first")
        }
        let scorer = try ModelStore.scorer(from: export)
        do {
            // With matching groups every group ranks its own customers (``GroupParts``).
            let evaluation = try await ModelEvaluator(replica: replica, groups: trainer.groupParts, export: export).evaluate(
                scorer: scorer, month: month, ks: ks, productCount: request.products == 0 ? 10 : Int(request.products),
                codes: request.productCodes, includeRankings: request.includeRankings
            )
            return .with { $0.evaluation = evaluation }
        } catch is ModelEvaluator.NoOrders {
            throw Self.noOrders(month)
        }
    }

    static func noOrders(_ month: BusinessMonth) -> RPCError {
        RPCError(.failedPrecondition, "no orders in \(month): there is nothing to evaluate the model against (choose a month of the order history with held_out_month)")
    }

    static func options(_ request: Crm_Matching_V1_TrainModelRequest) throws -> ModelTrainer.Options {
        var options = ModelTrainer.Options()
        if !request.heldOutMonth.isEmpty {
            guard let month = BusinessMonth(request.heldOutMonth) else { throw RPCError.invalidArgument(field: "held_out_month", "must be YYYY-MM") }
            options.heldOut = month
        }
        if request.trainingMonths != 0 {
            guard (1...24).contains(request.trainingMonths) else { throw RPCError.invalidArgument(field: "training_months", "must be 1..24") }
            options.trainingMonths = Int(request.trainingMonths)
        }
        options.kind = request.kind == .logisticRegression ? .logisticRegression : .boostedTrees
        if request.trees != 0 {
            guard (1...2_000).contains(request.trees) else { throw RPCError.invalidArgument(field: "trees", "must be 1..2000") }
            options.trees = Int(request.trees)
        }
        if request.depth != 0 {
            guard (1...10).contains(request.depth) else { throw RPCError.invalidArgument(field: "depth", "must be 1..10") }
            options.depth = Int(request.depth)
        }
        if request.seed != 0 { options.seed = request.seed }
        if request.negativesPerPositive != 0 {
            guard (1...10_000).contains(request.negativesPerPositive) else { throw RPCError.invalidArgument(field: "negatives_per_positive", "must be 1..10000") }
            options.negativesPerPositive = Int(request.negativesPerPositive)
        }
        if request.learningRate != 0 {
            guard request.learningRate > 0 && request.learningRate <= 1 else { throw RPCError.invalidArgument(field: "learning_rate", "must be in (0, 1]") }
            options.learningRate = request.learningRate
        }
        return options
    }
}

final class TrainingFlag: Sendable {
    private let running = Mutex(false)

    /// True when no run was in progress (and now one is).
    func begin() -> Bool {
        running.withLock { running in
            if running { return false }
            running = true
            return true
        }
    }

    func end() {
        running.withLock { $0 = false }
    }
}
