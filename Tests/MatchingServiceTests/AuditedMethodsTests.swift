import CRMAudit
import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import MatchingService

/// Every matching method that returns customers or acts for one leaves a record in the replica's
/// trail, holding who called, the method, the customers (or the rule and count for a ranked list)
/// and the status the caller got: one row per method, real calls over the wire.
@Suite(.serialized) struct AuditedMethodsTests {
    @Test func everyAuditedMatchingMethodRecordsWhatItShouldHold() async throws {
        try await withService(try await CustomerScopeTests.seeded()) { harness in
            let replica = harness.replicas[0]
            let office = replica.client(token: "office"), marketing = replica.client(token: "marketing"), workbench = replica.client(token: "m1")
            defer { Task { for client in [office, marketing, workbench] { await client.close() } } }
            _ = try await marketing.unary(Crm_Matching_V1_Matching.createCampaign, Crm_Matching_V1_CreateCampaignRequest.with {
                $0.campaign = .with { $0.campaignID = "SPRING"; $0.productCode = "R2"; $0.name = "Spring push"; $0.targetSize = 2 }
            })
            typealias M = Crm_Matching_V1_Matching
            let cases: [AuditCase] = [
                AuditCase(M.decideSuitability.path, principal: "manager:M1", customers: ["MINE"]) {
                    _ = try await harness.decide("MINE", "R2", client: workbench)
                },
                // Refused by the handler: still a record, naming the customer asked about.
                AuditCase(M.decideSuitability.path, principal: "manager:M1", customers: ["THEIRS"], status: .permissionDenied) {
                    _ = try await harness.decide("THEIRS", "R2", client: workbench)
                },
                AuditCase(M.listDecisions.path, principal: "head-office", customers: ["MINE"]) {
                    _ = try await office.unary(M.listDecisions, .with { $0.customerID = "MINE" })
                },
                AuditCase(M.recommendProducts.path, principal: "manager:M1", customers: ["MINE"]) {
                    _ = try await harness.recommend("MINE", client: workbench)
                },
                AuditCase(M.targetCustomers.path, principal: "marketing", customers: ["MINE", "THEIRS"], rule: "targets of R2 top 10", count: 2) {
                    _ = try await harness.targets("R2", k: 10, client: marketing)
                },
                AuditCase(M.streamTargetCustomers.path, principal: "marketing", customers: ["MINE", "THEIRS"], rule: "targets of R2", count: 2) {
                    _ = try await marketing.serverStreaming(M.streamTargetCustomers, .with { $0.productCode = "R2" }).collect()
                },
                AuditCase(M.listCampaignTargets.path, principal: "head-office", customers: ["MINE", "THEIRS"]) {
                    _ = try await office.unary(M.listCampaignTargets, .with { $0.campaignID = "SPRING" })
                },
                AuditCase(M.recordCampaignContact.path, principal: "marketing", customers: ["MINE"]) {
                    _ = try await marketing.unary(M.recordCampaignContact, .with {
                        $0.contact = .with { $0.campaignID = "SPRING"; $0.customerID = "MINE"; $0.outcome = .reached; $0.managerID = "M1" }
                    })
                },
            ]
            var router = Router()
            replica.service.register(into: &router)
            #expect(Set(cases.map(\.method)) == router.auditedMethods)
            for row in cases {
                let problems = try await row.mismatches(in: replica.auditTrail)
                #expect(problems.isEmpty, "\(row.method) \(row.status): \(problems)")
            }
        }
    }
}
