import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CRMTestSupport
import Foundation
import GRDB
@testable import MatchingService
import ProductsService
import ProfilesService

/// Profiles, products and one or more matching replicas in process, each over its own SQLite file,
/// with their background work running (the profiles dimension updater, matching's feed followers).
struct MatchingHarness: StoppableService {
    static let tokens = TestPrincipals.entries
    static let matchingSettings = ["feed.interval_ms": "20", "model.sync_seconds": "1"]

    let profiles: InProcessService<ProfilesService>
    let products: InProcessService<ProductsService>
    var replicas: [InProcessService<MatchingService>]

    static func temporaryFile(_ name: String) -> String {
        TestFiles.sqlitePath(name)
    }

    /// `profilesSettings`: profiles' settings (a file per partition, its P).
    static func start(profilesSettings: [String: String] = [:]) async throws -> MatchingHarness {
        let profiles = try await InProcessService<ProfilesService>.start(databasePath: temporaryFile("profiles"), tokens: tokens,
                                                                         settings: profilesSettings, runBackground: true)
        let products = try await InProcessService<ProductsService>.start(databasePath: temporaryFile("products"), tokens: tokens)
        var harness = MatchingHarness(profiles: profiles, products: products, replicas: [])
        let replica = try await harness.addReplica()
        // Serving: its (empty) copy has read its three feeds once.
        try await CRMTestSupport.waitUntil { replica.service.readiness.isReady }
        return harness
    }

    /// Starts another matching replica with its own store; it copies models from the first.
    @discardableResult
    mutating func addReplica() async throws -> InProcessService<MatchingService> {
        var peers = [
            "profiles": profiles.peerClient(token: "service"),
            "products": products.peerClient(token: "service"),
        ]
        if let first = replicas.first { peers["matching"] = first.peerClient(token: "service") }
        let replica = try await InProcessService<MatchingService>.start(
            databasePath: Self.temporaryFile("matching"), tokens: Self.tokens, settings: Self.matchingSettings, peers: peers, runBackground: true
        )
        replicas.append(replica)
        return replica
    }

    func stop() async throws {
        for replica in replicas { try await replica.stop() }
        try await products.stop()
        try await profiles.stop()
    }

    var matching: RPCClient { replicas[0].client(token: "office") }

    func customer(_ id: String, status: Crm_Profiles_V1_AccountStatus = .normal, tolerance: Crm_Common_V1_RiskTolerance? = .c3,
                  lowest: Bool = false, professional: Bool = false, horizon: Crm_Profiles_V1_InvestmentHorizon = .threeTo5Years,
                  varieties: [Crm_Profiles_V1_InvestmentVariety] = [.funds, .bonds], assessedDaysAgo: Int64 = 30,
                  manager: String = "M1") async throws {
        let ingest = profiles.client(token: "ingest")
        _ = try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
            $0.customer = .with {
                $0.customerID = id
                $0.kind = .individual
                $0.name = "Customer \(id)"
                $0.branchID = "B01"
                $0.managerID = manager
                $0.status = status
                if status != .prospect { $0.openDate = .init(year: 2020, month: 1, day: 15) }
            }
        })
        guard let tolerance else { return }
        let assessed = BusinessDays.date(BusinessDays.today() - Int32(assessedDaysAgo))
        _ = try await ingest.unary(Crm_Profiles_V1_Profiles.recordAssessment, Crm_Profiles_V1_RecordAssessmentRequest.with {
            $0.customerID = id
            $0.assessment = .with {
                $0.investorClass = professional ? .professional : .ordinary
                $0.riskTolerance = tolerance
                $0.lowestCategory = lowest
                $0.assessedOn = assessed
                $0.horizon = horizon
                $0.varieties = varieties
            }
        })
    }

    func product(_ code: String, risk: Crm_Common_V1_RiskLevel, type: Crm_Products_V1_ProductType = .fundMixed,
                 horizon: Crm_Products_V1_InvestmentHorizon = .oneTo3Years, variety: Crm_Products_V1_InvestmentVariety = .funds,
                 rule: String = "") async throws {
        _ = try await products.client(token: "admin").unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with {
            $0.product = .with {
                $0.productCode = code
                $0.name = "Fund \(code)"
                $0.issuer = "Harvest Asset Management"
                $0.type = type
                $0.riskLevel = risk
                $0.status = .onSale
                $0.minimumPurchase = .with { $0.minorUnits = 100_000 }
                $0.horizon = horizon
                $0.variety = variety
                $0.expectedReturn = .with { $0.lowBp = 300; $0.highBp = 800 }
                $0.fees = .with { $0.subscriptionBp = 150; $0.managementBp = 120 }
                $0.salesRebateBp = 40
                let today = BusinessDays.today()
                $0.salesWindow = .with { $0.start = BusinessDays.date(today - 400); $0.end = BusinessDays.date(today + 30) }
                $0.targetRule = rule
            }
        })
    }

    // MARK: Waiting (bounded polling of a condition, no timing)

    /// The last sequence each source's feed holds now.
    func sourceSequences() async throws -> (UInt64, UInt64) {
        let profilesLast = try await profiles.database.read { db in try ChangeFeed.lastSequence(db) }
        let productsLast = try await products.database.read { db in try ChangeFeed.lastSequence(db) }
        return (profilesLast, productsLast)
    }

    /// Waits until every replica serves, has applied everything both feeds and profiles' views and
    /// contacts hold now (profiles has folded every event into dimensions first) and holds the
    /// first replica's model.
    func waitUntilCaughtUp() async throws {
        try await profiles.service.updateDimensions()
        let (profilesLast, productsLast) = try await sourceSequences()
        let eventsLast = try await profiles.database.read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM event WHERE kind IN (6, 7)") ?? 0
        }
        let model = replicas.first?.service.replicaStatus().modelVersion ?? ""
        for replica in replicas {
            try await CRMTestSupport.waitUntil {
                let status = replica.service.replicaStatus()
                return replica.service.readiness.isReady && status.profilesSequence >= profilesLast
                    && status.productsSequence >= productsLast && status.eventsSequence >= UInt64(eventsLast)
                    && status.modelVersion == model
            }
        }
    }

    /// Imports a model that scores everyone alike into the first replica (the others copy it):
    /// ranked calls need a model, and with this one lists are in customer-id order.
    func useConstantModel() async throws {
        try await ConstantModel.install(into: matching)
        try await waitUntilCaughtUp()
    }


    struct HarnessError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: Calls

    func decide(_ customer: String, _ product: String, client: RPCClient? = nil) async throws -> Crm_Matching_V1_DecideSuitabilityResponse {
        try await (client ?? matching).unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
            $0.customerID = customer
            $0.productCode = product
        })
    }

    func targets(_ product: String, k: UInt32 = 100, client: RPCClient? = nil) async throws -> Crm_Matching_V1_TargetCustomersResponse {
        try await (client ?? matching).unary(Crm_Matching_V1_Matching.targetCustomers, Crm_Matching_V1_TargetCustomersRequest.with {
            $0.productCode = product
            $0.k = k
        })
    }

    func recommend(_ customer: String, client: RPCClient? = nil) async throws -> Crm_Matching_V1_RecommendProductsResponse {
        try await (client ?? matching).unary(Crm_Matching_V1_Matching.recommendProducts, Crm_Matching_V1_RecommendProductsRequest.with {
            $0.customerID = customer
            $0.limit = 100
        })
    }
}
