import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import Testing

/// What matching replicas record, answered by every replica: two real matching executables, each
/// the other's sibling, behind one client that calls them round robin as the reference client
/// does. A campaign created through one is answered by both with the same target list
/// (``CampaignSync``); a contact recorded on either counts in both reports; a retried creation sent
/// to the other replica gets the stored campaign. Suitability decisions made on either are listed
/// by both, and a sibling that does not answer is named.
@Suite(.serialized) struct MatchingReplicasTests {
    @Test func campaignsAndDecisionsMadeOnEitherReplicaAreAnsweredByBoth() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-campaign-replicas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let profilesProcess = ServiceProcess(service: "profiles", workDir: workDir)
        let productsProcess = ServiceProcess(service: "products", workDir: workDir)
        let first = ServiceProcess(service: "matching", workDir: workDir, name: "matching-0")
        let second = ServiceProcess(service: "matching", workDir: workDir, name: "matching-1")
        defer { for process in [first, second, productsProcess, profilesProcess] { _ = process.terminate() } }
        // One profiles store, whose one feed and log `waitApplied` reads to the end.
        try await profilesProcess.start(arguments: OwnersTopology.oneFile)
        try await productsProcess.start()
        let profiles = profilesProcess.adminClient(), products = productsProcess.adminClient()
        try await PartitionedMatchingTests.addProducts(to: products)
        let customers = (1...20).map { String(format: "K%06d", $0) }
        try await PartitionedMatchingTests.loadCustomers(customers, into: profiles)

        // Each replica lists the other: the second's port is held until it starts on it.
        let reserved = try ReservedPort()
        let feeds = ["profiles": profilesProcess.port, "products": productsProcess.port]
        let settings = ["--setting", "feed.interval_ms=20"]
        try await first.start(peers: feeds, arguments: ["--peer", "matching=127.0.0.1:\(reserved.port)"] + settings)
        reserved.release()
        try await second.start(port: reserved.port, peers: feeds.merging(["matching": first.port]) { $1 }, arguments: settings)
        let one = first.adminClient(), other = second.adminClient()
        let both = RPCClient(configuration: ClientConfiguration(
            endpoints: [first.endpoint, second.endpoint], security: first.clientSecurity, token: "dev-admin-token", defaultDeadline: .seconds(60)))
        defer { Task { for client in [profiles, products, one, other, both] { await client.close() } } }
        for replica in [one, other] {
            try await PartitionedMatchingTests.waitApplied(replica, [("", profiles)])
            _ = try await replica.unary(Crm_Matching_V1_Matching.importModel, .with { $0.model = try PartitionedMatchingTests.model() })
        }

        let request = Crm_Matching_V1_CreateCampaignRequest.with {
            $0.campaign = .with { $0.campaignID = "AUTUMN"; $0.productCode = "B001"; $0.name = "Autumn bonds"; $0.targetSize = 5 }
        }
        let created = try await one.unary(Crm_Matching_V1_Matching.createCampaign, request).campaign
        let targets = try await one.unary(Crm_Matching_V1_Matching.listCampaignTargets, .with { $0.campaignID = "AUTUMN" }).targets
        try #require(targets.count == 5)
        try await waitUntil(every: .milliseconds(20)) {
            (try? await other.unary(Crm_Matching_V1_Matching.getCampaign, .with { $0.campaignID = "AUTUMN" }).campaign) == created
        }
        #expect(try await other.unary(Crm_Matching_V1_Matching.listCampaignTargets, .with { $0.campaignID = "AUTUMN" }).targets == targets)
        // A creation retried through the other replica gets the stored campaign, not a new list.
        #expect(try await other.unary(Crm_Matching_V1_Matching.createCampaign, request).campaign == created)

        // Contacts through either replica, as a workbench calling round robin records them.
        for (place, target) in targets.prefix(4).enumerated() {
            _ = try await both.unary(Crm_Matching_V1_Matching.recordCampaignContact, .with {
                $0.contact = .with {
                    $0.campaignID = "AUTUMN"; $0.customerID = target.customerID; $0.managerID = "M0001"
                    $0.outcome = place == 3 ? .declined : .reached
                }
            })
        }
        func report(_ client: RPCClient) async throws -> Crm_Matching_V1_CampaignReport {
            try await client.unary(Crm_Matching_V1_Matching.getCampaignReport, .with { $0.campaignID = "AUTUMN" }).report
        }
        for replica in [one, other] {
            try await waitUntil(every: .milliseconds(20)) { (try? await report(replica).reached) == 4 }
        }
        let reports = [try await report(one), try await report(other)]
        #expect(reports[0] == reports[1])
        #expect(reports[0].declined == 1 && reports[0].targets == 5)

        // Each replica's log holds the campaign and each contact once: applying a sibling's entry
        // logs it again only when it changed something, so nothing circulates.
        for replica in [one, other] {
            let log = try await replica.serverStreaming(Crm_Matching_V1_Matching.streamCampaignLog, Crm_Matching_V1_StreamCampaignLogRequest()).collect()
            #expect(log.count(where: { if case .created = $0.change { true } else { false } }) == 1, "\(log)")
            #expect(log.count(where: { if case .contact = $0.change { true } else { false } }) == 4)
            #expect(log.map(\.sequence) == Array(1...UInt64(log.count)))
        }
        let details = try await one.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details
        #expect(details["feed.campaigns.127.0.0.1:\(second.port).position"] != nil, "\(details)")

        // Decisions: each replica logs its own; ListDecisions on either lists both, in one order.
        let customer = customers[2]
        for (replica, product) in [(one, "B001"), (other, "F001"), (one, "E001")] {
            _ = try await replica.unary(Crm_Matching_V1_Matching.decideSuitability, .with { $0.customerID = customer; $0.productCode = product })
        }
        let lists = [try await one.unary(Crm_Matching_V1_Matching.listDecisions, .with { $0.customerID = customer }),
                     try await other.unary(Crm_Matching_V1_Matching.listDecisions, .with { $0.customerID = customer })]
        #expect(lists[0] == lists[1])
        #expect(Set(lists[0].decisions.map(\.productCode)) == ["B001", "F001", "E001"] && lists[0].unansweredReplicas.isEmpty, "\(lists[0])")
        #expect(lists[0].decisions.map(\.decidedAt.unixMillis) == lists[0].decisions.map(\.decidedAt.unixMillis).sorted(by: >), "newest first")
        let newestTwo = try await other.unary(Crm_Matching_V1_Matching.listDecisions, .with { $0.customerID = customer; $0.limit = 2 })
        #expect(newestTwo.decisions == Array(lists[0].decisions.prefix(2)))
        // A sibling that does not answer is named; the list holds what the others logged.
        await other.close()
        #expect(second.terminate() == 0, "a replica with siblings stops cleanly on SIGTERM")
        let partial = try await one.unary(Crm_Matching_V1_Matching.listDecisions, .with { $0.customerID = customer })
        #expect(partial.unansweredReplicas == ["127.0.0.1:\(second.port)"])
        #expect(Set(partial.decisions.map(\.productCode)) == ["B001", "E001"])
    }
}
