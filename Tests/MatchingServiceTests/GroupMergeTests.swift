import CRMPartitions
import CRMPropensity
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import GRDB
import Testing
@testable import MatchingService

/// How matching groups' parts become one answer (docs/partitioning.md §9): target lists in the
/// order one replica ranks them, campaign baselines added up, training rows in customer order, the
/// evaluation's figures from each group's first K; and a group's replica keeps only its customers.
@Suite struct GroupMergeTests {
    static func target(_ id: String, _ score: Double) -> Crm_Matching_V1_TargetCustomer {
        .with { $0.customerID = id; $0.score = score; $0.rank = 99 }
    }

    @Test func targetListsMergeInOneReplicasOrderAndRankFromOne() throws {
        let first = Crm_Matching_V1_TargetCustomersResponse.with {
            $0.productCode = "B001"; $0.modelVersion = "v1"; $0.eligible = 5
            $0.customers = [Self.target("C3", 0.9), Self.target("C1", 0.5), Self.target("C7", 0.5)]
        }
        let second = Crm_Matching_V1_TargetCustomersResponse.with {
            $0.productCode = "B001"; $0.modelVersion = "v1"; $0.eligible = 4
            $0.customers = [Self.target("C2", 0.95), Self.target("C4", 0.5), Self.target("C0", 0.1)]
        }
        let merged = try GroupMerge.targets([first, second], k: 4)
        #expect(merged.eligible == 9 && merged.modelVersion == "v1")
        // Equal scores break by customer id, as TopHeap does.
        #expect(merged.customers.map(\.customerID) == ["C2", "C3", "C1", "C4"])
        #expect(merged.customers.map(\.rank) == [1, 2, 3, 4])
        #expect(GroupMerge.targets([first.customers, second.customers], limit: nil).count == 6)
    }

    @Test func partsScoredByDifferentModelsAreRefusedAsRetryable() {
        let first = Crm_Matching_V1_TargetCustomersResponse.with { $0.modelVersion = "v1" }
        let second = Crm_Matching_V1_TargetCustomersResponse.with { $0.modelVersion = "v2" }
        #expect {
            _ = try GroupMerge.targets([first, second], k: 10)
        } throws: { error in
            (error as? RPCError)?.code == .unavailable
        }
    }

    @Test func aCampaignsBaselineAddsEveryGroupsUntargetedCustomers() {
        let own = Crm_Matching_V1_CampaignReport.with {
            $0.targets = 10; $0.bought = 2; $0.hitRate = 0.2; $0.untargetedEligible = 30; $0.untargetedBought = 1
        }
        let other = Crm_Matching_V1_CampaignReport.with { $0.untargetedEligible = 70; $0.untargetedBought = 4 }
        let report = GroupMerge.report(own, others: [other])
        #expect(report.untargetedEligible == 100 && report.untargetedBought == 5)
        #expect(report.baselineRate == 0.05 && report.lift == 0.2 / 0.05)
        #expect(report.targets == 10 && report.bought == 2)
    }

    @Test func trainingRowsMergeByCustomerIdKeepingEachCustomersFamilies() {
        func row(_ id: String, _ family: Int) -> PartRow { PartRow(customerID: id, family: family, label: false, weight: 1, features: [Float(family)]) }
        let first = [row("C1", 0), row("C1", 3), row("C5", 1)]
        let second = [row("C2", 2), row("C4", 0), row("C4", 1), row("C9", 0)]
        let merged = GroupParts.merged([first, second, []])
        #expect(merged.map { "\($0.customerID)/\($0.family)" } == ["C1/0", "C1/3", "C2/2", "C4/0", "C4/1", "C5/1", "C9/0"])
    }

    @Test func evaluationFiguresFromEachGroupsFirstKEqualThoseOfOneRanking() {
        // One ranking of 8 eligible customers with 3 buyers, split between two groups.
        let scores: [(String, Double, Bool)] = [("A", 0.9, true), ("B", 0.8, false), ("C", 0.7, true), ("D", 0.6, false),
                                               ("E", 0.5, false), ("F", 0.4, true), ("G", 0.3, false), ("H", .nan, false)]
        let ranked = scores.map { id, score, bought in Crm_Matching_V1_GroupRanked.with { $0.customerID = id; $0.score = score; $0.bought = bought } }
        let groupOne = ranked.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let groupTwo = ranked.enumerated().filter { $0.offset % 2 == 1 }.map(\.element).reversed()
        let merged = ModelEvaluator.merged([Array(groupTwo), groupOne], top: 5)
        #expect(merged.map(\.customerID) == ["A", "B", "C", "D", "E"])
        let figures = ModelEvaluator.figures(merged, eligible: 8, buyers: 3, ks: [2, 5])
        let whole = scores.indices.map { $0 }
        let labels = scores.map(\.2)
        for (index, k) in [2, 5].enumerated() {
            #expect(Int(figures[index].hits) == RankingMetrics.hits(at: k, ranking: whole, labels: labels))
            #expect(figures[index].precision == RankingMetrics.precision(at: k, ranking: whole, labels: labels))
            #expect(figures[index].recall == RankingMetrics.recall(at: k, ranking: whole, labels: labels))
            #expect(figures[index].lift == RankingMetrics.lift(at: k, ranking: whole, labels: labels))
        }
    }

    @Test func aGroupsReplicaKeepsOnlyItsCustomersAndReadsAgainThePartitionsItGains() async throws {
        let path = TestFiles.sqlitePath("crm-group-drop")
        let pool = try DatabasePool(path: path)
        try MatchingSchema.migrator.migrate(pool)
        let ids = (1...40).map { String(format: "C%05d", $0) }
        // Cursors of two partitions' own feeds, of a whole process's feeds, and of products'.
        let cursors: [String: UInt64] = ["profiles.p0000": 10, "events.p0000": 7, "profiles.p0002": 12, "events.p0002": 9,
                                         "profiles.profiles-1": 5, "events.profiles-1": 4, "products": 3]
        try await pool.write { db in
            for id in ids {
                try db.execute(sql: "INSERT INTO copy_customer (customer_id, customer) VALUES (?, ?)",
                               arguments: [id, try Crm_Profiles_V1_Customer.with { $0.customerID = id }.serializedBytes() as Data])
                try db.execute(sql: "INSERT INTO snapshot (as_of, run, customer_id, dimensions) VALUES (?, 0, ?, ?)", arguments: [20_000, id, Data()])
            }
            for (feed, position) in cursors { try CopyStore.setCursor(db, feed, position) }
            try CopyStore.markCaughtUp(db, at: 1_000)
        }
        let layout = try MatchingGroups(partitioning: Partitioning(count: 4), groups: [
            .init(partitions: PartitionSet([0, 1]), replicas: ["a:1"]), .init(partitions: PartitionSet([2, 3]), replicas: ["b:1"]),
        ])
        let groups = try ReplicaGroups(layout: layout, replica: "a:1",
                                       matchingPeers: RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "b", port: 1)])))
        func adopt(_ groups: ReplicaGroups?) async throws -> ReplicaLayout.Change {
            try await pool.write { db in try ReplicaLayout.adopt(db, groups: groups) }
        }
        func stored(_ table: String) async throws -> [String] {
            try await pool.read { db in try String.fetchAll(db, sql: "SELECT customer_id FROM \(table) ORDER BY customer_id") }
        }
        // A store made before the groups held every customer: the group keeps its own, reads nothing again.
        let first = try await adopt(groups)
        let kept = ids.filter { layout.group(ofCustomer: $0) == 0 }
        #expect(first.dropped == ids.count - kept.count && !kept.isEmpty && first.dropped > 0 && first.gained.isEmpty)
        #expect(try await stored("copy_customer") == kept)
        #expect(try await stored("snapshot") == kept)
        #expect(try await pool.read { db in try CopyStore.cursors(db) } == cursors)
        // The same group again: nothing more to drop.
        #expect(try await adopt(groups) == ReplicaLayout.Change())

        // Now in the other group: partitions 2-3 were never copied here. Their own feeds' cursors and
        // a whole process's go (read again from the start, through the snapshot), partition 0's and
        // products' stay; the month-end rows are forgotten and the copy is no longer caught up.
        let other = try ReplicaGroups(layout: layout, replica: "b:1",
                                      matchingPeers: RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "a", port: 1)])))
        let moved = try await adopt(other)
        #expect(moved == ReplicaLayout.Change(dropped: kept.count, gained: [2, 3]))
        let (customersLeft, rowsLeft) = (try await stored("copy_customer"), try await stored("snapshot"))
        #expect(customersLeft.isEmpty && rowsLeft.isEmpty)
        #expect(try await pool.read { db in try CopyStore.cursors(db) } == ["profiles.p0000": 10, "events.p0000": 7, "products": 3])
        #expect(try await pool.read { db in try CopyStore.caughtUpAt(db) } == nil)
        // Every customer again (no group): partitions 0-1 gained, partition 0's cursors go too.
        #expect(try await adopt(nil) == ReplicaLayout.Change(dropped: 0, gained: [0, 1]))
        #expect(try await pool.read { db in try CopyStore.cursors(db) } == ["products": 3])
        #expect(try await adopt(nil) == ReplicaLayout.Change())
        // A group of another partition count than the store was made for: refused, naming both.
        _ = try await adopt(groups)
        let eight = try MatchingGroups(partitioning: Partitioning(count: 8), groups: [
            .init(partitions: PartitionSet(0..<4), replicas: ["a:1"]), .init(partitions: PartitionSet(4..<8), replicas: ["b:1"]),
        ])
        let wider = try ReplicaGroups(layout: eight, replica: "a:1",
                                      matchingPeers: RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "b", port: 1)])))
        await #expect {
            _ = try await adopt(wider)
        } throws: { error in
            "\(error)".contains("made for partitions 0-1 of 4") && "\(error)".contains("counts 8 partitions")
        }
        await groups.close()
        await other.close()
        await wider.close()
    }
}
