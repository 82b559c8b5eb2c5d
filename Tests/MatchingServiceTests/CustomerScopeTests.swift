import CRMAudit
import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import MatchingService

/// A client manager's workbench is answered by DecideSuitability and RecommendProducts, and records
/// campaign contacts, only for the customers in the manager's book (the manager in matching's copy); staff are answered for anyone.
@Suite(.serialized) struct CustomerScopeTests {
    /// MINE belongs to M1 (the "m1" workbench token), THEIRS to M2; both suit R2.
    static func seeded() async throws -> MatchingHarness {
        let harness = try await MatchingHarness.start()
        try await harness.customer("MINE")
        try await harness.customer("THEIRS", manager: "M2")
        try await harness.product("R2", risk: .r2)
        try await harness.waitUntilCaughtUp()
        try await harness.useConstantModel()
        return harness
    }

    @Test func aWorkbenchIsAnsweredOnlyForItsOwnCustomers() async throws {
        try await withService(try await Self.seeded()) { harness in
            let workbench = harness.replicas[0].client(token: "m1")
            defer { Task { await workbench.close() } }
            #expect(try await harness.decide("MINE", "R2", client: workbench).decision == .match)
            #expect(try await harness.recommend("MINE", client: workbench).products.map(\.productCode) == ["R2"])

            // Another manager's customer and an id nobody has: one refusal, word for word.
            var refusals: [String: RPCError] = [:]
            for customer in ["THEIRS", "NOBODY"] {
                let decide = await statusOf { _ = try await harness.decide(customer, "R2", client: workbench) }
                let recommend = await statusOf { _ = try await harness.recommend(customer, client: workbench) }
                for (method, status) in [("decide", decide), ("recommend", recommend)] {
                    let status = try #require(status, "\(method) \(customer) was answered")
                    #expect(status.code == .permissionDenied, "\(method) \(customer)")
                    #expect(status.fieldViolations.map(\.field) == ["customer_id"], "\(method) \(customer)")
                    #expect(!status.message.contains(customer), "\(method) \(customer): \(status.message)")
                    refusals["\(method) \(customer)"] = status
                }
            }
            #expect(refusals["decide THEIRS"]?.message == refusals["decide NOBODY"]?.message)
            #expect(refusals["recommend THEIRS"]?.message == refusals["recommend NOBODY"]?.message)

            // The refused calls are in the trail, as refused, naming the customer asked about.
            let records = try await harness.replicas[0].auditTrail.records(matching: AuditFilter(principal: "manager:M1"), after: 0, limit: 100)
            #expect(records.map(\.call.status) == [.ok, .ok, .permissionDenied, .permissionDenied, .permissionDenied, .permissionDenied])
            #expect(records.map(\.call.subjectIDs) == [["MINE"], ["MINE"], ["THEIRS"], ["THEIRS"], ["NOBODY"], ["NOBODY"]])
        }
    }

    /// RecordCampaignContact is open to the workbench, but only for its own book: a contact for
    /// another manager's customer on the campaign's list, and one for an id nobody has, get the
    /// same PERMISSION_DENIED naming contact.customer_id (checked before the campaign is looked
    /// up, so an unknown campaign tells nothing either); marketing records for anyone.
    @Test func aWorkbenchRecordsCampaignContactsOnlyForItsOwnCustomers() async throws {
        try await withService(try await Self.seeded()) { harness in
            let replica = harness.replicas[0]
            let workbench = replica.client(token: "m1"), marketing = replica.client(token: "marketing")
            defer { Task { await workbench.close(); await marketing.close() } }
            _ = try await marketing.unary(Crm_Matching_V1_Matching.createCampaign, Crm_Matching_V1_CreateCampaignRequest.with {
                $0.campaign = .with { $0.campaignID = "SPRING"; $0.productCode = "R2"; $0.name = "Spring push"; $0.targetSize = 2 }
            })
            func contact(_ customer: String, campaign: String = "SPRING", by client: RPCClient) async throws -> Crm_Matching_V1_RecordCampaignContactResponse {
                try await client.unary(Crm_Matching_V1_Matching.recordCampaignContact, .with {
                    $0.contact = .with { $0.campaignID = campaign; $0.customerID = customer; $0.outcome = .reached; $0.managerID = "M1" }
                })
            }
            #expect(try await contact("MINE", by: workbench).created)

            var refusals: [RPCError] = []
            for (customer, campaign) in [("THEIRS", "SPRING"), ("NOBODY", "SPRING"), ("THEIRS", "NO-SUCH-CAMPAIGN")] {
                let refused = await statusOf { _ = try await contact(customer, campaign: campaign, by: workbench) }
                let status = try #require(refused, "\(customer) was recorded")
                #expect(status.code == .permissionDenied, "\(customer) \(campaign)")
                #expect(status.fieldViolations.map(\.field) == ["contact.customer_id"], "\(customer) \(campaign)")
                #expect(!status.message.contains(customer), "\(status.message)")
                refusals.append(status)
            }
            #expect(Set(refusals.map(\.message)).count == 1, "\(refusals.map(\.message))")

            // Marketing is not scoped: THEIRS is on the list and gets recorded.
            #expect(try await contact("THEIRS", by: marketing).created)
            let records = try await replica.auditTrail.records(matching: AuditFilter(principal: "manager:M1"), after: 0, limit: 100)
            #expect(records.map(\.call.status) == [.ok, .permissionDenied, .permissionDenied, .permissionDenied])
            #expect(records.map(\.call.subjectIDs) == [["MINE"], ["THEIRS"], ["NOBODY"], ["THEIRS"]])
        }
    }

    @Test func staffAreAnsweredForEveryCustomer() async throws {
        try await withService(try await Self.seeded()) { harness in
            for token in ["office", "marketing", "web", "service", "ops"] {
                let staff = harness.replicas[0].client(token: token)
                defer { Task { await staff.close() } }
                let decided = try await harness.decide("THEIRS", "R2", client: staff)
                #expect(decided.decision == .match, "\(token)")
                if token != "service" {
                    let recommended = try await harness.recommend("THEIRS", client: staff)
                    #expect(recommended.products.map(\.productCode) == ["R2"], "\(token)")
                }
                // For staff an unknown id is what it is.
                let unknown = await statusOf { _ = try await harness.decide("NOBODY", "R2", client: staff) }
                #expect(unknown?.code == .notFound, "\(token)")
                #expect(unknown?.fieldViolations.first?.field == "customer_id", "\(token)")
            }
        }
    }

    /// A workbench principal configured without a manager_id has no book: refused, never unscoped.
    @Test func aWorkbenchWithoutAManagerIdIsRefused() throws {
        let principal = Principal(name: "workbench-without-book", roles: ["workbench"])
        #expect(throws: Refusal.refused(.permissionDenied, field: "customer_id", "workbench-without-book has no manager_id to scope its customers by")) {
            try CustomerScope.scopedManager(principal)
        }
        #expect(try CustomerScope.scopedManager(Principal(name: "ops", roles: ["admin"])) == nil)
        #expect(try CustomerScope.scopedManager(TestPrincipals.byToken["m1"]) == "M1")
    }
}
