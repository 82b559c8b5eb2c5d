import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import NIOCore
import Testing

/// The four real executables, each with its own SQLite file, on ports the OS picked.
@Suite(.serialized) struct FourServicesTests {
    static let adminToken = "dev-admin-token"

    private func makeWorkDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    private func client(_ process: ServiceProcess) -> RPCClient {
        RPCClient(configuration: ClientConfiguration(
            endpoints: [process.endpoint],
            token: Self.adminToken,
            defaultDeadline: .seconds(15),
            initialBackoff: .milliseconds(20),
            maximumBackoff: .milliseconds(250)
        ))
    }

    @Test func eachServiceWritesToItsStoreAndAKilledServiceComesBackWithItsData() async throws {
        let workDir = try makeWorkDir()
        defer { try? FileManager.default.removeItem(at: workDir) }
        let names = ["profiles", "products", "matching", "compensation"]
        let processes = names.map { ServiceProcess(service: $0, workDir: workDir) }
        defer { for process in processes { process.terminate() } }
        // Matching follows the profiles and products processes' feeds.
        try await processes[0].start()
        try await processes[1].start()
        try await processes[2].start(peers: ["profiles": processes[0].port, "products": processes[1].port])
        try await processes[3].start(peers: ["profiles": processes[0].port, "products": processes[1].port])
        let profiles = client(processes[0]), products = client(processes[1])
        let matching = client(processes[2]), compensation = client(processes[3])

        // Network → codec → handler → SQLite → response, in all four.
        let customer = Crm_Profiles_V1_Customer.with {
            $0.customerID = "C000001"
            $0.kind = .individual
            $0.name = "Wang Fang"
            $0.branchID = "B01"
            $0.managerID = "M0001"
            $0.status = .normal
            $0.openDate = .init(year: 2019, month: 3, day: 14)
        }
        let upserted = try await profiles.unary(
            "/crm.profiles.v1.Profiles/UpsertCustomer", Crm_Profiles_V1_UpsertCustomerRequest.with { $0.customer = customer },
            as: Crm_Profiles_V1_UpsertCustomerResponse.self
        )
        #expect(upserted.created)

        let product = try await products.unary(
            "/crm.products.v1.Products/UpsertProduct",
            Crm_Products_V1_UpsertProductRequest.with {
                $0.product = .with {
                    $0.productCode = "F00001"
                    $0.name = "Steady Bond Fund"
                    $0.issuer = "Example AMC"
                    $0.type = .fundBond
                    $0.riskLevel = .r2
                    $0.status = .onSale
                    $0.minimumPurchase = .with { $0.minorUnits = 100_000 }
                }
            },
            as: Crm_Products_V1_UpsertProductResponse.self
        )
        #expect(product.product.version == 1)
        let readProduct = try await products.unary("/crm.products.v1.Products/GetProduct", Crm_Products_V1_GetProductRequest.with { $0.productCode = "F00001" }, as: Crm_Products_V1_GetProductResponse.self)
        #expect(readProduct.product.riskLevel == .r2)

        // A campaign is for a product in matching's copy, ranked by a model: wait until the replica
        // serves and the feed brought the product, then give it a model.
        try await waitUntil {
            let status = try await matching.unary("/crm.matching.v1.Matching/GetReplicaStatus", Crm_Matching_V1_GetReplicaStatusRequest(),
                                                  as: Crm_Matching_V1_GetReplicaStatusResponse.self).status
            return status.ready && status.products == 1
        }
        try await ConstantModel.install(into: matching)
        _ = try await matching.unary(
            "/crm.matching.v1.Matching/CreateCampaign",
            Crm_Matching_V1_CreateCampaignRequest.with { $0.campaign = .with { $0.campaignID = "K1"; $0.productCode = "F00001"; $0.name = "Spring bond drive" } },
            as: Crm_Matching_V1_CreateCampaignResponse.self
        )
        let campaign = try await matching.unary("/crm.matching.v1.Matching/GetCampaign", Crm_Matching_V1_GetCampaignRequest.with { $0.campaignID = "K1" }, as: Crm_Matching_V1_GetCampaignResponse.self)
        #expect(campaign.campaign.productCode == "F00001")

        _ = try await compensation.unary(
            "/crm.compensation.v1.Compensation/UpsertManager",
            Crm_Compensation_V1_UpsertManagerRequest.with { $0.manager = .with { $0.managerID = "M0001"; $0.name = "Li Lei"; $0.branchID = "B01"; $0.grade = "M2"; $0.status = .active } },
            as: Crm_Compensation_V1_UpsertManagerResponse.self
        )
        let manager = try await compensation.unary("/crm.compensation.v1.Compensation/GetManager", Crm_Compensation_V1_GetManagerRequest.with { $0.managerID = "M0001" }, as: Crm_Compensation_V1_GetManagerResponse.self)
        #expect(manager.manager.grade == "M2")

        // kill -9 profiles: the acknowledged write must survive; the others keep answering.
        let port = processes[0].port
        processes[0].kill9()
        #expect(try await products.unary("/crm.products.v1.Products/GetProduct", Crm_Products_V1_GetProductRequest.with { $0.productCode = "F00001" }, as: Crm_Products_V1_GetProductResponse.self).product.name == "Steady Bond Fund")
        #expect(try await matching.unary("/crm.matching.v1.Matching/GetCampaign", Crm_Matching_V1_GetCampaignRequest.with { $0.campaignID = "K1" }, as: Crm_Matching_V1_GetCampaignResponse.self).campaign.name == "Spring bond drive")
        #expect(try await compensation.unary("/crm.compensation.v1.Compensation/GetManager", Crm_Compensation_V1_GetManagerRequest.with { $0.managerID = "M0001" }, as: Crm_Compensation_V1_GetManagerResponse.self).manager.name == "Li Lei")

        try await processes[0].start(port: port)
        // The same client, untouched: it reconnects by itself.
        let back = try await profiles.unary("/crm.profiles.v1.Profiles/GetCustomer", Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C000001" }, as: Crm_Profiles_V1_GetCustomerResponse.self)
        #expect(back.customer.name == "Wang Fang")
        #expect(back.customer.openDate.isoString == "2019-03-14")

        for client in [profiles, products, matching, compensation] { await client.close() }
        // SIGTERM drains and exits cleanly.
        for process in processes {
            #expect(process.terminate() == 0, "crm-\(process.service) did not exit cleanly on SIGTERM")
        }
    }

    @Test func badInputGetsAStatusNamingTheField() async throws {
        let workDir = try makeWorkDir()
        defer { try? FileManager.default.removeItem(at: workDir) }
        let profilesProcess = ServiceProcess(service: "profiles", workDir: workDir)
        defer { profilesProcess.terminate() }
        try await profilesProcess.start()
        let profiles = client(profilesProcess)
        do {
            _ = try await profiles.unary(
                "/crm.profiles.v1.Profiles/UpsertCustomer",
                Crm_Profiles_V1_UpsertCustomerRequest.with { $0.customer = .with { $0.customerID = "C2"; $0.kind = .individual; $0.status = .normal } },
                as: Crm_Profiles_V1_UpsertCustomerResponse.self
            )
            Issue.record("expected INVALID_ARGUMENT")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(Set(error.fieldViolations.map(\.field)) == ["customer.name", "customer.open_date"])
        }
        // Nothing was written.
        do {
            _ = try await profiles.unary("/crm.profiles.v1.Profiles/GetCustomer", Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C2" }, as: Crm_Profiles_V1_GetCustomerResponse.self)
            Issue.record("expected NOT_FOUND")
        } catch let error as RPCError {
            #expect(error.code == .notFound)
        }
        await profiles.close()
    }
}
