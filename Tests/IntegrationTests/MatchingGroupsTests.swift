import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import Testing

/// Matching split into two partition groups (docs/partitioning.md §9), beside a replica in no
/// group that holds every customer, all three real executables following one profiles process of
/// four partitions: each group's replica copies only its partitions' customers, yet answers every
/// question as the whole replica does — a customer of the other group is forwarded there (decisions,
/// recommendations, campaign contacts), a product's target list is the top K of each group's top
/// K, a campaign's list and its report's baseline span both groups. (Training across groups, which
/// must give the model one replica would train, is proved by ``PartitionedDemoTests``.)
@Suite(.serialized) struct MatchingGroupsTests {
    @Test func groupsAnswerAsTheReplicaHoldingEveryCustomer() async throws {
        try await Self.withProcesses("crm-matching-groups") { workDir, profilesProcess, productsProcess, wholeProcess, firstProcess, secondProcess in
            // One profiles store: every replica, whole or a group's, follows its one feed and log, which
            // `waitApplied` reads to the end (a file per partition is the partitioned tests' subject).
            try await profilesProcess.start(arguments: ["--setting", "partitions.count=4"] + OwnersTopology.oneFile)
            try await productsProcess.start()
            let profiles = profilesProcess.adminClient(), products = productsProcess.adminClient()
            try await PartitionedMatchingTests.addProducts(to: products)
            let customers = (1...24).map { String(format: "G%06d", $0) }
            try await PartitionedMatchingTests.loadCustomers(customers, into: profiles)

            // The groups' ports are held until their replicas start on them; the whole replica on any.
            let reservedFirst = try ReservedPort(), reservedSecond = try ReservedPort()
            let first = "127.0.0.1:\(reservedFirst.port)", second = "127.0.0.1:\(reservedSecond.port)"
            let feeds = ["profiles": profilesProcess.port, "products": productsProcess.port]
            let settings = ["--setting", "feed.interval_ms=20", "--setting", "model.sync_seconds=1"]
            try await wholeProcess.start(peers: feeds, arguments: ["--peer", "matching=\(first),\(second)"] + settings)
            let whole = "127.0.0.1:\(wholeProcess.port)"
            let topology = workDir.appendingPathComponent("topology.json")
            try Data("""
            {"profiles": ["127.0.0.1:\(profilesProcess.port)"], "matching": ["\(whole)", "\(first)", "\(second)"],
             "partitions": {"count": 4, "epoch": 1, "owners": {"profiles-0": "0-3"}},
             "matching_groups": [{"partitions": "0-1", "replicas": ["\(first)"]}, {"partitions": "2-3", "replicas": ["\(second)"]}]}
            """.utf8).write(to: topology)
            func groupSettings(_ replica: String) -> [String] {
                settings + ["--setting", "groups.topology=\(topology.path)", "--setting", "groups.replica=\(replica)"]
            }
            reservedFirst.release()
            try await firstProcess.start(port: reservedFirst.port, peers: feeds, arguments: ["--peer", "matching=\(whole),\(second)"] + groupSettings(first))
            reservedSecond.release()
            try await secondProcess.start(port: reservedSecond.port, peers: feeds, arguments: ["--peer", "matching=\(whole),\(first)"] + groupSettings(second))
            let all = wholeProcess.adminClient(), one = firstProcess.adminClient(), other = secondProcess.adminClient()
            defer { Task { for client in [profiles, products, all, one, other] { await client.close() } } }
            for replica in [all, one, other] { try await PartitionedMatchingTests.waitApplied(replica, [("", profiles)]) }

            // Each group copies its own customers only; together, every customer once.
            let held = [try await PartitionedMatchingTests.health(one), try await PartitionedMatchingTests.health(other)]
            let counts = held.map { Int($0["customers"] ?? "") ?? -1 }
            #expect(counts.allSatisfy { $0 > 0 } && counts.reduce(0, +) == customers.count, "\(counts)")
            #expect(held[0]["group"] == "0" && held[0]["group.partitions"] == "0-1 of 4", "\(held[0])")
            #expect(try await PartitionedMatchingTests.health(all)["customers"] == "\(customers.count)")

            // The model is imported on the whole replica only: the groups copy it.
            let model = try PartitionedMatchingTests.model()
            _ = try await all.unary(Crm_Matching_V1_Matching.importModel, .with { $0.model = model })
            for replica in [one, other] {
                try await waitUntil(every: .milliseconds(20)) {
                    (try? await PartitionedMatchingTests.health(replica))?["model_version"] == model.summary.version
                }
            }

            // Every decision, recommendation and target list, through either group, as the whole replica.
            let expected = try await PartitionedMatchingTests.answers(all, customers: customers)
            PartitionedMatchingTests.expectSame(try await PartitionedMatchingTests.answers(one, customers: customers), expected)
            PartitionedMatchingTests.expectSame(try await PartitionedMatchingTests.answers(other, customers: customers), expected)
            for k: UInt32 in [1, 3, 7] {
                let request = Crm_Matching_V1_TargetCustomersRequest.with { $0.productCode = "B001"; $0.k = k }
                #expect(try await one.unary(Crm_Matching_V1_Matching.targetCustomers, request) == (try await all.unary(Crm_Matching_V1_Matching.targetCustomers, request)))
            }
            let streamed = Crm_Matching_V1_StreamTargetCustomersRequest.with { $0.productCode = "F001" }
            let streamedWhole = try await all.serverStreaming(Crm_Matching_V1_Matching.streamTargetCustomers, streamed).collect()
            #expect(!streamedWhole.isEmpty)
            #expect(try await other.serverStreaming(Crm_Matching_V1_Matching.streamTargetCustomers, streamed).collect() == streamedWhole)

            // A campaign created through a group ranks both groups' customers; its report's baseline
            // counts both groups' untargeted customers.
            let created = try await one.unary(Crm_Matching_V1_Matching.createCampaign, .with {
                $0.campaign = .with { $0.campaignID = "SPLIT"; $0.productCode = "B001"; $0.name = "Across groups"; $0.targetSize = 6 }
            }).campaign
            let listed = try await one.unary(Crm_Matching_V1_Matching.listCampaignTargets, .with { $0.campaignID = "SPLIT" }).targets
            let top = try await all.unary(Crm_Matching_V1_Matching.targetCustomers, .with { $0.productCode = "B001"; $0.k = 6 }).customers
            #expect(listed.map(\.customerID) == top.map(\.customerID) && listed.map(\.score) == top.map(\.score))
            #expect(created.modelVersion == model.summary.version)
            // Every replica reads the campaign from the others' logs (a moment after its creation).
            for replica in [all, other] {
                try await waitUntil(every: .milliseconds(20)) {
                    (try? await replica.unary(Crm_Matching_V1_Matching.getCampaign, .with { $0.campaignID = "SPLIT" }).campaign) == created
                }
            }
            // A contact through either group: recorded where called, carried to every replica by the campaign logs.
            let target = try #require(listed.first { !customers.isEmpty && $0.rank == 1 })
            for replica in [one, other] {
                _ = try await replica.unary(Crm_Matching_V1_Matching.recordCampaignContact, .with {
                    $0.contact = .with { $0.campaignID = "SPLIT"; $0.customerID = target.customerID; $0.outcome = .reached; $0.managerID = "M0001" }
                })
            }
            func report(_ client: RPCClient) async throws -> Crm_Matching_V1_CampaignReport? {
                try? await client.unary(Crm_Matching_V1_Matching.getCampaignReport, .with { $0.campaignID = "SPLIT" }).report
            }
            try await waitUntil(every: .milliseconds(20)) {
                let reports = [try await report(all), try await report(one), try await report(other)]
                return reports.allSatisfy { $0?.reached == 1 } && reports[0] == reports[1] && reports[1] == reports[2]
            }
            let settled = try #require(try await report(other))
            #expect(settled.targets == 6 && settled.untargetedEligible > 0, "\(settled)")
            // A group's replica stops cleanly on SIGTERM (its clients of the other groups closed after the drain).
            await one.close()
            #expect(firstProcess.terminate() == 0)
            // With group 0 down, group 1 still answers for its own customers; a call for group 0's
            // customers, or across both groups, fails UNAVAILABLE (retryable), naming the group — never
            // a list that looks complete without it.
            var answered = 0, unavailable = 0
            for id in customers {
                let whole = try await all.unary(Crm_Matching_V1_Matching.recommendProducts, .with { $0.customerID = id })
                do {
                    let answer = try await other.unary(Crm_Matching_V1_Matching.recommendProducts, .with { $0.customerID = id })
                    #expect(answer == whole, "\(id) answered by group 1 as by the whole replica")
                    answered += 1
                } catch let error as RPCError where error.code == .unavailable {
                    unavailable += 1
                }
            }
            #expect(answered == counts[1] && unavailable == counts[0], "answered \(answered), unavailable \(unavailable), groups hold \(counts)")
            await #expect {
                _ = try await other.unary(Crm_Matching_V1_Matching.targetCustomers, .with { $0.productCode = "B001"; $0.k = 5 })
            } throws: { error in
                (error as? RPCError)?.code == .unavailable && (error as? RPCError)?.message.contains("matching group 0") == true
            }
        }
    }

    /// The groups changed by restarting each replica with a new topology, each on its own store:
    /// group 0 gives partition 1 to group 1. Restarted first, replica 0 drops partition 1's
    /// customers; while replica 1 still reads the old groups, every merged answer is refused as
    /// retryable through either replica (each names the layout it holds), and so is a customer
    /// asked of the replica that no longer (or not yet) holds them — never a list or a NOT_FOUND
    /// from the wrong set of customers. Replica 1, restarted, copies partition 1 from profiles'
    /// snapshot and its own feed and log (its change feed and event log read from the start), is not ready until
    /// then, and afterwards every answer through either replica is the whole replica's again; the
    /// decision replica 1 logged before the change is still in its log.
    @Test func changingTheGroupsKeepsEachReplicasStore() async throws {
        try await Self.withProcesses("crm-matching-regroup") { workDir, profilesProcess, productsProcess, wholeProcess, firstProcess, secondProcess in
            // A file per partition (a new store's default): each group's replica follows its partitions' own feeds.
            try await profilesProcess.start(arguments: ["--setting", "partitions.count=4"])
            try await productsProcess.start()
            let profiles = profilesProcess.adminClient(), products = productsProcess.adminClient()
            defer { Task { for client in [profiles, products] { await client.close() } } }
            try await PartitionedMatchingTests.addProducts(to: products)
            let customers = (1...32).map { String(format: "R%06d", $0) }
            try await PartitionedMatchingTests.loadCustomers(customers, into: profiles)
            let partitioning = try Partitioning(count: 4)
            func held(_ partitions: Set<Int>) -> Int { customers.filter { partitions.contains(partitioning.partition(of: $0)) }.count }
            let inPartition = { (partition: Int) in customers.filter { partitioning.partition(of: $0) == partition } }
            #expect((0..<4).allSatisfy { !inPartition($0).isEmpty })

            let reservedFirst = try ReservedPort(), reservedSecond = try ReservedPort()
            let first = "127.0.0.1:\(reservedFirst.port)", second = "127.0.0.1:\(reservedSecond.port)"
            let feeds = ["profiles": profilesProcess.port, "products": productsProcess.port]
            let settings = ["--setting", "feed.interval_ms=20", "--setting", "model.sync_seconds=1"]
            try await wholeProcess.start(peers: feeds, arguments: ["--peer", "matching=\(first),\(second)"] + settings)
            let whole = "127.0.0.1:\(wholeProcess.port)"
            let topology = workDir.appendingPathComponent("topology.json")
            func writeGroups(_ group0: String, _ group1: String) throws {
                try Data("""
                {"profiles": ["127.0.0.1:\(profilesProcess.port)"], "matching": ["\(whole)", "\(first)", "\(second)"],
                 "partitions": {"count": 4, "epoch": 1, "owners": {"profiles-0": "0-3"}},
                 "matching_groups": [{"partitions": "\(group0)", "replicas": ["\(first)"]}, {"partitions": "\(group1)", "replicas": ["\(second)"]}]}
                """.utf8).write(to: topology)
            }
            let groupSettings = settings + ["--setting", "groups.topology=\(topology.path)"]
            func startFirst() async throws {
                try await firstProcess.start(port: reservedFirst.port, peers: feeds,
                                             arguments: ["--peer", "matching=\(whole),\(second)"] + groupSettings + ["--setting", "groups.replica=\(first)"])
            }
            func startSecond() async throws {
                try await secondProcess.start(port: reservedSecond.port, peers: feeds,
                                              arguments: ["--peer", "matching=\(whole),\(first)"] + groupSettings + ["--setting", "groups.replica=\(second)"])
            }
            try writeGroups("0-1", "2-3")
            reservedFirst.release()
            try await startFirst()
            reservedSecond.release()
            try await startSecond()
            let all = wholeProcess.adminClient()
            defer { Task { await all.close() } }
            func ready(_ process: ServiceProcess, holding count: Int, model: String) async throws -> [String: String] {
                let client = process.adminClient()
                defer { Task { await client.close() } }
                var details: [String: String] = [:]
                try await waitUntil(every: .milliseconds(20)) {
                    details = (try? await PartitionedMatchingTests.health(client)) ?? [:]
                    return details["ready"] == "true" && details["customers"] == "\(count)" && details["model_version"] == model
                }
                return details
            }
            let model = try PartitionedMatchingTests.model()
            try await waitUntil(every: .milliseconds(20)) { (try? await PartitionedMatchingTests.health(all))?["customers"] == "\(customers.count)" }
            _ = try await all.unary(Crm_Matching_V1_Matching.importModel, .with { $0.model = model })
            let version = model.summary.version
            _ = try await ready(firstProcess, holding: held([0, 1]), model: version)
            _ = try await ready(secondProcess, holding: held([2, 3]), model: version)
            let expected = try await PartitionedMatchingTests.answers(all, customers: customers)

            // A decision logged by replica 1 (its customer, in partition 2), before the change.
            let decided = try #require(inPartition(2).first)
            let beforeClient = secondProcess.adminClient()
            _ = try await beforeClient.unary(Crm_Matching_V1_Matching.decideSuitability, .with {
                $0.customerID = decided; $0.productCode = "B001"; $0.orderID = "REGROUP-1"
            })
            await beforeClient.close()
            let logged = try await all.unary(Crm_Matching_V1_Matching.listDecisions, .with { $0.orderID = "REGROUP-1" }).decisions
            #expect(logged.count == 1 && logged.first?.customerID == decided)

            // The new groups: partition 1 goes to group 1. Replica 0 restarts first and drops it.
            try writeGroups("0", "1-3")
            #expect(firstProcess.terminate() == 0)
            try await startFirst()
            let restartedFirst = try await ready(firstProcess, holding: held([0]), model: version)
            #expect(restartedFirst["group.dropped_customers"] == "\(held([1]))" && restartedFirst["group.gained_partitions"] == "none", "\(restartedFirst)")
            #expect(restartedFirst["group.partitions"] == "0 of 4")

            // Two layouts at once: merged answers refused through either replica, naming the layouts.
            let one = firstProcess.adminClient(), other = secondProcess.adminClient()
            defer { Task { for client in [one, other] { await client.close() } } }
            let list = Crm_Matching_V1_TargetCustomersRequest.with { $0.productCode = "B001"; $0.k = 10 }
            for (client, words) in [(one, ["holds partitions 2-3 of 4", "expects its part for 1-3 of 4"]), (other, ["holds partitions 0 of 4", "for 0-1 of 4"])] {
                await #expect {
                    _ = try await client.unary(Crm_Matching_V1_Matching.targetCustomers, list)
                } throws: { error in
                    (error as? RPCError)?.code == .unavailable && words.allSatisfy { (error as? RPCError)?.message.contains($0) == true }
                }
            }
            // A customer of partition 1 asked of either: the replica each sends it to does not hold it.
            let moving = try #require(inPartition(1).first)
            for client in [one, other] {
                await #expect {
                    _ = try await client.unary(Crm_Matching_V1_Matching.recommendProducts, .with { $0.customerID = moving })
                } throws: { error in
                    (error as? RPCError)?.code == .unavailable && (error as? RPCError)?.message.contains("does not hold") == true
                }
            }
            // A customer both layouts place alike is answered as before, through either.
            let staying = try #require(inPartition(0).first)
            let wholeAnswer = try await all.unary(Crm_Matching_V1_Matching.recommendProducts, .with { $0.customerID = staying })
            for client in [one, other] {
                #expect(try await client.unary(Crm_Matching_V1_Matching.recommendProducts, .with { $0.customerID = staying }) == wholeAnswer)
            }

            // Replica 1 restarts with the new groups: partition 1 is copied from profiles, then it serves.
            #expect(secondProcess.terminate() == 0)
            try await startSecond()
            let restartedSecond = try await ready(secondProcess, holding: held([1, 2, 3]), model: version)
            #expect(restartedSecond["group.gained_partitions"] == "1" && restartedSecond["group.dropped_customers"] == "0", "\(restartedSecond)")
            PartitionedMatchingTests.expectSame(try await PartitionedMatchingTests.answers(one, customers: customers), expected)
            PartitionedMatchingTests.expectSame(try await PartitionedMatchingTests.answers(other, customers: customers), expected)
            // Its decision log came through the change; the gained partition's feed is followed on.
            #expect(try await all.unary(Crm_Matching_V1_Matching.listDecisions, .with { $0.orderID = "REGROUP-1" }).decisions == logged)
            let added = try #require((33...400).lazy.map { String(format: "R%06d", $0) }.first { partitioning.partition(of: $0) == 1 })
            let (upsert, assess) = PartitionedMatchingTests.customer(added, index: 3)
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.upsertCustomer, upsert)
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.recordAssessment, assess)
            _ = try await ready(secondProcess, holding: held([1, 2, 3]) + 1, model: version)
        }
    }

    /// The processes of a groups test — profiles, products, a replica in no group, group 0's and
    /// group 1's — made (not started) in a work folder named by `prefix`, removed afterwards; each
    /// process stopped at the end.
    private static func withProcesses(
        _ prefix: String, _ body: (URL, ServiceProcess, ServiceProcess, ServiceProcess, ServiceProcess, ServiceProcess) async throws -> Void
    ) async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let profiles = ServiceProcess(service: "profiles", workDir: workDir)
        let products = ServiceProcess(service: "products", workDir: workDir)
        let whole = ServiceProcess(service: "matching", workDir: workDir, name: "matching-whole")
        let first = ServiceProcess(service: "matching", workDir: workDir, name: "matching-group-0")
        let second = ServiceProcess(service: "matching", workDir: workDir, name: "matching-group-1")
        defer { for process in [first, second, whole, products, profiles] { _ = process.terminate() } }
        try await body(workDir, profiles, products, whole, first, second)
    }
}
