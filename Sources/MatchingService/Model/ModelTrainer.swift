import CRMPropensity
import CRMProtos
import CRMRPC
import CRMStore
import CRMSuitability
import Foundation
import GRDB
import Logging
import Synchronization

/// Trains the propensity model from the replica's purchases, month-end snapshots and behaviour.
///
/// For each training month m, a row per (customer, product family) for the families with a
/// product on sale that MATCHed the customer on m's first day (``MonthRows``): the customer's
/// dimensions at the end of the month before m and their behaviour towards the family before m's
/// first instant (nothing from m itself or later), labelled by whether the customer bought a
/// product of the family in m. Negatives are subsampled (seeded) and re-weighted so a year of a
/// large book trains in minutes. The last training month validates (early stopping for trees);
/// the month after the training months is held out for the evaluation stored with the model.
/// Then the within-family choice model (``ChoiceModel``) is fitted on the same months' purchases,
/// each against the products on sale that MATCHed the buyer on the month's first day.
///
/// Cancelling the task stops the work at the next month of rows or the next tree.
struct ModelTrainer: Sendable {
    let replica: Replica
    let profiles: RPCClient?
    /// Where each stage's end is logged with its time (the RPC's progress messages go to the
    /// caller; an operator following the service's log sees the same run).
    var logger: Logger?
    /// The service's row budget (setting `model.max_rows`), given to every run's ``Options/maxRows``.
    var rowBudget = Options.defaultMaxRows
    /// Customers per call when fetching a month-end snapshot from profiles (`model.snapshot_page`).
    var snapshotPage = 20_000
    /// Month-ends asked for in one call (`model.snapshot_days_per_call`): profiles walks each
    /// customer's events once per call, whatever the number of days in it.
    var monthEndsPerCall = 100
    /// Calls at once when the month-ends are fetched a partition at a time (`model.snapshot_calls`).
    var monthEndCalls = 2

    /// The defaults were chosen on generated worlds of 10,000–50,000 customers by the expected
    /// precision of the top 100 and 500 against the best possible list (`crm-bench
    /// matching-quality`, BENCHMARKS.md › Model quality): a year of history, 200 negatives per
    /// positive, and many shallow trees at a slow rate each raised it. Depth 3 is enough for a
    /// family indicator and an AND of two thresholds; deeper trees fit interactions the month's
    /// few buyers cannot support. Early stopping on the validation month picks the tree count.
    struct Options: Sendable {
        var heldOut: BusinessMonth?
        /// Months before the held-out one; those without any purchase (before the order history
        /// begins) are skipped.
        var trainingMonths = 12
        var kind: Crm_Matching_V1_ModelKind = .boostedTrees
        var trees = 1_500
        var depth = 3
        var learningRate = 0.05
        var seed: UInt64 = 1
        var negativesPerPositive = 200
        /// At most this many training and validation rows: beyond it fewer negatives are kept per
        /// positive (every positive stays, each kept negative weighs 1 / the share kept), so a
        /// large book trains within the replica's memory and time. 3,000,000 rows of 91 features
        /// are 0.27 GB as the trees' one-byte codes (1.1 GB as 4-byte floats, which only logistic
        /// regression keeps), plus about 90 bytes a row while fitting; a year of a 20,000-customer
        /// book (600,000 sellable cells) stays well under it, so there every sellable cell is kept.
        var maxRows = defaultMaxRows
        static let defaultMaxRows = 3_000_000
    }

    typealias Progress = @Sendable (Crm_Matching_V1_TrainingProgress) -> Void

    func train(_ options: Options, progress report: @escaping Progress) async throws -> Crm_Matching_V1_ModelSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let stages = StageLog(logger: logger)
        let progress: Progress = { message in
            stages.record(message)
            report(message)
        }
        let database = replica.database
        var chosen = options.heldOut
        if chosen == nil { chosen = try await latestPurchaseMonth() }
        guard let heldOut = chosen else {
            throw RPCError(.failedPrecondition, "no purchases yet: the model learns from the order history")
        }
        // The months with purchases before the held-out one, and the (customer, family) pairs that
        // bought in each: every positive is kept, so they also size the negatives' sample.
        let families = replica.memory.withLock { memory in memory.catalog.mapValues { $0.family } }
        var months: [BusinessMonth] = []
        var positivesByMonth: [BusinessMonth: Set<FamilyPurchase>] = [:]
        var purchasesByMonth: [BusinessMonth: [Purchase]] = [:]
        for back in (1...options.trainingMonths).reversed() {
            let month = (0..<back).reduce(heldOut) { month, _ in month.previous }
            let bought = try await purchases(in: month)
            guard !bought.isEmpty else { continue }
            months.append(month)
            purchasesByMonth[month] = bought
            positivesByMonth[month] = Self.familyPurchases(bought, families: families)
        }
        guard !months.isEmpty else {
            throw RPCError(.failedPrecondition, "no purchases in the \(options.trainingMonths) months before \(heldOut)")
        }
        let positiveCount = positivesByMonth.values.reduce(0) { $0 + $1.count }
        let negativesPerPositive = Self.negativesPerPositive(asked: options.negativesPerPositive, positives: positiveCount, maxRows: options.maxRows)
        let needed = months + [heldOut]

        // 1. Month-end snapshots (fetched from profiles once, then kept); with matching groups every
        // group fetches its own customers' and counts the cells it could sell, for the negatives' share.
        let groupParts = self.groupParts
        try await ensureSnapshots(needed, progress: progress, stages: stages)
        let otherSellable = try await groupParts?.prepare(needed) ?? [:]
        for index in needed.indices {
            progress(.with { $0.stage = "snapshots"; $0.done = UInt64(index + 1); $0.total = UInt64(needed.count) })
        }
        // Fetching the month-ends decoded and freed a page of every customer at a time: their heap
        // goes back before the rows are built (and again before the fit), so the peak of a
        // training is its rows and its trees on top of the copy, not every stage's leftovers.
        await replica.returnMemory()

        // 2. The products' shares within their families, from the training months' purchases,
        // each against the products on sale that MATCHed the buyer on the month's first day.
        // Buyers with the same suitability profile faced the same offer in a month: each offer is
        // kept once and each purchase is 8 bytes, so this stage no longer grows by kilobytes a
        // purchase (BENCHMARKS.md › memory while training).
        var situations = ChoiceSituations()
        let otherChoices = try await groupParts?.choices(months) ?? [:]
        for month in months {
            var records = choiceRecords(month, purchases: purchasesByMonth[month] ?? [])
            if let others = otherChoices[month] {
                records = (records + others).sorted { $0.purchase < $1.purchase }
            }
            situations.add(records)
        }
        purchasesByMonth = [:]
        try Task.checkCancellation()
        let (weights, choiceMessage) = try Self.fitChoice(situations)
        let (choiceCount, offerCount) = (situations.choices.count, situations.offers.count)
        situations = ChoiceSituations()
        let choice = ProductChoice(weights: weights, choice: choiceMessage)
        stages.note("choice model: \(choiceCount) purchases as choices among \(offerCount) offers")
        progress(.with { $0.stage = "choice"; $0.done = UInt64(choiceCount); $0.total = UInt64(choiceCount) })

        // 3. Rows: only the (customer, family) pairs that could be sold at the month's start.
        // Trees take them as one-byte codes, written as each row is made: the edges come from the
        // first months' rows (as soon as they fill the binning sample, at a month's end), so the
        // float table of all months never exists (BENCHMARKS.md › memory while training).
        let space = FeatureSpace(knownDimensions: Set(SnapshotRow.names))
        let trees = options.kind == .logisticRegression ? nil : Self.treeConfiguration(options)
        var training = try RowSet(space: space, coding: trees)
        var validation = try RowSet(space: space, coding: trees)
        for (index, month) in months.enumerated() {
            try Task.checkCancellation()
            // The month's inputs are streamed a block of customers at a time (``MonthRows/stream``):
            // only the plan (a few bytes a customer) is held for the whole month.
            let plan = try await MonthRows.plan(month, replica: replica, choice: choice)
            let positives = positivesByMonth[month] ?? []
            let sellableCells = plan.sellableCells
            let keep = Self.keptShare(positives: positives.count, negativesPerPositive: negativesPerPositive,
                                      sellableCells: sellableCells + (otherSellable[month] ?? 0))
            let isValidation = index == months.count - 1 && months.count > 1
            if isValidation, let edges = training.edges { try validation.adopt(edges) }
            func append(_ features: [Float], _ label: Bool, _ weight: Float) throws {
                if isValidation {
                    try validation.append(features, label: label, weight: weight)
                } else {
                    try training.append(features, label: label, weight: weight)
                }
            }
            if let groupParts {
                // Every group's rows for its own customers, merged in customer order: the rows (and
                // so the binning sample and the model) one replica holding everyone would build.
                let own = try Self.rows(plan, database: database, space: space, positives: positives, keep: keep, seed: options.seed)
                let others = try await groupParts.rows(month, keep: keep, seed: options.seed, choice: weights, choiceMessage: choiceMessage)
                for row in GroupParts.merged([own] + others) { try append(row.features, row.label, row.weight) }
            } else {
                try MonthRows.stream(plan, database: database) { block in
                    for row in block.rows(space: space, positives: positives, keep: keep, seed: options.seed, workers: replica.rowWorkers) {
                        try append(row.features, row.label, row.weight)
                    }
                }
            }
            training.learnEdgesIfSampleFull()
            stages.note("rows of \(month): \(training.count) training and \(validation.count) validation rows so far (\(training.positives + validation.positives) positives; \(sellableCells) sellable cells, a share \(String(format: "%.4f", keep)) of the negatives kept; rows held in \((training.heldBytes + validation.heldBytes) >> 20) MiB)")
            // A month's read (its page cache, SQLite's sort of the month's behaviour by customer) and
            // its blocks are done with: their heap goes back before the next month, so the rows'
            // stage holds the codes and one month's working set, not every month's leftovers (at a
            // million customers it had crept to 2.1 GiB by the last month).
            await replica.returnMemory()
            progress(.with { $0.stage = "rows"; $0.done = UInt64(index + 1); $0.total = UInt64(months.count) })
        }
        guard training.positives > 0 else {
            throw RPCError(.failedPrecondition, "no purchases in the training months \(months.first?.description ?? "")…\(months.last?.description ?? "")")
        }

        // 4. Fit.
        let fitted: any PropensityModel
        /// The validation rows' logits under the fitted model, for its stored loss and AUC.
        var validationScores: [Double]?
        var validationLoss = 0.0
        var validationAUC = 0.0
        var topFeatures: [Crm_Matching_V1_FeatureImportance] = []
        var treeCount: UInt32 = 0
        // The rows' blocks, the purchases that labelled them and the readers' page caches are done
        // with; the fit needs its own.
        positivesByMonth = [:]
        await replica.returnMemory()
        if let configuration = trees {
            let trainingData = try training.binned()
            let validationData = validation.count > 0 ? try validation.binned(edges: trainingData.features.edges) : nil
            stages.note("rows coded: \(trainingData.features.codeBytes >> 20) MiB of training codes, \((validationData?.features.codeBytes ?? 0) >> 20) MiB of validation codes")
            try Task.checkCancellation()
            let result = try GradientBoostedTrees(configuration: configuration).train(binned: trainingData, validation: validationData) { iteration, total, trainLoss, validationLoss in
                progress(.with {
                    $0.stage = "training"
                    $0.done = UInt64(iteration)
                    $0.total = UInt64(total)
                    $0.trainLoss = trainLoss
                    $0.validationLoss = validationLoss ?? 0
                })
            }
            fitted = result.model
            treeCount = UInt32(result.report.treeCount)
            topFeatures = result.report.topFeatures.map { feature in
                .with { $0.feature = feature.name; $0.gain = feature.share }
            }
            if let validationData {
                validationScores = try result.model.logits(binned: validationData.features, workers: 2).map(Double.init)
            }
        } else {
            let trainingData = try training.labeled()
            let model = try LogisticRegression.fit(trainingData)
            fitted = model
            progress(.with { $0.stage = "training"; $0.done = 1; $0.total = 1 })
            if validation.count > 0 {
                validationScores = try fitted.logits(try validation.labeled().features, workers: 2).map(Double.init)
            }
        }
        if let scores = validationScores {
            validationAUC = RankingMetrics.auc(scores: scores, labels: validation.labels)
            validationLoss = Self.logLoss(logits: scores, labels: validation.labels, weights: validation.weights)
        }

        let bytes = fitted.serialized()
        let trainedAt = currentUnixMillis()
        var summary = Crm_Matching_V1_ModelSummary.with {
            $0.version = Self.version(kind: options.kind, trainedAt: trainedAt, bytes: bytes)
            $0.kind = options.kind == .logisticRegression ? .logisticRegression : .boostedTrees
            $0.trainedAt = .with { $0.unixMillis = trainedAt }
            $0.trainingMonths = months.map(\.description)
            $0.heldOutMonth = heldOut.description
            $0.trainingRows = UInt64(training.count)
            $0.validationRows = UInt64(validation.count)
            $0.trainingPositives = UInt64(training.positives)
            $0.negativesPerPositive = UInt32(negativesPerPositive)
            $0.trees = treeCount
            $0.validationLogLoss = validationLoss
            $0.validationAuc = validationAUC
            $0.topFeatures = topFeatures
            $0.features = space.names
        }
        let scorer = Scorer(version: summary.version, space: space, model: TrainedModel(model: fitted), choice: choice)

        // 5. Evaluation on the held-out month.
        progress(.with { $0.stage = "evaluation"; $0.done = 0; $0.total = 1 })
        do {
            let export = Crm_Matching_V1_ExportModelResponse.with {
                $0.summary = summary
                $0.model = Data(bytes)
                $0.productWeights = weights
                $0.choice = choiceMessage
            }
            summary.evaluation = try await ModelEvaluator(replica: replica, groups: groupParts, export: export)
                .evaluate(scorer: scorer, month: heldOut, ks: [100, 500], productCount: 10, codes: [], includeRankings: false)
        } catch is ModelEvaluator.NoOrders {
            // A held-out month without orders (the month under way) has nothing to evaluate: the
            // model is stored without an evaluation, and EvaluateModel says why when asked.
        }
        summary.seconds = Self.seconds(clock.now - started)

        let stored = summary
        try Task.checkCancellation()
        try await database.write { db in try ModelStore.save(db, summary: stored, model: bytes, weights: weights, choice: choiceMessage) }
        replica.install(scorer)
        progress(.with { $0.stage = "done"; $0.done = 1; $0.total = 1; $0.model = summary })
        stages.note("trained \(summary.version) in \(String(format: "%.1f", summary.seconds)) s: \(summary.trainingRows) training rows (\(summary.trainingPositives) positives, \(negativesPerPositive) negatives per positive), \(summary.validationRows) validation rows, \(treeCount) trees")
        return summary
    }

    /// The trees' settings for a run: the options', with a Newton step damped as the defaults
    /// were tuned (`minChildHessian` and `lambda` 1).
    static func treeConfiguration(_ options: Options) -> GradientBoostedTrees.Configuration {
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = options.trees
        configuration.maxDepth = options.depth
        configuration.learningRate = options.learningRate
        configuration.seed = options.seed
        configuration.minChildHessian = 1
        configuration.lambda = 1
        return configuration
    }

    /// Logs the end of each training stage with its duration and the time since the run began,
    /// and every 100th tree: TrainModel at a million customers runs for minutes, and an operator
    /// reading the service's log sees where it is without the caller's progress stream.
    final class StageLog: Sendable {
        struct State {
            var stage = ""
            var stageStarted: ContinuousClock.Instant
            var lastDone: UInt64 = 0
            var lastTotal: UInt64 = 0
        }
        let logger: Logger?
        let started: ContinuousClock.Instant
        let state: Mutex<State>

        init(logger: Logger?) {
            self.logger = logger
            let now = ContinuousClock.now
            started = now
            state = Mutex(State(stageStarted: now))
        }

        func record(_ message: Crm_Matching_V1_TrainingProgress) {
            guard let logger else { return }
            let now = ContinuousClock.now
            let elapsed = ModelTrainer.seconds(now - started)
            state.withLock { state in
                if message.stage != state.stage {
                    if !state.stage.isEmpty {
                        logger.info("training: \(state.stage) ended (\(state.lastDone)/\(state.lastTotal)) in \(String(format: "%.1f", ModelTrainer.seconds(now - state.stageStarted))) s, \(String(format: "%.1f", elapsed)) s since the start")
                    }
                    state.stage = message.stage
                    state.stageStarted = now
                }
                state.lastDone = message.done
                state.lastTotal = message.total
                if message.stage == "training" && message.done % 100 == 0 {
                    logger.info("training: tree \(message.done)/\(message.total), validation loss \(String(format: "%.5f", message.validationLoss)), \(String(format: "%.1f", elapsed)) s since the start")
                }
            }
        }

        func note(_ text: @autoclosure () -> String) {
            guard let logger else { return }
            logger.info("training: \(text()), \(String(format: "%.1f", ModelTrainer.seconds(ContinuousClock.now - started))) s since the start")
        }
    }

    func latestPurchaseMonth() async throws -> BusinessMonth? {
        try await replica.database.read { db in
            try String.fetchOne(db, sql: "SELECT MAX(month) FROM purchase").flatMap(BusinessMonth.init)
        }
    }

    struct Purchase: Sendable {
        let customer: String
        let product: String
    }

    func purchases(in month: BusinessMonth) async throws -> [Purchase] {
        try await replica.database.read { db in
            try Row.fetchAll(db, sql: "SELECT customer_id, product_code FROM purchase WHERE month = ?", arguments: [month.description])
                .map { Purchase(customer: $0[0], product: $0[1]) }
        }
    }

    /// The training months' purchases as the choice model sees them: each purchase is the offer
    /// the buyer faced (the products of the family on sale that MATCHed them on the month's first
    /// day, each one's features) and which product they took. Offers with the same products and
    /// features (buyers of the same suitability profile in a month) are kept once and each
    /// purchase is 8 bytes; the fit reads each choice through its offer, so the sharing changes
    /// nothing of it.
    struct ChoiceSituations: Sendable {
        struct Offer: Sendable {
            let products: [String]
            let features: [Double]
        }

        private struct Key: Hashable {
            let products: [String]
            let features: [Double]
        }

        var offers: [Offer] = []
        var choices: [ChoiceModel.Offers.Choice] = []
        private var known: [Key: Int32] = [:]

        /// Adds a month's purchases, in the order given.
        mutating func add(_ records: [ChoiceRecord]) {
            for record in records {
                let key = Key(products: record.products, features: record.features)
                let offer: Int32
                if let index = known[key] {
                    offer = index
                } else {
                    offers.append(Offer(products: record.products, features: record.features))
                    offer = Int32(offers.count - 1)
                    known[key] = offer
                }
                choices.append(.init(offer: offer, chosen: Int32(record.chosen)))
            }
            known.removeAll(keepingCapacity: true)
        }
    }

    /// One purchase as a choice: its position among the month's purchases, the products on offer,
    /// their features, and which was taken.
    struct ChoiceRecord: Sendable {
        let purchase: Int
        let products: [String]
        let features: [Double]
        let chosen: Int
    }

    /// The month's purchases by customers this replica holds as choices, in purchase order; a
    /// purchase of a product that was not among the buyer's choices on the first day (launched
    /// later in the month), or by a customer whose assessment did not cover that day, is left out.
    /// The offer of a (profile, family) is computed once.
    func choiceRecords(_ month: BusinessMonth, purchases: [Purchase]) -> [ChoiceRecord] {
        let day = month.firstDay
        return replica.memory.withLock { memory in
            let buyers = Array(Set(purchases.map(\.customer))).sorted()
            let profiles = memory.availableProducts(customerIDs: buyers, day: day, choice: nil).profiles
            var profileOf: [String: UInt32] = [:]
            for (buyer, profile) in zip(buyers, profiles) { profileOf[buyer] = profile }
            var sets: [String: (choices: [CatalogEntry], features: [Double]?)] = [:]
            var records: [ChoiceRecord] = []
            for (position, purchase) in purchases.enumerated() {
                guard let profile = profileOf[purchase.customer], let family = memory.catalog[purchase.product]?.family else { continue }
                let key = "\(profile)/\(family)"
                var known = sets[key] ?? (memory.choiceSet(profile: profile, family: family, day: day), nil)
                guard let chosen = known.choices.firstIndex(where: { $0.product.productCode == purchase.product }) else {
                    sets[key] = known
                    continue
                }
                let features = known.features ?? {
                    let facts = memory.keys.profiles[Int(profile)]
                    return known.choices.flatMap { entry in
                        ProductChoiceFeatures.values(customer: facts, entry: entry, day: day,
                                                     recentSales: memory.behaviour.recentSales(of: entry.product.productCode, day: day))
                    }
                }()
                known.features = features
                sets[key] = known
                records.append(ChoiceRecord(purchase: position, products: known.choices.map(\.product.productCode), features: features, chosen: chosen))
            }
            return records
        }
    }

    /// Fits the choice model: each product's weight (exp of its intercept) and the coefficients.
    static func fitChoice(_ situations: ChoiceSituations) throws -> ([String: Double], Crm_Matching_V1_ChoiceModel) {
        let codes = Array(Set(situations.offers.flatMap(\.products))).sorted()
        let id = Dictionary(uniqueKeysWithValues: codes.enumerated().map { ($1, $0) })
        var shared = ChoiceModel.Offers()
        for offer in situations.offers {
            _ = shared.add(offer: .init(alternatives: offer.products.compactMap { id[$0] }, features: offer.features))
        }
        for choice in situations.choices { shared.add(choice: choice) }
        let model = try ChoiceModel.fit(shared, alternativeCount: codes.count, featureCount: ProductChoiceFeatures.names.count)
        var weights: [String: Double] = [:]
        for (index, code) in codes.enumerated() { weights[code] = exp(model.intercepts[index]) }
        return (weights, .with {
            $0.features = ProductChoiceFeatures.names
            $0.coefficients = model.coefficients
        })
    }

    /// The (customer, family) pairs that bought in a month: the month's positive rows.
    static func familyPurchases(_ bought: [Purchase], families: [String: Int?]) -> Set<FamilyPurchase> {
        var positives = Set<FamilyPurchase>()
        for purchase in bought {
            if let family = families[purchase.product] ?? nil { positives.insert(FamilyPurchase(customer: purchase.customer, family: family)) }
        }
        return positives
    }

    struct FamilyPurchase: Hashable {
        let customer: String
        let family: Int
    }

    /// Negatives kept per positive: as many as asked, fewer when the rows would pass the budget
    /// (every positive stays), at least one.
    static func negativesPerPositive(asked: Int, positives: Int, maxRows: Int) -> Int {
        min(asked, max(1, (maxRows - positives) / max(1, positives)))
    }

    /// The share of a month's negative cells kept so that it has `negativesPerPositive` per
    /// positive (all of them when it has fewer); each kept one weighs 1 / the share.
    static func keptShare(positives: Int, negativesPerPositive: Int, sellableCells: Int) -> Double {
        min(1, Double(max(1, positives) * negativesPerPositive) / Double(max(1, sellableCells - positives)))
    }

    /// A deterministic number in [0, 1) per (customer, family, month, seed): the negative sample.
    static func unitHash(_ customer: String, _ family: Int, _ month: BusinessMonth, _ seed: UInt64) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in customer.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash ^= UInt64(family) &* 0x9e37_79b9_7f4a_7c15
        hash ^= UInt64(month.year * 12 + month.month) &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 31
        hash = hash &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 29
        return Double(hash >> 11) / Double(1 << 53)
    }

    static func logLoss(logits: [Double], labels: [Bool], weights: [Float]?) -> Double {
        var total = 0.0
        var weightSum = 0.0
        for index in logits.indices {
            let weight = Double(weights?[index] ?? 1)
            let p = min(max(Scorer.sigmoid(logits[index]), 1e-12), 1 - 1e-12)
            total -= weight * (labels[index] ? log(p) : log(1 - p))
            weightSum += weight
        }
        return weightSum > 0 ? total / weightSum : 0
    }

    static func version(kind: Crm_Matching_V1_ModelKind, trainedAt: Int64, bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let prefix = kind == .logisticRegression ? "lr" : "gbt"
        return "\(prefix)-\(trainedAt)-\(String(hash >> 32, radix: 16))"
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Feature rows collected for training: for trees as their one-byte codes
    /// (``BinnedRowsBuilder``), so the float table, four times the bytes, is never built; for
    /// logistic regression, which fits the values themselves, as floats.
    struct RowSet {
        let space: FeatureSpace
        var values: [Float] = []
        var coded: BinnedRowsBuilder?
        var labels: [Bool] = []
        var weights: [Float] = []
        var positives = 0

        /// Codes rows for trees trained with `configuration` (its binning settings), or keeps
        /// floats without one.
        init(space: FeatureSpace, coding configuration: GradientBoostedTrees.Configuration? = nil) throws {
            self.space = space
            if let configuration { coded = try BinnedRowsBuilder(columnNames: space.names, configuration: configuration) }
        }

        var count: Int { labels.count }

        /// The coding edges once learned (nil for floats, or while the first rows are the sample).
        var edges: FeatureBins? { coded?.edges }

        /// The bytes the rows' features take now.
        var heldBytes: Int { coded?.heldBytes ?? values.capacity * MemoryLayout<Float>.stride }

        mutating func append(_ row: [Float], label: Bool, weight: Float) throws {
            if coded != nil {
                try coded?.append(row: row)
            } else {
                values.append(contentsOf: row)
            }
            labels.append(label)
            weights.append(weight)
            if label { positives += 1 }
        }

        /// At a month's end: learns the edges once the rows so far fill the binning sample.
        mutating func learnEdgesIfSampleFull() {
            coded?.learnEdgesIfSampleFull()
        }

        /// Codes these rows with another set's edges (validation with training's).
        mutating func adopt(_ edges: FeatureBins) throws {
            try coded?.adopt(edges)
        }

        func labeled() throws -> LabeledData {
            try LabeledData(features: try FeatureMatrix(columnNames: space.names, values: values), labels: labels, weights: weights)
        }

        /// The coded rows (with `edges` when given, else their own); the builder is emptied.
        mutating func binned(edges: FeatureBins? = nil) throws -> BinnedData {
            guard var builder = coded else { throw PropensityError(.invalidInput, "the rows were kept as floats") }
            coded = nil
            if let edges { try builder.adopt(edges) }
            return try BinnedData(features: builder.finish(), labels: labels, weights: weights)
        }
    }
}

extension BusinessMonth {
    var lastDayText: String {
        let civil = CivilDay.civil(lastDay)
        return String(format: "%04d-%02d-%02d", civil.year, civil.month, civil.day)
    }
}
