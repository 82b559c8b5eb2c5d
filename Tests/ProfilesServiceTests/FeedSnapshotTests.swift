import CRMTestSupport
import CRMProtos
import CRMRPC
import Foundation
import GRDB
import Testing
@testable import ProfilesService

/// The snapshot a new consumer starts from, and the positional form of the dimensions in it and in
/// the change feed.
@Suite struct FeedSnapshotTests {
    /// Reads the positional numbers back into names through the data dictionary.
    static func named(_ dimensions: Crm_Profiles_V1_CustomerDimensions, dictionary: [Crm_Profiles_V1_DimensionDefinition]) -> [String: Double] {
        var numbers: [String: Double] = [:]
        for (index, position) in dimensions.numberPositions.enumerated() {
            numbers[dictionary[Int(position)].name] = dimensions.numberValues[index]
        }
        return numbers
    }

    /// The positional categories and classes back into names.
    static func namedText(_ dimensions: Crm_Profiles_V1_CustomerDimensions, dictionary: [Crm_Profiles_V1_DimensionDefinition],
                          schemes: [Crm_Profiles_V1_ClassificationScheme]) -> (categories: [String: String], classes: [String: String]) {
        var categories: [String: String] = [:], classes: [String: String] = [:]
        for (index, position) in dimensions.categoryPositions.enumerated() { categories[dictionary[Int(position)].name] = dimensions.categoryValues[index] }
        for (index, position) in dimensions.classPositions.enumerated() { classes[schemes[Int(position)].name] = dimensions.classValues[index] }
        return (categories, classes)
    }

    static func dictionaries(_ harness: ProfilesHarness) async throws -> ([Crm_Profiles_V1_DimensionDefinition], [Crm_Profiles_V1_ClassificationScheme]) {
        let dimensions = try await harness.office.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest()).dimensions
        let schemes = try await harness.office.unary(Crm_Profiles_V1_Profiles.listClassificationSchemes, Crm_Profiles_V1_ListClassificationSchemesRequest()).schemes
        return (dimensions, schemes)
    }

    @Test(arguments: [2_000, 2]) func theSnapshotHoldsEveryCustomersCurrentStateInPagesWithTheFeedsSequence(readPage: Int) async throws {
        // Read 2 customers at a time, a call's pages are read ahead while the one before is sent.
        try await withService(await ProfilesHarness.start(settings: ["snapshot.page": "\(readPage)"])) { harness in
            for id in ["C1", "C2", "C3", "C4", "C5"] { try await harness.upsert(id) }
            for (tolerance, id) in [(Crm_Common_V1_RiskTolerance.c2, "C2"), (.c4, "C2"), (.c3, "C4")] {
                _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.recordAssessment, Crm_Profiles_V1_RecordAssessmentRequest.with {
                    $0.customerID = id
                    $0.assessment = .with {
                        $0.investorClass = .ordinary
                        $0.riskTolerance = tolerance
                        $0.assessedOn = .init(year: 2026, month: 3, day: 2)
                        $0.horizon = .oneTo3Years
                        $0.varieties = [.funds]
                    }
                })
            }
            _ = try await harness.ingestTrades((1...4).map { ProfilesHarness.trade("T\($0)", customer: "C3", amountFen: 250_000 * Int64($0)) })
            try await harness.service.service.updateDimensions()
            let (dictionary, schemes) = try await Self.dictionaries(harness)
            let lastSequence = try await harness.changes(after: 0).last?.sequence ?? 0

            func snapshot(after: String, limit: UInt32) async throws -> [Crm_Profiles_V1_SnapshotEntry] {
                try await harness.office.serverStreaming(Crm_Profiles_V1_Profiles.streamSnapshot, Crm_Profiles_V1_StreamSnapshotRequest.with {
                    $0.afterCustomerID = after
                    $0.limit = limit
                }).collect()
            }
            let first = try await snapshot(after: "", limit: 3)
            let rest = try await snapshot(after: first.last?.customer.customerID ?? "", limit: 0)
            #expect(first.map(\.customer.customerID) == ["C1", "C2", "C3"])
            #expect(rest.map(\.customer.customerID) == ["C4", "C5"])
            #expect(try await snapshot(after: "C5", limit: 0).isEmpty)
            let entries = first + rest
            #expect(entries.allSatisfy { $0.sequence == lastSequence })
            // The latest assessment only; none for a customer never assessed.
            #expect(entries[1].assessment.riskTolerance == .c4 && entries[1].assessment.sequence == 2)
            #expect(entries[3].assessment.riskTolerance == .c3)
            #expect(!entries[0].hasAssessment)
            // Every value of the 360 view, by position, and the maps left empty.
            for entry in entries {
                let view = try await harness.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with {
                    $0.customerID = entry.customer.customerID
                }).view
                #expect(entry.customer == view.customer)
                #expect(entry.dimensions.numbers.isEmpty && entry.dimensions.categories.isEmpty && entry.dimensions.classes.isEmpty)
                #expect(Self.named(entry.dimensions, dictionary: dictionary) == view.dimensions.numbers)
                let text = Self.namedText(entry.dimensions, dictionary: dictionary, schemes: schemes)
                #expect(text.classes == view.dimensions.classes && text.classes.count == schemes.count)
                #expect(text.categories == view.dimensions.categories)
            }
            #expect(Self.named(entries[2].dimensions, dictionary: dictionary)["trade_count_365d"] == 4)
        }
    }

    @Test func theFeedAnnouncesDimensionsByPositionAndThenOnlyWhatChanged() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1")
            _ = try await harness.ingestTrades([ProfilesHarness.trade("T1", customer: "C1")])
            try await harness.service.service.updateDimensions()
            _ = try await harness.ingestTrades([ProfilesHarness.trade("T2", customer: "C1")])
            try await harness.service.service.updateDimensions()
            let dictionary = try await harness.office.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest()).dimensions
            let announced = try await harness.changes(after: 0).filter { $0.kind == .dimensionsChanged }.map(\.dimensions)
            #expect(announced.count == 2)
            #expect(announced.allSatisfy { $0.numbers.isEmpty && $0.numberPositions.count == $0.numberValues.count })
            let full = Self.named(announced[0], dictionary: dictionary)
            let delta = Self.named(announced[1], dictionary: dictionary)
            #expect(full["trade_count_365d"] == 1 && delta["trade_count_365d"] == 2)
            #expect(delta.count < full.count)
            // Positions point at numeric dimensions only.
            #expect(announced.flatMap(\.numberPositions).allSatisfy { dictionary[Int($0)].type != .category })
        }
    }

    @Test func theDimensionsMoveToTheirOwnTableWithoutLoss() throws {
        let path = TestFiles.sqlitePath("profiles-v2")
        let queue = try DatabaseQueue(path: path)
        try ProfilesSchema.migrator.migrate(queue, upTo: "v2-history-events-feed")
        let stored = StoredDimensions(asOf: 20_000, numbers: [1.5, .nan, 3], categories: ["FUND_BOND"], classes: ["gold"])
        try queue.write { db in
            try db.execute(sql: "INSERT INTO customer_ledger (customer_id, ledger, dimensions, as_of, recent) VALUES ('C1', x'00', ?, 20000, x'')",
                           arguments: [stored.serialized()])
        }
        try ProfilesSchema.migrator.migrate(queue)
        try queue.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT as_of, dimensions FROM customer_dimensions WHERE customer_id = 'C1'"))
            #expect(row["as_of"] as Int32 == 20_000)
            #expect(try StoredDimensions(serialized: row["dimensions"] as Data).serialized() == stored.serialized())
            #expect(try db.columns(in: "customer_ledger").map(\.name) == ["customer_id", "ledger", "recent"])
        }
    }
}
