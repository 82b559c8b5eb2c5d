import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMServiceHost
import Foundation
import ProfilesService
import Testing
@testable import ProductsService

/// A client manager's workbench reads and acts only for the customers in their book, which products
/// learns from the real profiles service: another manager's customer's orders and contracts, and
/// ids that do not exist, are the same PERMISSION_DENIED.
@Suite struct SalesAccessTests {
    static let profilesTokens = TestPrincipals.entries

    /// The real profiles service in process with C1 in M1's book and C2 in M2's.
    static func profilesWithTwoBooks() async throws -> InProcessService<ProfilesService> {
        let profilesPath = TestFiles.sqlitePath("profiles")
        let profiles = try await InProcessService<ProfilesService>.start(databasePath: profilesPath, tokens: Self.profilesTokens)
        let ingest = profiles.client(token: "ingest")
        for (customer, manager) in [("C1", "M1"), ("C2", "M2")] {
            _ = try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = .with {
                    $0.customerID = customer; $0.kind = .individual; $0.name = "Customer \(customer)"; $0.branchID = "B01"
                    $0.managerID = manager; $0.status = .normal; $0.openDate = .init(year: 2020, month: 1, day: 15)
                }
            })
        }
        await ingest.close()
        return profiles
    }

    @Test func aManagersWorkbenchSeesOnlyTheSalesOfItsOwnCustomers() async throws {
        let profiles = try await Self.profilesWithTwoBooks()
        let matching = try await FakeMatching.start { _ in .with { $0.decision = .match; $0.ruleVersion = "rules-v7" } }
        let harness = try await ProductsHarness.start(matching: matching.client(), peers: ["profiles": profiles.peerClient(token: "service")])
        try await harness.upsert(ProductsHarness.product("P1"))
        try await harness.putTemplate("P1")
        let ownContract = try await harness.sign("C1", "P1")
        let otherContract = try await harness.sign("C2", "P1")
        _ = try await harness.place(ProductsHarness.order("O1", customer: "C1"))
        var other = ProductsHarness.order("O2", customer: "C2")
        other.managerID = "M2"
        _ = try await harness.place(other)

        let manager = harness.service.client(token: "m1")
        func getOrder(_ id: String, _ client: RPCClient) async throws -> Crm_Products_V1_Order {
            try await client.unary(Crm_Products_V1_Products.getOrder, Crm_Products_V1_GetOrderRequest.with { $0.orderID = id }).order
        }
        func getContract(_ id: UInt64, _ client: RPCClient) async throws -> Crm_Products_V1_SignedContract {
            try await client.unary(Crm_Products_V1_Products.getContract, Crm_Products_V1_GetContractRequest.with { $0.contractID = id }).contract
        }
        func verify(_ id: UInt64, _ client: RPCClient) async throws -> Crm_Products_V1_VerifyContractResponse {
            try await client.unary(Crm_Products_V1_Products.verifyContract, Crm_Products_V1_VerifyContractRequest.with { $0.contractID = id })
        }

        // Their own customer's order and contract.
        #expect(try await getOrder("O1", manager).customerID == "C1")
        #expect(try await getContract(ownContract.contractID, manager).customerID == "C1")
        #expect(try await verify(ownContract.contractID, manager).valid)
        // Another manager's customer's, and ids that do not exist: one and the same answer.
        let foreignOrder = await statusOf { _ = try await getOrder("O2", manager) }
        let missingOrder = await statusOf { _ = try await getOrder("O404", manager) }
        #expect(foreignOrder?.code == .permissionDenied && missingOrder?.code == .permissionDenied)
        #expect(foreignOrder?.message.contains("C2") == false)
        let foreignContract = await statusOf { _ = try await getContract(otherContract.contractID, manager) }
        let missingContract = await statusOf { _ = try await getContract(999_999, manager) }
        #expect(foreignContract?.code == .permissionDenied && missingContract?.code == .permissionDenied)
        #expect(await statusOf { _ = try await verify(otherContract.contractID, manager) }?.code == .permissionDenied)
        #expect(await statusOf { _ = try await verify(999_999, manager) }?.code == .permissionDenied)
        // Acting for another manager's customer, or one profiles does not know, is refused too.
        var forC2 = ProductsHarness.order("O3", customer: "C2")
        forC2.managerID = ""
        #expect(await statusOf { _ = try await harness.place(forC2, client: manager) }?.code == .permissionDenied)
        #expect(await statusOf {
            _ = try await manager.unary(Crm_Products_V1_Products.signContract, Crm_Products_V1_SignContractRequest.with {
                $0.customerID = "C9"; $0.productCode = "P1"; $0.templateVersion = 1; $0.channel = .clientManager; $0.confirmedDisclosureIds = ["D1", "D2"]
            })
        }?.code == .permissionDenied)
        // The website sees every sale; for it a missing id is NOT_FOUND.
        #expect(try await getOrder("O2", harness.web).customerID == "C2")
        #expect(await statusOf { _ = try await getOrder("O404", harness.web) }?.code == .notFound)

        // Profiles out of reach: the manager's read is UNAVAILABLE, never an unchecked answer.
        try await profiles.stop()
        #expect(await statusOf { _ = try await getOrder("O1", manager) }?.code == .unavailable)
        #expect(try await getOrder("O1", harness.web).customerID == "C1")
        await manager.close()
        try await harness.stop()
        await matching.stop()
    }
}
