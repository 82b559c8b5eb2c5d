import CRMProtos
import Foundation
import GRDB
import Testing
@testable import MatchingService

/// A month's rows built streamed, a block of customers at a time (``MonthRows/stream``), are the
/// rows the month's inputs held whole gave (the way training built them before): the same
/// (customer, family) cells in the same order, the same labels, weights and features bit for bit,
/// whatever the block size — so streaming changed no row and no model.
@Suite(.serialized) struct MonthStreamTests {
    static let month = BehaviourRowsTests.month

    /// Seven customers of several tolerances, with views, contacts and orders before the month
    /// (some at the same instant, some of the same family, one customer with none) and after its
    /// start (which no row may read).
    static func setUp() async throws -> MatchingHarness {
        let harness = try await BehaviourRowsTests.setUp()
        let rows = BehaviourRowsTests()
        for (id, tolerance) in [("B-C2", Crm_Common_V1_RiskTolerance.c2), ("B-C3", .c3), ("B-C5", .c5), ("B-C3b", .c3), ("B-C0", .c4)] {
            try await harness.customer(id, tolerance: tolerance, assessedDaysAgo: 300)
        }
        let at = BehaviourRowsTests.at
        try await rows.views(harness, "B-C4", "BF01", "FUND_BOND", at: [at(-2, 10), at(-2, 10), at(-5, 10), at(-40, 10), at(3, 10)], tag: "s")
        try await rows.views(harness, "B-C2", "MM01", "FUND_MONEY_MARKET", at: [at(-1, 9), at(-29, 9), at(-89, 9)], tag: "s")
        try await rows.views(harness, "B-C3", "BF01", "FUND_BOND", at: [at(-7, 11), at(-8, 11)], tag: "s")
        try await rows.views(harness, "B-C5", "EQ01", "FUND_EQUITY", at: [at(-3, 15), at(-3, 15), at(-60, 15)], tag: "s")
        try await rows.views(harness, "B-C3b", "BF01", "FUND_BOND", at: [at(-4, 10)], tag: "s")
        try await rows.contact(harness, "B-C4", about: "EQ01", at: at(-6, 10), tag: "s1")
        try await rows.contact(harness, "B-C5", about: "BF01", at: at(-2, 10), tag: "s2")
        try await rows.contact(harness, "B-C3", about: "MM01", at: at(1, 10), tag: "s3")
        try await rows.order(harness, "S-O1", "B-C4", "BF01", fen: 5_000_000, at: at(-20, 10))
        try await rows.order(harness, "S-O2", "B-C4", "BF01", fen: 1_234_567, at: at(-20, 10))
        try await rows.order(harness, "S-O3", "B-C5", "EQ01", fen: 9_900_000, at: at(-100, 10))
        try await rows.order(harness, "S-R1", "B-C5", "EQ01", side: .redemption, fen: 1_000_000, at: at(-10, 10))
        try await rows.order(harness, "S-O4", "B-C2", "MM01", fen: 700_000, at: at(2, 10))
        try await harness.waitUntilCaughtUp()
        return harness
    }

    /// One visited row: where it came from and what it holds.
    struct Visited: Equatable {
        let customer: String
        let family: Int
        let label: Bool
        let weight: Float
        let bits: [UInt32]
    }

    /// The month's inputs held whole, as training read them before streaming (main b28666e's
    /// `MonthRows.load`): every snapshot row, every customer's behaviour grouped in memory.
    static func wholeMonth(_ replica: Replica, choice: ProductChoice?) async throws -> MonthRows {
        let start = BusinessDays.millis(ofDay: month.firstDay)
        let catalogue = replica.memory.withLock { memory in memory.catalog.mapValues(\.family) }
        let (rows, behaviour) = try await replica.database.read { db in
            (try SnapshotStore.rows(db, asOf: month.previous.lastDay),
             try BehaviourStore.byCustomer(db, reaching: start, until: start) { catalogue[$0] ?? nil })
        }
        let ids = rows.map(\.customerID)
        let (profiles, available) = replica.memory.withLock { memory in memory.availableProducts(customerIDs: ids, day: month.firstDay, choice: choice) }
        return MonthRows(month: month, start: start, rows: rows, behaviour: behaviour,
                         sellable: MonthRows.sellableFamilies(profiles: profiles, available: available), profiles: profiles, available: available)
    }

    static func visit(_ inputs: MonthRows, positives: Set<ModelTrainer.FamilyPurchase>, keep: Double, into visited: inout [Visited]) {
        inputs.forEachRow(space: BehaviourRowsTests.space, positives: positives, keep: keep, seed: 3) { position, family, label, weight, features in
            visited.append(Visited(customer: inputs.rows[position].customerID, family: family, label: label, weight: weight, bits: features.map(\.bitPattern)))
        }
    }

    @Test func streamedRowsAreTheRowsOfTheWholeMonth() async throws {
        let harness = try await Self.setUp()
        let replica = harness.replicas[0].service.replica
        _ = try await SnapshotStore.fetch(asOf: Self.month.previous.lastDay, from: harness.profiles.client(token: "service"), into: replica.database)
        let choice = BehaviourRowsTests.choice
        let positives: Set<ModelTrainer.FamilyPurchase> = [.init(customer: "B-C4", family: 1), .init(customer: "B-C5", family: 3)]

        for keep in [1.0, 0.5] {
            var whole: [Visited] = []
            let inputs = try await Self.wholeMonth(replica, choice: choice)
            Self.visit(inputs, positives: positives, keep: keep, into: &whole)
            #expect(Set(whole.map(\.customer)).count >= 5, "most customers have rows: \(Set(whole.map(\.customer)).sorted())")
            #expect(whole.contains { $0.label } && whole.contains { !$0.label })
            let plan = try await MonthRows.plan(Self.month, replica: replica, choice: choice)
            #expect(plan.customerIDs == inputs.rows.map(\.customerID))
            #expect(plan.sellableCells == inputs.sellable.reduce(0) { $0 + $1.nonzeroBitCount })
            for blockSize in [1, 2, 3, 1_000] {
                var streamed: [Visited] = []
                var blocks = 0
                try MonthRows.stream(plan, database: replica.database, blockSize: blockSize) { block in
                    blocks += 1
                    Self.visit(block, positives: positives, keep: keep, into: &streamed)
                }
                #expect(blocks == (plan.customerIDs.count + blockSize - 1) / blockSize)
                #expect(streamed == whole, "keep \(keep), blocks of \(blockSize)")
            }
            // Built on several threads, each a share of the block's customers: the same rows in
            // the same order (what training appends).
            for workers in [1, 2, 3, 4] {
                var built: [Visited] = []
                try MonthRows.stream(plan, database: replica.database, blockSize: 1_000) { block in
                    // The shares cover the block's rows once each, in order (the evaluation's scores too).
                    let shares = block.inShares(workers: workers, minimumShare: 1) { Array($0) }
                    #expect(shares.flatMap { $0 } == Array(block.rows.indices) && shares.count == min(workers, block.rows.count))
                    built += block.rows(space: BehaviourRowsTests.space, positives: positives, keep: keep, seed: 3, workers: workers, minimumShare: 1).map { row in
                        Visited(customer: "", family: 0, label: row.label, weight: row.weight, bits: row.features.map(\.bitPattern))
                    }
                }
                #expect(built == whole.map { Visited(customer: "", family: 0, label: $0.label, weight: $0.weight, bits: $0.bits) },
                        "keep \(keep), \(workers) workers")
            }
        }
        // The behaviour read customer by customer is the behaviour grouped whole, list for list.
        let start = BusinessDays.millis(ofDay: Self.month.firstDay)
        let catalogue = replica.memory.withLock { memory in memory.catalog.mapValues(\.family) }
        let ids = try await MonthRows.plan(Self.month, replica: replica, choice: choice).customerIDs
        let (grouped, ordered) = try await replica.database.read { db in
            var cursor = try BehaviourStore.CustomerOrder(db, reaching: start, until: start) { catalogue[$0] ?? nil }
            let ordered = try ids.map { try cursor.events(of: $0) }
            return (try BehaviourStore.byCustomer(db, reaching: start, until: start) { catalogue[$0] ?? nil }, ordered)
        }
        #expect(ordered == ids.map { grouped[$0] ?? [] })
        #expect(ordered.reduce(0) { $0 + $1.count } >= 14, "the events before the month's start are read")
        try await harness.stop()
    }
}
