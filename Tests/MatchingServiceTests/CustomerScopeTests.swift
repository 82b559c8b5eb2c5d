import CRMAudit
import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import MatchingService

/// A client manager's workbench is answered by DecideSuitability and RecommendProducts only for the
/// customers in the manager's book (the manager in matching's copy); staff are answered for anyone.
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
