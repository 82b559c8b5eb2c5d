import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import Synchronization
import Testing

/// Matching replicas as operators run them (the real executables): they find each other in one
/// shared list and copy the model; a replica with no model refuses ranked calls; a replica serves
/// only once its copy is loaded, and calls before that are UNAVAILABLE, never a wrong NOT_FOUND.
@Suite(.serialized) struct ReplicaReadinessTests {
    static let adminToken = "dev-admin-token"
    func client(_ process: ServiceProcess) -> RPCClient {
        RPCClient(configuration: ClientConfiguration(
            endpoints: [process.endpoint], security: process.clientSecurity, token: Self.adminToken, defaultDeadline: nil,
            initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(250)
        ))
    }

    func workDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-replicas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func status(_ matching: RPCClient) async throws -> Crm_Matching_V1_ReplicaStatus {
        try await matching.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
    }

    func health(_ client: RPCClient) async throws -> HealthCheckResponse {
        try await client.unary(Crm_Rpc_V1_Health.check, HealthCheckRequest())
    }

    func upsertProduct(_ products: RPCClient, _ code: String) async throws {
        _ = try await products.unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with {
            $0.product = .with {
                $0.productCode = code
                $0.name = "Fund \(code)"
                $0.issuer = "Example AMC"
                $0.type = .fundBond
                $0.riskLevel = .r1
                $0.status = .onSale
                $0.minimumPurchase = .with { $0.minorUnits = 100_000 }
            }
        })
    }

    @Test func replicasFindEachOtherInOneSharedListAndAReplicaWithoutAModelRefusesRankedCalls() async throws {
        let dir = try workDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let profiles = ServiceProcess(service: "profiles", workDir: dir)
        let products = ServiceProcess(service: "products", workDir: dir)
        let first = ServiceProcess(service: "matching", workDir: dir, name: "matching-1")
        let second = ServiceProcess(service: "matching", workDir: dir, name: "matching-2")
        defer { for process in [second, first, products, profiles] { process.terminate() } }
        try await profiles.start()
        try await products.start()
        let feeds = ["profiles": profiles.port, "products": products.port]
        try await first.start(peers: feeds)
        try await second.start(peers: feeds, arguments: ["--setting", "model.sync_seconds=1"])
        // Both now get the same list of every replica, themselves included, as the shipped
        // configuration and `crmctl up` give it: each leaves itself out.
        let siblings = "matching=127.0.0.1:\(first.port),127.0.0.1:\(second.port)"
        first.terminate()
        try await first.start(port: first.port, peers: feeds, arguments: ["--peer", siblings, "--setting", "model.sync_seconds=1"])
        second.terminate()
        try await second.start(port: second.port, peers: feeds, arguments: ["--peer", siblings, "--setting", "model.sync_seconds=1"])

        let productsClient = client(products)
        defer { Task { await productsClient.close() } }
        try await upsertProduct(productsClient, "F1")
        let one = client(first), two = client(second)
        defer { Task { await one.close(); await two.close() } }
        for replica in [one, two] {
            try await waitUntil { let status = try await self.status(replica); return status.ready && status.products == 1 }
        }

        // No model anywhere: ranked calls are refused, not answered with score 0.
        for call in ["TargetCustomers", "RecommendProducts"] {
            let refusal = await statusOf {
                if call == "TargetCustomers" {
                    _ = try await two.unary(Crm_Matching_V1_Matching.targetCustomers, .with { $0.productCode = "F1" })
                } else {
                    _ = try await two.unary(Crm_Matching_V1_Matching.recommendProducts, .with { $0.customerID = "C1" })
                }
            }
            #expect(refusal?.code == .failedPrecondition, "\(call): \(String(describing: refusal))")
            #expect(refusal?.message.contains("no propensity model") == true)
        }

        // A model given to the second replica reaches the first, and the other way round.
        try await ConstantModel.install(into: two, version: "model-from-two", trainedAt: 1)
        try await waitUntil { try await self.status(one).modelVersion == "model-from-two" }
        try await ConstantModel.install(into: one, version: "model-from-one", trainedAt: 2)
        try await waitUntil { try await self.status(two).modelVersion == "model-from-one" }
        let ranked = try await two.unary(Crm_Matching_V1_Matching.targetCustomers, Crm_Matching_V1_TargetCustomersRequest.with { $0.productCode = "F1" })
        #expect(ranked.modelVersion == "model-from-one")
    }

    @Test func aReplicaServesOnlyOnceItsCopyIsLoadedAndAnswersUnavailableUntilThen() async throws {
        let dir = try workDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let profiles = ServiceProcess(service: "profiles", workDir: dir)
        let products = ServiceProcess(service: "products", workDir: dir)
        let matching = ServiceProcess(service: "matching", workDir: dir)
        defer { for process in [matching, products, profiles] { process.terminate() } }
        try await profiles.start()
        try await products.start()
        let profilesPort = profiles.port
        // Profiles is down when the new replica starts: its copy cannot be complete.
        profiles.terminate()
        try await matching.start(peers: ["profiles": profilesPort, "products": products.port])
        let replica = client(matching)
        defer { Task { await replica.close() } }
        try await waitUntil { try await self.health(replica).details["not_serving_reason"] != "loading its copy from the store" }

        let starting = try await health(replica)
        #expect(starting.status == .notServing)
        #expect(starting.details["not_serving_reason"] == "reading profiles and products for the first time")
        #expect(try await status(replica).ready == false)
        // An unknown customer now is not a NOT_FOUND: the copy is not there yet. Retryable.
        let early = await statusOf {
            _ = try await replica.unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
                $0.customerID = "C1"; $0.productCode = "F1"
            })
        }
        #expect(early?.code == .unavailable)
        #expect(early?.message.contains("matching is starting") == true)

        // Profiles comes back: the copy catches up, the replica serves, and NOT_FOUND means not found.
        try await profiles.start(port: profilesPort)
        try await waitUntil { try await self.health(replica).status == .serving }
        #expect(try await status(replica).ready)
        let notFound = await statusOf {
            _ = try await replica.unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
                $0.customerID = "C1"; $0.productCode = "F1"
            })
        }
        #expect(notFound?.code == .notFound)

        // Restarted while profiles is down, a replica whose copy caught up before serves from it.
        profiles.terminate()
        matching.terminate()
        try await matching.start(port: matching.port, peers: ["profiles": profilesPort, "products": products.port])
        try await waitUntil { try await self.health(replica).status == .serving }
        #expect(try await status(replica).ready)
    }
}


/// SIGTERM drains the server before what its handlers write into stops: every decision matching
/// answered, up to the last one of the drain, is in its decision log after the restart.
@Suite(.serialized) struct ShutdownOrderTests {
    @Test func everyDecisionAnsweredBeforeASigtermIsInTheLogAfterTheRestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-shutdown-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let profiles = ServiceProcess(service: "profiles", workDir: dir)
        let products = ServiceProcess(service: "products", workDir: dir)
        let matching = ServiceProcess(service: "matching", workDir: dir)
        defer { for process in [matching, products, profiles] { process.terminate() } }
        try await profiles.start()
        try await products.start()
        try await matching.start(peers: ["profiles": profiles.port, "products": products.port])
        let admin = { (process: ServiceProcess) in
            RPCClient(configuration: ClientConfiguration(endpoints: [process.endpoint], security: process.clientSecurity, token: "dev-admin-token", defaultDeadline: nil,
                                                         initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(250)))
        }
        let profilesClient = admin(profiles), productsClient = admin(products), status = admin(matching)
        defer { Task { for client in [profilesClient, productsClient, status] { await client.close() } } }
        let customers = ["C1", "C2", "C3", "C4"]
        for id in customers {
            _ = try await profilesClient.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = .with {
                    $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(id)"; $0.branchID = "B01"; $0.status = .normal
                    $0.openDate = .init(year: 2019, month: 3, day: 14)
                }
            })
        }
        _ = try await productsClient.unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with {
            $0.product = .with {
                $0.productCode = "F1"; $0.name = "Fund F1"; $0.type = .fundBond; $0.riskLevel = .r1; $0.status = .onSale
                $0.minimumPurchase = .with { $0.minorUnits = 100_000 }
            }
        })
        try await waitUntil {
            let replica = try await status.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
            return replica.ready && replica.customers == 4 && replica.products == 1
        }

        // Eight callers decide as fast as they can, each on its own connection, until matching goes.
        // Before the SIGTERM a failed call (a deadline on a busy machine) is only not counted; after
        // it, the first failure ends the caller. A caller that fails many times in a row before it
        // stops too, and the wait below then ends with a failure instead of waiting for ever.
        final class Tally: Sendable {
            let answered = Mutex<[String: String]>([:])  // order id → customer
            let sent = Atomic(0)
            let stopping = Atomic(false)
            let callersEnded = Atomic(0)
        }
        let tally = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    let caller = RPCClient(configuration: ClientConfiguration(endpoints: [matching.endpoint], security: matching.clientSecurity, token: "dev-admin-token",
                                                                              defaultDeadline: .seconds(5)))
                    defer {
                        tally.callersEnded.add(1, ordering: .relaxed)
                        Task { await caller.close() }
                    }
                    var failuresInARow = 0
                    while true {
                        let number = tally.sent.add(1, ordering: .relaxed).newValue
                        let orderID = "D\(worker)-\(number)", customer = customers[number % customers.count]
                        do {
                            _ = try await caller.unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
                                $0.customerID = customer; $0.productCode = "F1"; $0.orderID = orderID
                            })
                            tally.answered.withLock { $0[orderID] = customer }
                            failuresInARow = 0
                        } catch {
                            failuresInARow += 1
                            // The server went away (or never answers): this caller is done.
                            if tally.stopping.load(ordering: .relaxed) || failuresInARow >= 100 { return }
                        }
                    }
                }
            }
            // SIGTERM once the load is well under way; the callers stop as the server goes.
            try await waitUntil { tally.answered.withLock { $0.count } >= 300 || tally.callersEnded.load(ordering: .relaxed) == 8 }
            try #require(tally.answered.withLock { $0.count } >= 300, "every caller stopped failing before 300 decisions were answered")
            tally.stopping.store(true, ordering: .relaxed)
            #expect(matching.terminate() == 0)
            try await group.waitForAll()
        }

        try await matching.start(port: matching.port, peers: ["profiles": profiles.port, "products": products.port])
        try await waitUntil {
            (try? await status.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status.ready) == true
        }
        var logged: Set<String> = []
        for id in customers {
            let decisions = try await status.unary(Crm_Matching_V1_Matching.listDecisions, Crm_Matching_V1_ListDecisionsRequest.with {
                $0.customerID = id; $0.limit = 1_000
            }).decisions
            logged.formUnion(decisions.map(\.orderID))
        }
        let all = tally.answered.withLock { $0 }
        #expect(all.count < customers.count * 1_000, "more decisions than one ListDecisions page per customer shows")
        let missing = Set(all.keys).subtracting(logged)
        #expect(missing.isEmpty, "\(missing.count) of \(all.count) answered decisions are not in the log: \(missing.sorted().prefix(10))")
    }
}
