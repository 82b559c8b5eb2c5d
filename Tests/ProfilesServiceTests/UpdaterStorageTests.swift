import CRMTestSupport
import CRMProtos
@testable import CustomerDimensions
import Foundation
import GRDB
import Logging
import Testing
@testable import ProfilesService

/// The dimension updater's stored forms and shortcuts give what the slower, plainer code gave.
@Suite struct UpdaterStorageTests {
    /// Trades with repeated times (ties) and contacts, more than the recent limit holds.
    private func events() -> [CustomerEvent] {
        var events: [CustomerEvent] = []
        for n in 0..<70 {
            events.append(Fixture.trade(Fixture.asOf - Int32(n % 9), amount: 1_000 + Int64(n), key: "t\(n)", hour: Int64(9 + n % 3)))
            if n % 4 == 0 { events.append(Fixture.contact(Fixture.asOf - Int32(n % 5), key: "c\(n)")) }
        }
        return events
    }

    @Test func recentActivityAddedInBatchesEqualsOneByOne() throws {
        let all = events()
        var oneByOne = RecentActivity()
        for event in all { try oneByOne.add([event], limit: 50) }
        var batched = RecentActivity()
        try batched.add(Array(all[..<30]), limit: 50)
        batched = try RecentActivity(stored: batched.serialized())
        try batched.add(Array(all[30...]), limit: 50)
        #expect(batched == oneByOne)
        #expect(batched.trades.count == 50)
        // Newest first, and among equal times the one applied first.
        let times = batched.trades.map(\.atMillis)
        #expect(times == times.sorted(by: >))
        let keys = try batched.tradeMessages(limit: 50).map(\.idempotencyKey)
        let firstNewest = all.compactMap { event -> (String, Int64)? in
            if case let .trade(trade) = event { return (trade.key, trade.tradedAtMillis) }
            return nil
        }.filter { $0.1 == times[0] }.map(\.0)
        #expect(Array(keys.prefix(firstNewest.count)) == firstNewest)
    }

    @Test func recentActivityReadsTheEarlierCustomer360Form() throws {
        var legacy = Crm_Profiles_V1_Customer360()
        legacy.recentTrades = [RecentActivity.message(Trade(
            key: "T1", customerID: "c1", account: .cash, side: .buy, instrument: "600000", instrumentType: .stock, sector: "banking",
            quantity: 100, price: "1.00", amountFen: 10_000, commissionFen: 5, feesFen: 1, tradedAtMillis: 1_000))]
        legacy.recentContacts = [RecentActivity.message(ServiceContact(
            key: "K1", customerID: "c1", channel: .visit, staffID: "s1", topic: "review", outcome: .interested, atMillis: 2_000))]
        let read = try RecentActivity(stored: try legacy.serializedBytes())
        #expect(try read.tradeMessages(limit: 20) == legacy.recentTrades)
        #expect(try read.contactMessages(limit: 20) == legacy.recentContacts)
        #expect(try RecentActivity(stored: read.serialized()) == read)
        #expect(try RecentActivity(stored: Data()) == RecentActivity())
    }

    @Test func storedDimensionsShortcutsMatchThePlainForms() throws {
        let classifier = try Classifier()
        for (events, facts) in [(Fixture.activeEvents, Fixture.activeFacts), ([], CustomerFacts(status: .prospect))] {
            let values = Fixture.compute(events, facts: facts)
            let classes = classifier.classes(values, customer: facts)
            let plain = StoredDimensions(values: values, classes: classes)
            let aligned = StoredDimensions.aligned(values, classes: classes)
            #expect(aligned.isIdentical(to: plain))
            #expect(aligned.encodedBytes() == plain.serialized())
            #expect(try StoredDimensions(serialized: aligned.encodedBytes()).isIdentical(to: plain))
            #expect(try StoredDimensions.decoded(plain.serialized()).isIdentical(to: plain))
            #expect(throws: StoredDimensions.DecodingError.self) { try StoredDimensions.decoded(plain.serialized().dropLast(3)) }
            // NaN (missing) compares as the same value; any other difference does not.
            #expect(facts.status != .prospect || plain.numbers.contains { $0.isNaN })
            var changed = plain
            changed.numbers[0] = 1.5
            #expect(!changed.isIdentical(to: plain))
        }
    }

    /// Folding in steps of a few events — each step computed while the one before it is written, a
    /// customer's events cut across steps — leaves the same ledgers, recent activity and dimensions
    /// as folding everything in one step computed on both cores, and both equal a rebuild from the
    /// stored events.
    @Test func smallPipelinedStepsEqualOneStep() async throws {
        var stores: [[String: [Data]]] = []
        // The one big step also splits its customers' computing over the cores.
        for (events, customers, parallel) in [(3, 2, 64), (50_000, 20_000, 1)] {
            try await withService(await ProfilesHarness.start()) { harness in
                for id in ["A", "B", "C"] { try await harness.upsert(id) }
                try await harness.upsert("P", status: .prospect)
                let ids = ["A", "B", "A", "C", "B", "A", "A", "C"]
                _ = try await harness.ingestTrades((0..<40).map { n in
                    ProfilesHarness.trade("T\(n)", customer: ids[n % ids.count], amountFen: 100_000 + Int64(n), day: Int32(1 + n % 20))
                })
                let classifier = try Classifier()
                let updater = DimensionUpdater(database: harness.service.database, classifier: classifier,
                                               index: DimensionIndex(schema: ProfileRules.schema(classifier: classifier)), logger: Logger(label: "test"),
                                               eventsPerStep: events, customersPerStep: customers, parallelFrom: parallel)
                #expect(try await updater.catchUp() == 40)
                let state: [String: [Data]] = try await harness.service.database.read { db in
                    var rows: [String: [Data]] = [:]
                    for row in try Row.fetchAll(db, sql: """
                        SELECT d.customer_id, COALESCE(l.ledger, x''), COALESCE(l.recent, x''), d.dimensions
                        FROM customer_dimensions d LEFT JOIN customer_ledger l ON l.customer_id = d.customer_id
                        """) {
                        rows[row[0]] = [row[1], row[2], row[3]]
                    }
                    return rows
                }
                let report = try await harness.service.database.read { db in try LedgerRebuild.verify(db) }
                #expect(report.mismatches.isEmpty)
                #expect(report.customers == 4)  // the prospect's creation wrote its (empty) ledger too
                stores.append(state)
            }
        }
        #expect(stores[0].count == 4)
        #expect(stores[0] == stores[1])
    }

    /// Seeds from ``ComputedSeeds`` hold what the updater computes: folding their creation again
    /// changes nothing and announces nothing.
    @Test func computedSeedsAreWhatTheUpdaterComputes() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            // The business date: 2026-06-30, from one ingested position.
            try await harness.upsert("X1")
            _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, Crm_Profiles_V1_IngestDailyPositionsRequest.with {
                $0.events = [.with {
                    $0.idempotencyKey = "P1"; $0.customerID = "X1"; $0.tradingDay = .init(year: 2026, month: 6, day: 30)
                    $0.cash = .with { $0.minorUnits = 1_000_000 }
                }]
            })
            try await harness.service.service.updateDimensions()

            let asOf = Crm_Common_V1_Date(year: 2026, month: 6, day: 30)
            let computed = try ComputedSeeds()
            let seeds = [
                computed.seed(customer: .with {
                    $0.customerID = "S1"; $0.kind = .individual; $0.name = "Seeded"; $0.status = .normal; $0.managerID = "M1"
                    $0.openDate = .init(year: 2019, month: 3, day: 1); $0.birthDate = .init(year: 1980, month: 1, day: 2)
                }, assessment: .with {
                    $0.investorClass = .ordinary; $0.riskTolerance = .c4
                    $0.assessedOn = .init(year: 2026, month: 1, day: 5); $0.expiresOn = .init(year: 2028, month: 1, day: 4)
                }, asOf: asOf),
                computed.seed(customer: .with { $0.customerID = "S2"; $0.kind = .institution; $0.name = "Lead"; $0.status = .prospect }, assessment: nil, asOf: asOf),
            ]
            try await StoreSeeding.write(seeds, into: harness.service.database)
            let dimensionsChanged = Crm_Profiles_V1_ChangeKind.dimensionsChanged.rawValue
            func announcements() async throws -> Int {
                try await harness.service.database.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM change_log WHERE kind = ? AND customer_id IN ('S1', 'S2')", arguments: [dimensionsChanged]) ?? -1
                }
            }
            func stored() async throws -> [Data] {
                try await harness.service.database.read { db in
                    try Data.fetchAll(db, sql: "SELECT dimensions FROM customer_dimensions WHERE customer_id IN ('S1', 'S2') ORDER BY customer_id")
                }
            }
            let before = try await stored()
            #expect(try await announcements() == 2)
            // The updater folds the seeded customers' creation (not marked folded here) and finds the same values.
            try await harness.service.service.updateDimensions()
            #expect(try await stored() == before)
            #expect(try await announcements() == 2)

            // Marking them folded moves the checkpoint past every change.
            try await ComputedSeeds.markFolded(harness.service.database, asOf: asOf)
            let checkpoint: [Int64] = try await harness.service.database.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT last_change_sequence, business_day, (SELECT MAX(sequence) FROM change_log) FROM dimension_checkpoint") else { return [] }
                return [row[0], row[1], row[2]]
            }
            #expect(checkpoint.count == 3 && checkpoint[0] == checkpoint[2])
            #expect(checkpoint.count == 3 && checkpoint[1] == Int64(Days.day(year: 2026, month: 6, day: 30)))
        }
    }
}
