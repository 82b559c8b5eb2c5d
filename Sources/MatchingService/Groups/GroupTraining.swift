import CRMPartitions
import CRMPropensity
import CRMProtos
import CRMRPC
import Foundation
import GRDB

/// One training row of some group's customer: what ``GroupParts/merged(_:)`` puts in order.
struct PartRow: Sendable {
    let customerID: String
    let family: Int
    let label: Bool
    let weight: Float
    let features: [Float]
}

extension ModelTrainer {
    /// With matching groups, the other groups' parts of a training run (nil for a replica that
    /// holds every customer: it trains alone, as a replica always did).
    var groupParts: GroupParts? {
        guard let groups = replica.groups, groups.own != nil, !groups.others.isEmpty else { return nil }
        return GroupParts(groups: groups)
    }

    /// Fetches from profiles the month-ends `needed` lacks here (a group's replica keeps its own
    /// customers' rows). All the month-ends this replica lacks are asked for in one call per page:
    /// profiles folds each customer's events once for all of them (a new replica's first training
    /// needs twelve).
    func ensureSnapshots(_ needed: [BusinessMonth], progress: Progress? = nil, stages: StageLog? = nil) async throws {
        let database = replica.database
        var missing: [Int32] = []
        for month in needed {
            let asOf = month.previous.lastDay
            if try await database.read({ db in try SnapshotStore.count(db, asOf: asOf) }) == 0 { missing.append(asOf) }
        }
        guard !missing.isEmpty else { return }
        guard let profiles else {
            let month = needed.first { missing.contains($0.previous.lastDay) }
            throw RPCError(.failedPrecondition, "no snapshot of \(month?.previous.description ?? "a month-end") and no profiles peer to fetch it from")
        }
        let replica = self.replica
        // A group's replica asks profiles for its partitions' customers only (and keeps only its
        // own, whatever a profiles version without the field sends).
        let keeping: @Sendable (String) -> Bool = { replica.holds(customerID: $0) }
        let partitions = replica.groups?.ownPartitionNumbers ?? []
        let files = await Self.filePartitioning(of: profiles)
        do {
            for start in stride(from: 0, to: missing.count, by: monthEndsPerCall) {
                let days = Array(missing[start..<min(missing.count, start + monthEndsPerCall)])
                if days.count == 1 {
                    _ = try await SnapshotStore.fetch(asOf: days[0], from: profiles, into: database, page: snapshotPage, partitions: partitions,
                                                      keeping: keeping)
                    continue
                }
                let report: @Sendable (Int) -> Void = { customers in
                    progress?(.with { $0.stage = "snapshot-customers"; $0.done = UInt64(customers) })
                    stages?.note("month-ends of \(customers) customers fetched (\(days.count) month-ends in one pass)")
                }
                if let files {
                    _ = try await SnapshotStore.fetch(days: days, from: profiles, into: database, page: snapshotPage, byPartition: files,
                                                      partitions: partitions, calls: monthEndCalls, keeping: keeping, progress: report)
                } else {
                    _ = try await SnapshotStore.fetch(days: days, from: profiles, into: database, page: snapshotPage, partitions: partitions,
                                                      keeping: keeping, progress: report)
                }
            }
        } catch let error as RPCError {
            let months = needed.filter { missing.contains($0.previous.lastDay) }.map(\.previous.lastDayText)
            throw RPCError(.unavailable, "profiles could not provide the dimensions as of \(months.joined(separator: ", ")): \(error.message)")
        }
    }

    /// Profiles' partitioning when the process answering keeps a file per partition (its map's
    /// `feeds_per_partition`): month-ends are then fetched a partition at a time. Nil when it keeps
    /// one file or its map cannot be read: pages across the book work with every profiles.
    static func filePartitioning(of profiles: RPCClient) async -> Partitioning? {
        guard let map = try? await profiles.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest(),
                                                  options: .timeout(.seconds(10))),
              map.feedsPerPartition else { return nil }
        return try? Partitioning(count: Int(map.count))
    }

    // MARK: This group's parts, asked by the replica of another group that trains

    /// Per month: the cells this replica's customers could be sold at the month's start, once the
    /// month-ends are here.
    func sellableCells(_ months: [BusinessMonth]) async throws -> [Int] {
        try await ensureSnapshots(months)
        var cells: [Int] = []
        for month in months { cells.append(try await MonthRows.plan(month, replica: replica, choice: nil).sellableCells) }
        return cells
    }

    /// The month's training rows of this replica's customers, in customer order. The month-end is
    /// fetched first if missing: the trainer's calls to a group of several replicas rotate among
    /// them, so the replica asked for rows need not be the one that prepared.
    func rows(_ month: BusinessMonth, keep: Double, seed: UInt64, choice: ProductChoice) async throws -> [PartRow] {
        try await ensureSnapshots([month])
        let families = replica.memory.withLock { memory in memory.catalog.mapValues { $0.family } }
        let positives = Self.familyPurchases(try await purchases(in: month), families: families)
        let plan = try await MonthRows.plan(month, replica: replica, choice: choice)
        return try Self.rows(plan, database: replica.database, space: FeatureSpace(knownDimensions: Set(SnapshotRow.names)),
                             positives: positives, keep: keep, seed: seed)
    }

    /// A plan's rows as ``MonthRows/forEachRow(space:positives:keep:seed:_:)`` visits them, kept.
    static func rows(_ plan: MonthRows.Plan, database: DatabasePool, space: FeatureSpace, positives: Set<FamilyPurchase>,
                     keep: Double, seed: UInt64) throws -> [PartRow] {
        var rows: [PartRow] = []
        try MonthRows.stream(plan, database: database) { block in
            block.forEachRow(space: space, positives: positives, keep: keep, seed: seed) { position, family, label, weight, features in
                rows.append(PartRow(customerID: block.rows[position].customerID, family: family, label: label, weight: weight, features: features))
            }
        }
        return rows
    }
}

/// The other matching groups' parts of a training run, asked by the replica that trains (as the
/// service: these methods are internal, role service), and how they are merged so the model is
/// the one a replica holding every customer would train (docs/partitioning.md §9).
struct GroupParts: Sendable {
    let groups: ReplicaGroups
    /// A group builds a month of rows for its customers: minutes at a million customers.
    static let options = CallOptions.timeout(.seconds(3_600))

    /// The other groups' sellable cells per month, added up (each fetches its month-ends first).
    func prepare(_ months: [BusinessMonth]) async throws -> [BusinessMonth: Int] {
        let request = Crm_Matching_V1_GroupTrainingMonthsRequest.with { $0.months = months.map(\.description) }
        let answers = try await groups.askOthers(Self.options) { client, options in
            try await client.unary(Crm_Matching_V1_Matching.prepareGroupTraining, request, options: options)
        }
        var cells: [BusinessMonth: Int] = [:]
        for answer in answers {
            guard answer.sellableCells.count == months.count else {
                throw RPCError(.internal, "a matching group answered \(answer.sellableCells.count) months of sellable cells for \(months.count)")
            }
            for (month, count) in zip(months, answer.sellableCells) { cells[month, default: 0] += Int(count) }
        }
        return cells
    }

    /// The other groups' purchases as choices, per month (each group's in purchase order).
    func choices(_ months: [BusinessMonth]) async throws -> [BusinessMonth: [ModelTrainer.ChoiceRecord]] {
        let request = Crm_Matching_V1_GroupChoicesRequest.with { $0.months = months.map(\.description) }
        let answers = try await groups.askOthers(Self.options) { client, options in
            try await client.serverStreaming(Crm_Matching_V1_Matching.streamGroupChoices, request, options: options).collect()
        }
        var records: [BusinessMonth: [ModelTrainer.ChoiceRecord]] = [:]
        for choice in answers.joined() {
            guard months.indices.contains(Int(choice.month)) else { throw RPCError(.internal, "a matching group answered a choice of month \(choice.month)") }
            records[months[Int(choice.month)], default: []].append(.init(purchase: Int(choice.purchase), products: choice.products,
                                                                         features: choice.features, chosen: Int(choice.chosen)))
        }
        return records
    }

    /// The other groups' rows of `month`, one list per group, each in customer order.
    func rows(_ month: BusinessMonth, keep: Double, seed: UInt64, choice weights: [String: Double],
              choiceMessage: Crm_Matching_V1_ChoiceModel) async throws -> [[PartRow]] {
        let request = Crm_Matching_V1_GroupRowsRequest.with {
            $0.month = month.description
            $0.keep = keep
            $0.seed = seed
            $0.choice = .with { $0.productWeights = weights; $0.choice = choiceMessage }
        }
        return try await groups.askOthers(Self.options) { client, options in
            var rows: [PartRow] = []
            for try await row in try await client.serverStreaming(Crm_Matching_V1_Matching.streamGroupRows, request, options: options) {
                rows.append(PartRow(customerID: row.customerID, family: Int(row.family), label: row.label, weight: row.weight, features: row.features))
            }
            return rows
        }
    }

    /// The other groups' evaluation parts.
    func evaluation(_ month: BusinessMonth, products: [String], top: Int, model: Crm_Matching_V1_ExportModelResponse) async throws
        -> [Crm_Matching_V1_GroupEvaluationResponse] {
        let request = Crm_Matching_V1_GroupEvaluationRequest.with {
            $0.month = month.description
            $0.products = products
            $0.top = UInt32(top)
            $0.model = model
        }
        return try await groups.askOthers(Self.options) { client, options in
            try await client.unary(Crm_Matching_V1_Matching.evaluateGroup, request, options: options)
        }
    }

    /// The groups' rows in customer order (the snapshot store's: the ids' bytes), each customer's
    /// rows as its group gave them (families ascending): a customer is in one group only, so the
    /// rows of one id never come from two inputs, and ``PartitionMerge`` keeps each input's order.
    static func merged(_ parts: [[PartRow]]) -> [PartRow] {
        PartitionMerge.merge(parts, limit: .max) { $0.customerID.utf8.lexicographicallyPrecedes($1.customerID.utf8) }.rows
    }
}

/// The internal methods another group's training replica calls (``GroupParts``), answered from
/// this replica's own customers.
struct GroupTrainingHandlers: Sendable {
    let trainer: ModelTrainer

    func register(into router: inout Router) {
        let service = AccessPolicy.roles(MatchingRoles.service)
        let trainer = self.trainer
        router.unary(Crm_Matching_V1_Matching.prepareGroupTraining, policy: service, offEventLoop: true) { request, _ in
            let months = try Self.months(request.months, field: "months")
            let cells = try await trainer.sellableCells(months)
            return .with { $0.sellableCells = cells.map { UInt64($0) } }
        }
        router.serverStreaming(Crm_Matching_V1_Matching.streamGroupChoices, policy: service, offEventLoop: true) { request, writer, _ in
            let months = try Self.months(request.months, field: "months")
            for (index, month) in months.enumerated() {
                let purchases = try await trainer.purchases(in: month)
                for record in trainer.choiceRecords(month, purchases: purchases) {
                    try await writer.write(.with {
                        $0.month = UInt32(index)
                        $0.purchase = UInt32(record.purchase)
                        $0.products = record.products
                        $0.features = record.features
                        $0.chosen = UInt32(record.chosen)
                    })
                }
            }
        }
        router.serverStreaming(Crm_Matching_V1_Matching.streamGroupRows, policy: service, offEventLoop: true) { request, writer, _ in
            let month = try Self.months([request.month], field: "month")[0]
            guard request.keep > 0, request.keep <= 1 else { throw RPCError.invalidArgument(field: "keep", "must be in (0, 1]") }
            let choice = ProductChoice(weights: request.choice.productWeights, choice: request.choice.hasChoice ? request.choice.choice : nil)
            for row in try await trainer.rows(month, keep: request.keep, seed: request.seed, choice: choice) {
                try await writer.write(.with {
                    $0.customerID = row.customerID
                    $0.family = UInt32(row.family)
                    $0.label = row.label
                    $0.weight = row.weight
                    $0.features = row.features
                })
            }
        }
        router.unary(Crm_Matching_V1_Matching.evaluateGroup, policy: service, offEventLoop: true) { request, _ in
            let month = try Self.months([request.month], field: "month")[0]
            let scorer: Scorer
            do {
                scorer = try ModelStore.scorer(from: request.model)
            } catch {
                throw RPCError.invalidArgument(field: "model.model", "cannot be read: \(error)")
            }
            try await trainer.ensureSnapshots([month])
            let parts = try await ModelEvaluator(replica: trainer.replica).parts(scorer: scorer, month: month, products: request.products, top: Int(request.top))
            return .with { $0.products = parts }
        }
    }

    static func months(_ texts: [String], field: String) throws -> [BusinessMonth] {
        try texts.map { text in
            guard let month = BusinessMonth(text) else { throw RPCError.invalidArgument(field: field, "\(text) is not YYYY-MM") }
            return month
        }
    }
}
