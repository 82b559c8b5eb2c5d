import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import Foundation
import GRDB
import NIOCore
import Synchronization
@testable import ProductsService
import CRMTestSupport

/// The products service in process, over a fresh SQLite file, with one token per role.
struct ProductsHarness: StoppableService {
    static let tokens = TestPrincipals.entries
    let service: InProcessService<ProductsService>
    let path: String
    let admin: RPCClient
    let web: RPCClient

    /// Starts the service; `matching` is the matching peer's client (none: orders get UNAVAILABLE).
    static func start(path: String? = nil, matching: RPCClient? = nil, settings: [String: String] = [:],
                      peers: [String: RPCClient] = [:], runBackground: Bool = false) async throws -> ProductsHarness {
        let file = path ?? TestFiles.sqlitePath("products")
        var allPeers = peers
        if let matching { allPeers["matching"] = matching }
        let service = try await InProcessService<ProductsService>.start(
            databasePath: file, tokens: tokens, settings: settings, peers: allPeers, runBackground: runBackground
        )
        return ProductsHarness(service: service, path: file, admin: service.client(token: "admin"), web: service.client(token: "web"))
    }

    func stop() async throws {
        await admin.close()
        await web.close()
        try await service.stop()
    }

    // MARK: Calls

    @discardableResult
    func upsert(_ product: Crm_Products_V1_Product, client: RPCClient? = nil) async throws -> Crm_Products_V1_UpsertProductResponse {
        try await (client ?? admin).unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with { $0.product = product })
    }

    func get(_ code: String) async throws -> Crm_Products_V1_Product {
        try await web.unary(Crm_Products_V1_Products.getProduct, Crm_Products_V1_GetProductRequest.with { $0.productCode = code }).product
    }

    func asOf(_ code: String, _ millis: Int64) async throws -> Crm_Products_V1_Product {
        try await web.unary(Crm_Products_V1_Products.getProductAsOf, Crm_Products_V1_GetProductAsOfRequest.with {
            $0.productCode = code
            $0.at = .with { $0.unixMillis = millis }
        }).product
    }

    func list(_ fill: (inout Crm_Products_V1_ListProductsRequest) -> Void) async throws -> Crm_Products_V1_ListProductsResponse {
        try await web.unary(Crm_Products_V1_Products.listProducts, Crm_Products_V1_ListProductsRequest.with(fill))
    }

    @discardableResult
    func putTemplate(_ code: String, body: String = "The customer subscribes to the product on these terms.",
                     disclosures: [String] = ["D1", "D2"]) async throws -> Crm_Products_V1_ContractTemplate {
        try await admin.unary(Crm_Products_V1_Products.putContractTemplate, Crm_Products_V1_PutContractTemplateRequest.with {
            $0.template = .with {
                $0.productCode = code
                $0.title = "Subscription agreement for \(code)"
                $0.body = body
                $0.disclosures = disclosures.map { id in .with { $0.disclosureID = id; $0.text = "Risk \(id): you may lose money." } }
            }
        }).template
    }

    func sign(_ customer: String, _ code: String, version: UInt32 = 1, confirm: [String] = ["D1", "D2"],
              mismatchConfirmed: Bool = false) async throws -> Crm_Products_V1_SignedContract {
        try await web.unary(Crm_Products_V1_Products.signContract, Crm_Products_V1_SignContractRequest.with {
            $0.customerID = customer
            $0.productCode = code
            $0.templateVersion = version
            $0.channel = .website
            $0.confirmedDisclosureIds = confirm
            $0.mismatchConfirmed = mismatchConfirmed
        }).contract
    }

    func verify(_ id: UInt64) async throws -> Crm_Products_V1_VerifyContractResponse {
        try await web.unary(Crm_Products_V1_Products.verifyContract, Crm_Products_V1_VerifyContractRequest.with { $0.contractID = id })
    }

    func place(_ order: Crm_Products_V1_Order, client: RPCClient? = nil) async throws -> Crm_Products_V1_PlaceOrderResponse {
        try await (client ?? web).unary(Crm_Products_V1_Products.placeOrder, Crm_Products_V1_PlaceOrderRequest.with { $0.order = order })
    }

    func changes(after: UInt64, client: RPCClient? = nil) async throws -> [Crm_Products_V1_ChangeEvent] {
        try await (client ?? service.client(token: "feed")).serverStreaming(
            Crm_Products_V1_Products.streamChanges, Crm_Products_V1_StreamChangesRequest.with { $0.afterSequence = after }).collect()
    }

    /// The handlers of orders over this service's store with another suitability gate, called
    /// directly (no wire): how the gate's paths are tested deterministically.
    func orderHandlers(gate: any SuitabilityGate, access: SalesAccess = SalesAccess(profiles: nil)) -> OrderHandlers {
        let database = service.database
        return OrderHandlers(products: ProductStore(database: database), contracts: ContractStore(database: database),
                             orders: OrderStore(database: database), gate: gate, access: access)
    }

    // MARK: Fixtures

    /// Today in Beijing, and days around it, for sales windows.
    static func day(_ offset: Int64) -> Crm_Common_V1_Date {
        BeijingCalendar.date(ofUnixMillis: currentUnixMillis() + offset * BeijingCalendar.millisPerDay)
    }

    /// A fund on sale today with a minimum purchase of 1,000.00 CNY.
    static func product(_ code: String, name: String? = nil, type: Crm_Products_V1_ProductType = .fundMixed,
                        risk: Crm_Common_V1_RiskLevel = .r3, status: Crm_Products_V1_ProductStatus = .onSale,
                        tags: [String] = [], minimumFen: Int64 = 100_000) -> Crm_Products_V1_Product {
        .with {
            $0.productCode = code
            $0.name = name ?? "Fund \(code)"
            $0.issuer = "Harvest Asset Management"
            $0.type = type
            $0.riskLevel = risk
            $0.status = status
            $0.minimumPurchase = .with { $0.minorUnits = minimumFen }
            $0.tags = tags
            $0.horizon = .oneTo3Years
            $0.variety = .funds
            $0.expectedReturn = .with { $0.lowBp = 300; $0.highBp = 800 }
            $0.fees = .with { $0.subscriptionBp = 150; $0.managementBp = 120 }
            $0.salesRebateBp = 40
            $0.salesWindow = .with { $0.start = day(-30); $0.end = day(30) }
            $0.targetRule = "risk_tolerance >= C3 and asset_tier in (gold, platinum)"
        }
    }

    static func order(_ id: String, customer: String = "C1", product: String = "P1", fen: Int64 = 500_000,
                      side: Crm_Products_V1_OrderSide = .subscription) -> Crm_Products_V1_Order {
        .with {
            $0.orderID = id
            $0.customerID = customer
            $0.productCode = product
            $0.side = side
            $0.amount = .with { $0.minorUnits = fen }
            $0.channel = .website
            $0.managerID = "M1"
        }
    }
}



/// A suitability gate that always answers the same decision, counting its calls.
final class FixedGate: SuitabilityGate {
    let decision: Crm_Matching_V1_DecideSuitabilityResponse
    private let calls = Mutex(0)

    init(_ decision: Crm_Matching_V1_SuitabilityDecision, reasons: [(String, String)] = [], ruleVersion: String = "rules-v7") {
        self.decision = .with {
            $0.decision = decision
            $0.reasons = reasons.map { code, text in .with { $0.code = code; $0.text = text } }
            $0.ruleVersion = ruleVersion
        }
    }

    var callCount: Int { calls.withLock { $0 } }

    func decide(_ request: Crm_Matching_V1_DecideSuitabilityRequest, deadline: NIODeadline?) async throws -> Crm_Matching_V1_DecideSuitabilityResponse {
        calls.withLock { $0 += 1 }
        return decision
    }
}
