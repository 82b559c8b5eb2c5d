import CRMProtos
import CRMRPC
import CRMSuitability
import CRMTestSupport
import Foundation
import Testing

/// Orders through the real products executable asking the real matching executable, which follows
/// the real profiles and products executables' feeds; and matching answering while profiles is down.
@Suite(.serialized) struct MatchingEndToEndTests {
    static let adminToken = "dev-admin-token"

    func client(_ process: ServiceProcess) -> RPCClient {
        RPCClient(configuration: ClientConfiguration(
            endpoints: [process.endpoint], security: process.clientSecurity, token: Self.adminToken, defaultDeadline: nil,
            initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(250)
        ))
    }

    /// Waits until `condition` holds (the services converge by themselves); a call that fails
    /// meanwhile counts as not yet. No time limit: a busy machine only makes it slower.
    func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        try await waitUntil(every: .milliseconds(20)) { (try? await condition()) == true }
    }

    @Test func ordersAreGatedByTheRealMatchingAndMatchingOutlivesProfiles() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let profilesProcess = ServiceProcess(service: "profiles", workDir: workDir)
        let productsProcess = ServiceProcess(service: "products", workDir: workDir)
        let matchingProcess = ServiceProcess(service: "matching", workDir: workDir)
        defer { for process in [matchingProcess, productsProcess, profilesProcess] { process.terminate() } }
        // Products and matching export their spans to this stand-in collector (OTLP/HTTP, JSON).
        let collector = try await OTLPReceiver.start()
        defer { Task { try? await collector.stop() } }
        let tracing = ["--otlp-endpoint", collector.endpoint, "--otlp-protocol", "http/json"]

        // Products and matching each need the other's port: products starts first, then is
        // restarted on its port once matching's is known (an operator's one-service restart).
        try await profilesProcess.start()
        try await productsProcess.start(peers: ["matching": 1])
        // At info, so each finished call's line (with its trace id) is in the log.
        try await matchingProcess.start(peers: ["profiles": profilesProcess.port, "products": productsProcess.port], arguments: ["--log-level", "info"] + tracing)
        productsProcess.terminate()
        try await productsProcess.start(port: productsProcess.port, peers: ["matching": matchingProcess.port], arguments: ["--log-level", "info"] + tracing)
        let profiles = client(profilesProcess), products = client(productsProcess), matching = client(matchingProcess)

        func customer(_ id: String, tolerance: Crm_Common_V1_RiskTolerance, lowest: Bool = false) async throws {
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = .with {
                    $0.customerID = id
                    $0.kind = .individual
                    $0.name = "Customer \(id)"
                    $0.branchID = "B01"
                    $0.managerID = "M0001"
                    $0.status = .normal
                    $0.openDate = .init(year: 2019, month: 3, day: 14)
                }
            })
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.recordAssessment, Crm_Profiles_V1_RecordAssessmentRequest.with {
                $0.customerID = id
                $0.assessment = .with {
                    $0.investorClass = .ordinary
                    $0.riskTolerance = tolerance
                    $0.lowestCategory = lowest
                    $0.assessedOn = todayInBeijing(plus: -10)
                    $0.horizon = .threeTo5Years
                    $0.varieties = [.funds]
                }
            })
        }
        try await customer("MATCH", tolerance: .c4)
        try await customer("LOWEST", tolerance: .c1, lowest: true)
        try await customer("MISMATCH", tolerance: .c2)
        _ = try await products.unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with {
            $0.product = .with {
                $0.productCode = "F001"
                $0.name = "Balanced Growth Fund"
                $0.issuer = "Example AMC"
                $0.type = .fundMixed
                $0.riskLevel = .r3
                $0.status = .onSale
                $0.minimumPurchase = .with { $0.minorUnits = 100_000 }
                $0.horizon = .oneTo3Years
                $0.variety = .funds
                $0.salesRebateBp = 40
                $0.salesWindow = .with { $0.start = todayInBeijing(plus: -30); $0.end = todayInBeijing(plus: 30) }
            }
        })
        _ = try await products.unary(Crm_Products_V1_Products.putContractTemplate, Crm_Products_V1_PutContractTemplateRequest.with {
            $0.template = .with {
                $0.productCode = "F001"
                $0.title = "Subscription agreement"
                $0.body = "The customer subscribes to the fund on these terms."
                $0.disclosures = [.with { $0.disclosureID = "D1"; $0.text = "You may lose money." }]
            }
        })
        for id in ["MATCH", "LOWEST", "MISMATCH"] {
            _ = try await products.unary(Crm_Products_V1_Products.signContract, Crm_Products_V1_SignContractRequest.with {
                $0.customerID = id
                $0.productCode = "F001"
                $0.templateVersion = 1
                $0.channel = .website
                $0.confirmedDisclosureIds = ["D1"]
            })
        }
        func status() async throws -> Crm_Matching_V1_ReplicaStatus {
            try await matching.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
        }
        try await eventually("matching copies the customers and the product") {
            let status = try await status()
            return status.customers == 3 && status.products == 1 && status.ready
        }
        // Assessments arrive after the customers in the same feed: wait until the last one is in.
        try await eventually("matching sees MISMATCH's assessment") {
            try await matching.unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
                $0.customerID = "MISMATCH"; $0.productCode = "F001"
            }).decision == .mismatch
        }

        func order(_ id: String, customer: String) async throws -> Crm_Products_V1_PlaceOrderResponse {
            try await products.unary(Crm_Products_V1_Products.placeOrder, Crm_Products_V1_PlaceOrderRequest.with {
                $0.order = .with {
                    $0.orderID = id
                    $0.customerID = customer
                    $0.productCode = "F001"
                    $0.side = .subscription
                    $0.amount = .with { $0.minorUnits = 500_000 }
                    $0.channel = .website
                }
            })
        }
        func refusal(_ id: String, _ customer: String) async -> RPCError? {
            do {
                _ = try await order(id, customer: customer)
                return nil
            } catch let error as RPCError {
                return error
            } catch {
                return RPCError(.unknown, "\(error)")
            }
        }
        let prohibited = await refusal("O-LOW", "LOWEST")
        #expect(prohibited?.code == .failedPrecondition)
        #expect(prohibited?.message.contains("LOWEST_CATEGORY_ABOVE_R1") == true || prohibited?.message.contains("lowest risk category") == true)
        let mismatch = await refusal("O-MIS", "MISMATCH")
        #expect(mismatch?.code == .failedPrecondition)
        let accepted = try await order("O-OK", customer: "MATCH")
        #expect(accepted.created)
        #expect(accepted.order.suitability == .match)
        #expect(accepted.order.suitabilityRuleVersion == SuitabilityRules.currentVersion)

        // An order placed with a trace is one trace across products and matching: products' line for
        // PlaceOrder and matching's for the gate's DecideSuitability carry the same trace id.
        let trace = TraceContext.newTrace()
        let traced = try await TraceContext.$current.withValue(trace) { try await order("O-TRACED", customer: "MATCH") }
        #expect(traced.created)
        func logLine(_ process: ServiceProcess, _ method: String) -> Bool {
            let log = (try? String(contentsOf: process.workDir.appendingPathComponent("\(process.name).log"), encoding: .utf8)) ?? ""
            return log.split(separator: "\n").contains { $0.contains("call finished") && $0.contains(method) && $0.contains("trace-id=\(trace.traceID)") }
        }
        try await eventually("products logs the traced order") { logLine(productsProcess, "/crm.products.v1.Products/PlaceOrder") }
        try await eventually("matching logs the gate's decision in the same trace") { logLine(matchingProcess, "/crm.matching.v1.Matching/DecideSuitability") }

        // Profiles stops: matching answers from its copy and reports the staleness.
        profilesProcess.terminate()
        try await eventually("matching notices profiles is gone") { try await status().profilesStalenessSeconds > 0 }
        let stillAnswering = try await matching.unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
            $0.customerID = "MATCH"; $0.productCode = "F001"
        })
        #expect(stillAnswering.decision == .match)

        // Profiles comes back on its port with its data: matching catches up with what is new.
        try await profilesProcess.start(port: profilesProcess.port)
        try await customer("LATECOMER", tolerance: .c5)
        try await eventually("matching catches up after profiles restarts") {
            try await matching.unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
                $0.customerID = "LATECOMER"; $0.productCode = "F001"
            }).decision == .match
        }
        // Each partition's follower reads again after its own back-off: the copy is current once all have.
        try await eventually("every partition's feed read again") { try await status().profilesStalenessSeconds == 0 }
        #expect(matchingProcess.terminate() == 0)

        // The traced order's spans, flushed by each process's graceful shutdown: products' server
        // span continues the caller's traceparent, its call to matching is a client span under it,
        // and matching's server span is that client span's child — one trace over two services.
        #expect(productsProcess.terminate() == 0)
        let spans = collector.spans.filter { $0.traceID == trace.traceID }
        let placed = try #require(spans.first { $0.name == "crm.products.v1.Products/PlaceOrder" && $0.kind == 2 })
        #expect(placed.service == "crm-products")
        #expect(placed.parentSpanID == trace.spanID)
        #expect(placed.attributes["rpc.system"] == "crm")
        #expect(placed.attributes["rpc.crm.status_code"] == "OK")
        let gate = try #require(spans.first { $0.name == "crm.matching.v1.Matching/DecideSuitability" && $0.kind == 3 })
        #expect(gate.service == "crm-products")
        #expect(gate.parentSpanID == placed.spanID)
        let decided = try #require(spans.first { $0.name == "crm.matching.v1.Matching/DecideSuitability" && $0.kind == 2 })
        #expect(decided.service == "crm-matching")
        #expect(decided.parentSpanID == gate.spanID)
        #expect(decided.attributes["rpc.method"] == "DecideSuitability")
    }
}
