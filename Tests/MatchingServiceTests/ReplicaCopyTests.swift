import CRMProtos
import CRMRPC
import Testing
@testable import MatchingService

/// How a replica's copy starts and stays equal to its sources: profiles' snapshot for a copy that
/// starts empty, the feed's deltas merged by position afterwards.
@Suite(.serialized) struct ReplicaCopyTests {
    /// Every customer as one replica holds it in memory, field by field: suitability facts and
    /// every numeric and categorical value by name.
    static func contents(of replica: Replica) -> [String: [String: String]] {
        replica.memory.withLock { memory in
            var out: [String: [String: String]] = [:]
            let columns = memory.customers
            for (index, id) in columns.ids.enumerated() {
                let row = Int32(index)
                let facts = columns.facts[index]
                var fields = ["status": "\(facts.status)"]
                if let a = facts.assessment {
                    fields["assessment"] = "\(a.investorClass) \(String(describing: a.riskTolerance)) \(a.lowestCategory) \(a.assessedOn) "
                        + "\(String(describing: a.expiresOn)) \(String(describing: a.horizon)) \(a.varieties.map { "\($0)" }.sorted())"
                }
                for name in columns.numberSlots.keys { fields[name] = columns.number(name, row: row).map { "\($0)" } ?? "-" }
                for name in columns.categorySlots.keys { fields[name] = columns.category(name, row: row) ?? "-" }
                out[id] = fields
            }
            return out
        }
    }

    /// The fields where two replicas differ ("customer.field: a ≠ b"), at most 10.
    static func differences(_ a: [String: [String: String]], _ b: [String: [String: String]]) -> [String] {
        var out: [String] = []
        for id in Set(a.keys).union(b.keys).sorted() {
            let left = a[id] ?? [:], right = b[id] ?? [:]
            for field in Set(left.keys).union(right.keys).sorted() where left[field] != right[field] {
                out.append("\(id).\(field): \(left[field] ?? "absent") ≠ \(right[field] ?? "absent")")
            }
        }
        return Array(out.prefix(10))
    }

    @Test func aReplicaStartedOnAFullStoreReadsTheSnapshotAndConvergesWithChangesArrivingMeanwhile() async throws {
        var harness = try await MatchingHarness.start()
        let ids = (0..<40).map { "C\($0)" }
        for id in ids { try await harness.customer(id, tolerance: .c3) }
        try await harness.product("R2", risk: .r2, rule: "status = normal")
        try await harness.waitUntilCaughtUp()
        try await harness.useConstantModel()

        // A second replica starts while customers keep changing: re-assessed, frozen, new ones.
        let writer = harness
        async let changing: Void = {
            for (index, id) in ids.enumerated() where index % 3 == 0 {
                try await writer.customer(id, status: index % 2 == 0 ? .frozen : .normal, tolerance: [.c1, .c2, .c4, .c5][index % 4])
            }
            for index in 40..<50 { try await writer.customer("C\(index)", tolerance: .c2) }
            try await writer.profiles.service.updateDimensions()
        }()
        let second = try await harness.addReplica()
        try await changing
        try await harness.waitUntilCaughtUp()

        let health = await second.service.healthDetails()
        #expect(Int(health["profiles_snapshot_customers"] ?? "") ?? 0 >= 40, "the copy started from the snapshot: \(health)")
        let expected = Self.contents(of: harness.replicas[0].service.replica)
        #expect(expected.count == 50)
        #expect(Self.differences(Self.contents(of: second.service.replica), expected) == [])
        #expect(try await harness.targets("R2", k: 100) == (try await harness.targets("R2", k: 100, client: second.client(token: "office"))))

        // After a restart each replica rebuilds the same memory from its own store.
        try await harness.waitUntilCaughtUp()
        try await second.service.replica.load()
        #expect(Self.differences(Self.contents(of: second.service.replica), expected) == [])
        try await harness.stop()
    }

    @Test func deltasMergeByPositionWhateverFormTheStoredCopyHas() {
        let positions = DimensionPositions([
            .with { $0.name = "a"; $0.type = .number },
            .with { $0.name = "kind"; $0.type = .category },
            .with { $0.name = "b"; $0.type = .money },
            .with { $0.name = "c"; $0.type = .count },
        ], schemes: ["asset_tier", "trading_style"])
        // A copy written before the feed was positional, by name.
        var stored = Crm_Profiles_V1_CustomerDimensions.with {
            $0.numbers = ["a": 1, "b": 2, "unknown": 9]
            $0.categories = ["kind": "FUND_BOND"]
            $0.classes = ["asset_tier": "gold", "trading_style": "active"]
        }
        let delta = Crm_Profiles_V1_CustomerDimensions.with {
            $0.customerID = "C1"
            $0.numberPositions = [2, 3]
            $0.numberValues = [.nan, 3]
            $0.classPositions = [0]
            $0.classValues = ["platinum"]
        }
        CopyStore.merge(delta, into: &stored, positions: positions)
        #expect(stored.numbers.isEmpty && stored.categories.isEmpty && stored.classes.isEmpty)
        #expect(stored.numberPositions == [0, 3])  // b is missing now; the unknown name is dropped
        #expect(stored.numberValues == [1, 3])
        #expect(stored.categoryPositions == [1] && stored.categoryValues == ["FUND_BOND"])
        #expect(stored.classPositions == [0, 1] && stored.classValues == ["platinum", "active"])
        // A delta by name on a positional copy; a category set back to missing.
        CopyStore.merge(.with { $0.numbers = ["b": 7]; $0.categoryPositions = [1]; $0.categoryValues = [""] }, into: &stored, positions: positions)
        #expect(stored.numberPositions == [0, 2, 3] && stored.numberValues == [1, 7, 3])
        #expect(stored.categoryPositions.isEmpty)
        // A position past the dictionary (it grew) is kept until the dictionary is read again.
        CopyStore.merge(.with { $0.numberPositions = [6]; $0.numberValues = [5] }, into: &stored, positions: positions)
        #expect(stored.numberPositions == [0, 2, 3, 6])
        #expect(positions.isOutdated(for: .with { $0.classPositions = [2]; $0.classValues = ["x"] }))
        #expect(positions.isOutdated(for: stored))
    }
}
