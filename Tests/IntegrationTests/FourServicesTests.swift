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

    /// The four executables over stores in `workDir`, in the order profiles, products, matching,
    /// compensation; matching and compensation follow the profiles and products processes' feeds.
    /// If one fails to start, those already started are stopped.
    private func startFourServices(_ workDir: URL) async throws -> [ServiceProcess] {
        let processes = ["profiles", "products", "matching", "compensation"].map { ServiceProcess(service: $0, workDir: workDir) }
        do {
            try await processes[0].start()
            try await processes[1].start()
            let feeds = ["profiles": processes[0].port, "products": processes[1].port]
            try await processes[2].start(peers: feeds)
            try await processes[3].start(peers: feeds)
        } catch {
            for process in processes { process.terminate() }
            throw error
        }
        return processes
    }

    private func client(_ process: ServiceProcess) -> RPCClient {
        RPCClient(configuration: ClientConfiguration(
            endpoints: [process.endpoint],
            security: process.clientSecurity,
            token: Self.adminToken,
            defaultDeadline: nil,
            initialBackoff: .milliseconds(20),
            maximumBackoff: .milliseconds(250)
        ))
    }

    @Test func eachServiceWritesToItsStoreAndAKilledServiceComesBackWithItsData() async throws {
        let workDir = try makeWorkDir()
        defer { try? FileManager.default.removeItem(at: workDir) }
        let processes = try await startFourServices(workDir)
        defer { for process in processes { process.terminate() } }
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
            Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with { $0.customer = customer })
        #expect(upserted.created)

        let product = try await products.unary(
            Crm_Products_V1_Products.upsertProduct,
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
            })
        #expect(product.product.version == 1)
        let readProduct = try await products.unary(Crm_Products_V1_Products.getProduct, Crm_Products_V1_GetProductRequest.with { $0.productCode = "F00001" })
        #expect(readProduct.product.riskLevel == .r2)

        // A campaign is for a product in matching's copy, ranked by a model: wait until the replica
        // serves and the feed brought the product, then give it a model.
        try await waitUntil {
            let status = try await matching.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
            return status.ready && status.products == 1
        }
        try await ConstantModel.install(into: matching)
        _ = try await matching.unary(
            Crm_Matching_V1_Matching.createCampaign,
            Crm_Matching_V1_CreateCampaignRequest.with { $0.campaign = .with { $0.campaignID = "K1"; $0.productCode = "F00001"; $0.name = "Spring bond drive" } })
        let campaign = try await matching.unary(Crm_Matching_V1_Matching.getCampaign, Crm_Matching_V1_GetCampaignRequest.with { $0.campaignID = "K1" })
        #expect(campaign.campaign.productCode == "F00001")

        _ = try await compensation.unary(
            Crm_Compensation_V1_Compensation.upsertManager,
            Crm_Compensation_V1_UpsertManagerRequest.with { $0.manager = .with { $0.managerID = "M0001"; $0.name = "Li Lei"; $0.branchID = "B01"; $0.grade = "M2"; $0.status = .active } })
        let manager = try await compensation.unary(Crm_Compensation_V1_Compensation.getManager, Crm_Compensation_V1_GetManagerRequest.with { $0.managerID = "M0001" })
        #expect(manager.manager.grade == "M2")

        // kill -9 profiles: the acknowledged write must survive; the others keep answering.
        let port = processes[0].port
        processes[0].kill9()
        #expect(try await products.unary(Crm_Products_V1_Products.getProduct, Crm_Products_V1_GetProductRequest.with { $0.productCode = "F00001" }).product.name == "Steady Bond Fund")
        #expect(try await matching.unary(Crm_Matching_V1_Matching.getCampaign, Crm_Matching_V1_GetCampaignRequest.with { $0.campaignID = "K1" }).campaign.name == "Spring bond drive")
        #expect(try await compensation.unary(Crm_Compensation_V1_Compensation.getManager, Crm_Compensation_V1_GetManagerRequest.with { $0.managerID = "M0001" }).manager.name == "Li Lei")

        try await processes[0].start(port: port)
        // The same client, untouched: it reconnects by itself.
        let back = try await profiles.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C000001" })
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
                Crm_Profiles_V1_Profiles.upsertCustomer,
                Crm_Profiles_V1_UpsertCustomerRequest.with { $0.customer = .with { $0.customerID = "C2"; $0.kind = .individual; $0.status = .normal } })
            Issue.record("expected INVALID_ARGUMENT")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(Set(error.fieldViolations.map(\.field)) == ["customer.name", "customer.open_date"])
        }
        // Nothing was written.
        do {
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C2" })
            Issue.record("expected NOT_FOUND")
        } catch let error as RPCError {
            #expect(error.code == .notFound)
        }
        await profiles.close()
    }

    /// Text is stored exactly as sent or refused, never cut at U+0000; every text has a limit and
    /// every date is a date — in every service, since each checks every request the same way.
    @Test func textWithANulOrOverItsLimitAndDatesThatAreNotDatesAreRefusedInEveryService() async throws {
        let workDir = try makeWorkDir()
        defer { try? FileManager.default.removeItem(at: workDir) }
        let processes = try await startFourServices(workDir)
        defer { for process in processes { process.terminate() } }
        let profiles = client(processes[0]), products = client(processes[1])
        let matching = client(processes[2]), compensation = client(processes[3])
        defer { Task { for client in [profiles, products, matching, compensation] { await client.close() } } }

        func customer(_ id: String, name: String, birth: Crm_Common_V1_Date? = nil) -> Crm_Profiles_V1_UpsertCustomerRequest {
            .with {
                $0.customer = .with {
                    $0.customerID = id; $0.kind = .individual; $0.name = name; $0.branchID = "B01"; $0.status = .normal
                    $0.openDate = .init(year: 2019, month: 3, day: 14)
                    if let birth { $0.birthDate = birth }
                }
            }
        }
        func refusal(_ call: () async throws -> Void) async -> [String] {
            guard let error = await statusOf(call) else { return ["accepted"] }
            #expect(error.code == .invalidArgument, "\(error)")
            return error.fieldViolations.map(\.field)
        }
        let upsert = { (request: Crm_Profiles_V1_UpsertCustomerRequest) in
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.upsertCustomer, request)
        }
        // Profiles: a NUL in a name or an id, a month 13, a name of megabytes.
        #expect(await refusal { try await upsert(customer("C1", name: "before\u{0}after")) } == ["customer.name"])
        #expect(await refusal { try await upsert(customer("U-NUL\u{0}ID", name: "Nul Id")) } == ["customer.customer_id"])
        #expect(await refusal { try await upsert(customer("C1", name: "Wang", birth: .init(year: 1980, month: 13, day: 1))) } == ["customer.birth_date"])
        #expect(await refusal { try await upsert(customer("C1", name: String(repeating: "名", count: 1_300_000))) } == ["customer.name"])
        // Nothing of it was written; the same name without the NUL is stored exactly.
        try await upsert(customer("C1", name: "before after"))
        let stored = try await profiles.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C1" })
        #expect(stored.customer.name == "before after")
        #expect(!stored.customer.hasBirthDate)
        // Two trade keys that differ only after a NUL are not taken for one: the batch is refused
        // with the element that holds it, and nothing of the batch is written.
        func trade(_ key: String) -> Crm_Profiles_V1_TradeEvent {
            .with {
                $0.idempotencyKey = key; $0.customerID = "C1"; $0.account = .cash; $0.side = .buy; $0.instrument = "600519"
                $0.instrumentType = .stock; $0.quantity = 100; $0.price = "10.00"; $0.amount = .with { $0.minorUnits = 100_000 }
                $0.tradedAt = .with { $0.unixMillis = 1_764_000_000_000 }
            }
        }
        let trades = Crm_Profiles_V1_IngestTradesRequest.with { $0.events = [trade("T-1\u{0}a"), trade("T-2"), trade("T-1\u{0}b")] }
        #expect(await refusal {
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.ingestTrades, trades)
        } == ["events[0].idempotency_key", "events[2].idempotency_key"])

        // Products, matching and compensation check the same way.
        #expect(await refusal {
            _ = try await products.unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with {
                $0.product = .with {
                    $0.productCode = "F1"; $0.name = String(repeating: "x", count: 3_900_000); $0.type = .fundBond; $0.riskLevel = .r2; $0.status = .onSale
                    $0.salesWindow = .with { $0.start = .init(year: 2026, month: 2, day: 30) }
                }
            })
        } == ["product.name", "product.sales_window.start"])
        try await waitUntil {
            try await matching.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status.ready
        }
        #expect(await refusal {
            _ = try await matching.unary(Crm_Matching_V1_Matching.createCampaign, Crm_Matching_V1_CreateCampaignRequest.with {
                $0.campaign = .with { $0.campaignID = "K\u{0}1"; $0.productCode = "F1"; $0.name = "Spring" }
            })
        } == ["campaign.campaign_id"])
        #expect(await refusal {
            _ = try await compensation.unary(Crm_Compensation_V1_Compensation.upsertManager, Crm_Compensation_V1_UpsertManagerRequest.with {
                $0.manager = .with { $0.managerID = "M1"; $0.name = "Li\u{0}Lei"; $0.branchID = "B01"; $0.grade = "M2"; $0.status = .active }
            })
        } == ["manager.name"])
    }
}
