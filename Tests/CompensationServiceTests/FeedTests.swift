import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CRMTestSupport
import Foundation
import GRDB
import ProductsService
import ProfilesService
import Testing
@testable import CompensationService

/// The feed path end to end: real profiles and products services in process, compensation following
/// their feeds in the background, stopped and restarted on the same store: every event counts once.
@Suite struct FeedTests {
    typealias H = CompensationHarness

    static let peerTokens = TestPrincipals.entries

    /// Compensation with its feed followers running, as the host runs them.
    final class Running: Sendable {
        let harness: CompensationHarness
        let followers: Task<Void, any Error>

        init(_ harness: CompensationHarness) {
            self.harness = harness
            let services = harness.service.service.backgroundServices()
            followers = Task {
                try await withThrowingDiscardingTaskGroup { group in
                    for service in services { group.addTask { try await service.run() } }
                }
            }
        }

        func stop() async throws {
            followers.cancel()
            _ = await followers.result
            try await harness.stop()
        }
    }

    static func count(_ harness: CompensationHarness, _ sql: String) async throws -> Int {
        try await harness.service.database.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    /// Waits until `condition` holds (no time limit: a busy machine only makes it slower); true.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        try await CRMTestSupport.waitUntil(condition)
        return true
    }

    /// A March 2025 trade; keys starting with "M" are margin-account trades.
    static func trade(_ key: String, customer: String, day: Int, commission: Int64) -> Crm_Profiles_V1_TradeEvent {
        var trade = EventIdentityFeedTests.trade(key, customer: customer, on: (2025, 3, day), commission: commission)
        if key.hasPrefix("M") { trade.account = .margin }
        return trade
    }

    @Test func incomeArrivesExactlyOnceAcrossARestart() async throws {
        // Profiles with two customers and March's activity.
        let profilesPath = TestFiles.sqlitePath("profiles")
        try await withService(await InProcessService<ProfilesService>.start(databasePath: profilesPath, tokens: Self.peerTokens)) { profiles in
            let ingest = profiles.client(token: "ingest")
            for id in ["C1", "C2"] {
                _ = try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
                    $0.customer = .with {
                        $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(id)"; $0.branchID = "B1"; $0.status = .normal
                        $0.openDate = .day(2025, 3, 2)
                    }
                })
            }
            _ = try await ingest.unary(Crm_Profiles_V1_Profiles.ingestTrades, Crm_Profiles_V1_IngestTradesRequest.with {
                $0.events = [Self.trade("T1", customer: "C1", day: 3, commission: 5_000), Self.trade("M2", customer: "C2", day: 4, commission: 7_000)]
            })
            _ = try await ingest.unary(Crm_Profiles_V1_Profiles.ingestMarginInterest, Crm_Profiles_V1_IngestMarginInterestRequest.with {
                $0.events = [.with { $0.idempotencyKey = "I1"; $0.customerID = "C2"; $0.amount = .with { $0.minorUnits = 333 }; $0.chargedAt = .with { $0.unixMillis = H.millis(2025, 3, 31) } }]
            })
            _ = try await ingest.unary(Crm_Profiles_V1_Profiles.ingestFundTransfers, Crm_Profiles_V1_IngestFundTransfersRequest.with {
                $0.events = [.with { $0.idempotencyKey = "F1"; $0.customerID = "C1"; $0.direction = .deposit; $0.amount = .with { $0.minorUnits = 50_000 }; $0.transferredAt = .with { $0.unixMillis = H.millis(2025, 3, 5) } }]
            })

            // Products with a fund on sale, and an order credited to M1 (suitability from a stand-in).
            let matching = try await StandInMatching.start()
            let productsPath = TestFiles.sqlitePath("products")
            let products = try await InProcessService<ProductsService>.start(databasePath: productsPath, tokens: Self.peerTokens, peers: ["matching": matching.client()])
            try await Self.sell(products)

            // Compensation follows both.
            let peer = { (port: Int) in
                RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], token: "peer", defaultDeadline: .seconds(10)))
            }
            let settings = H.settings.merging(["feeds.poll_interval_ms": "10", "feeds.batch": "2"]) { $1 }
            var running = Running(try await H.start(peers: ["profiles": peer(profiles.port), "products": peer(products.port)], settings: settings))
            let path = running.harness.path
            let firstRun = running.harness
            // Three trades/interest and one order are income; the transfer is a flow; two customers known.
            #expect(try await Self.eventually { try await Self.count(firstRun, "SELECT COUNT(*) FROM income_item") == 4 })
            #expect(try await Self.eventually { try await Self.count(firstRun, "SELECT COUNT(*) FROM customer") == 2 })
            #expect(try await Self.count(firstRun, "SELECT COUNT(*) FROM asset_flow") == 1)
            let sale = try await firstRun.service.database.read { db -> [String] in
                guard let row = try Row.fetchOne(db, sql: "SELECT credited_manager_id, rebate_bp, amount_fen FROM income_item WHERE source_event_id = 'order:O1'") else {
                    return []
                }
                return ["\(row[0] as String? ?? "")", "\(row[1] as Int? ?? 0)", "\(row[2] as Int64? ?? 0)"]
            }
            #expect(sale == ["M1", "40", "500000"])
            let details = await firstRun.service.service.healthDetails()
            #expect(details["feed.profiles_events.position"] != nil)
            #expect(details["feed.products_changes.position"] != nil)
            try await running.stop()

            // While compensation is down: two new trades, and one old trade sent again (a duplicate).
            _ = try await ingest.unary(Crm_Profiles_V1_Profiles.ingestTrades, Crm_Profiles_V1_IngestTradesRequest.with {
                $0.events = [Self.trade("T3", customer: "C1", day: 20, commission: 1_000), Self.trade("T1", customer: "C1", day: 3, commission: 5_000),
                             Self.trade("T4", customer: "C2", day: 21, commission: 2_000)]
            })

            // Restarted on the same store, it resumes after its cursors: no gap, no repeat.
            running = Running(try await H.start(path: path, peers: ["profiles": peer(profiles.port), "products": peer(products.port)], settings: settings))
            let secondRun = running.harness
            #expect(try await Self.eventually { try await Self.count(secondRun, "SELECT COUNT(*) FROM income_item") == 6 })
            try await secondRun.service.service.catchUpFeeds()
            #expect(try await Self.count(secondRun, "SELECT COUNT(*) FROM income_item") == 6)
            #expect(try await Self.count(secondRun, "SELECT COUNT(DISTINCT source_event_id) FROM income_item") == 6)
            // 5 000 + 7 000 + 1 000 + 2 000 of commission, 333 of interest, 500 000 of sales.
            #expect(try await Self.count(secondRun, "SELECT SUM(amount_fen) FROM income_item WHERE source IN (0, 1)") == 15_000)
            #expect(try await Self.count(secondRun, "SELECT SUM(amount_fen) FROM income_item WHERE source = 2") == 333)
            let lastEvent = try await profiles.database.read { db in try Int.fetchOne(db, sql: "SELECT MAX(id) FROM event") ?? 0 }
            #expect(try await Self.count(secondRun, "SELECT position FROM feed_cursor WHERE feed = 'profiles_events'") == lastEvent)

            // The customers it learnt are the ones assignments may name; March settles from the feeds.
            try await secondRun.organisation()
            try await secondRun.putScheme()
            try await secondRun.assign("C1", to: "M1", from: .day(2025, 3, 1))
            try await secondRun.assign("C2", to: "M2", from: .day(2025, 3, 1))
            let march = try await secondRun.settle("2025-03")
            // M1: (5 000 − 20 − 100) + (1 000 − 20 − 100) = 5 760 × 20 % = 1 152.
            // M2: (7 000 − 120) + (2 000 − 120) = 8 760 × 20 % = 1 752; interest 333 × 10 % = 33.3 → 33.
            #expect(try await secondRun.statement("M1", "2025-03").statement.totalFen == 1_152)
            #expect(try await secondRun.statement("M2", "2025-03").statement.totalFen == 1_785)
            #expect(march.totalPayFen == 1_152 + 1_785)
            let figures = try await secondRun.call(Crm_Compensation_V1_Compensation.getAssessmentFigures, Crm_Compensation_V1_GetAssessmentFiguresRequest.with { $0.month = "2025-03" }, token: "office")
            #expect(figures.scopeTotal.figures.newCustomers == 2)
            #expect(figures.scopeTotal.figures.netNewAssetsFen == 50_000)

            try await running.stop()
            await ingest.close()
            try await products.stop()
            await matching.stop()
        }
    }

    @Test func assignmentsOfCustomersTheFeedHasNotBroughtYetAreCheckedWithProfiles() async throws {
        let profilesPath = TestFiles.sqlitePath("profiles")
        try await withService(await InProcessService<ProfilesService>.start(databasePath: profilesPath, tokens: Self.peerTokens)) { profiles in
            let ingest = profiles.client(token: "ingest")
            let ids = (1...120).map { "L\(1_000 + $0)" }
            for id in ids {
                _ = try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
                    $0.customer = .with { $0.customerID = id; $0.kind = .individual; $0.name = id; $0.branchID = "B1"; $0.status = .prospect }
                })
            }
            // Compensation knows profiles as a peer but has not followed its feed: every id is new to it.
            let peer = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: profiles.port)], token: "peer", defaultDeadline: .seconds(10)))
            let harness = try await H.start(peers: ["profiles": peer])
            try await harness.organisation()
            func assign(_ customers: [String]) async throws -> Crm_Compensation_V1_AssignCustomersResponse {
                try await harness.call(Crm_Compensation_V1_Compensation.assignCustomers, Crm_Compensation_V1_AssignCustomersRequest.with {
                    $0.assignments = customers.map { id in .with { $0.customerID = id; $0.managerID = "M1"; $0.effectiveFrom = .day(2025, 1, 1) } }
                })
            }
            // 100 at once (streamed from profiles), then 20 (asked one by one), one of them unknown.
            #expect(try await assign(Array(ids.prefix(100))).created == 100)
            let refused = await statusOf { _ = try await assign(Array(ids.suffix(20)) + ["L9999"]) }
            #expect(refused?.code == .notFound)
            #expect(refused?.fieldViolations.map(\.field) == ["assignments[20].customer_id"])
            #expect(try await assign(Array(ids.suffix(20))).created == 20)
            #expect(try await Self.count(harness, "SELECT COUNT(*) FROM customer") == 120)
            try await harness.stop()
            await peer.close()
            await ingest.close()
        }
    }

    /// A fund on sale around today, its contract signed by C1, and a 5 000.00 CNY order credited to M1.
    static func sell(_ products: InProcessService<ProductsService>) async throws {
        let admin = products.client(token: "admin"), web = products.client(token: "web")
        let today = BusinessCalendar.day(ofUnixMillis: currentUnixMillis())
        _ = try await admin.unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with {
            $0.product = .with {
                $0.productCode = "P1"; $0.name = "Steady Fund"; $0.issuer = "Harvest"; $0.type = .fundMixed; $0.riskLevel = .r3; $0.status = .onSale
                $0.minimumPurchase = .with { $0.minorUnits = 100_000 }
                $0.horizon = .oneTo3Years; $0.variety = .funds
                $0.expectedReturn = .with { $0.lowBp = 300; $0.highBp = 800 }
                $0.salesRebateBp = 40
                $0.salesWindow = .with { $0.start = today.adding(days: -30).wire; $0.end = today.adding(days: 30).wire }
            }
        })
        _ = try await admin.unary(Crm_Products_V1_Products.putContractTemplate, Crm_Products_V1_PutContractTemplateRequest.with {
            $0.template = .with { $0.productCode = "P1"; $0.title = "Agreement"; $0.body = "Terms."; $0.disclosures = [.with { $0.disclosureID = "D1"; $0.text = "Risk." }] }
        })
        _ = try await web.unary(Crm_Products_V1_Products.signContract, Crm_Products_V1_SignContractRequest.with {
            $0.customerID = "C1"; $0.productCode = "P1"; $0.templateVersion = 1; $0.channel = .website; $0.confirmedDisclosureIds = ["D1"]
        })
        _ = try await web.unary(Crm_Products_V1_Products.placeOrder, Crm_Products_V1_PlaceOrderRequest.with {
            $0.order = .with {
                $0.orderID = "O1"; $0.customerID = "C1"; $0.productCode = "P1"; $0.side = .subscription
                $0.amount = .with { $0.minorUnits = 500_000 }; $0.channel = .website; $0.managerID = "M1"
            }
        })
        await admin.close()
        await web.close()
    }
}

/// Matching's DecideSuitability answering MATCH, on 127.0.0.1 and a free port.
final class StandInMatching: Sendable {
    let server: RPCServer
    let port: Int

    private init(server: RPCServer, port: Int) {
        self.server = server
        self.port = port
    }

    static func start() async throws -> StandInMatching {
        var router = Router()
        router.unary(Crm_Matching_V1_Matching.decideSuitability, policy: .roles("service")) { _, _ in
            Crm_Matching_V1_DecideSuitabilityResponse.with { $0.decision = .match; $0.ruleVersion = "stand-in" }
        }
        let server = RPCServer(
            serviceName: "matching", configuration: RPCServerConfiguration(port: 0), router: router,
            authenticator: TestPrincipals.authenticator
        )
        let address = try await server.start()
        return StandInMatching(server: server, port: address.port ?? 0)
    }

    func client() -> RPCClient {
        RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], token: "peer", defaultDeadline: .seconds(5)))
    }

    func stop() async {
        await server.shutdown()
    }
}
