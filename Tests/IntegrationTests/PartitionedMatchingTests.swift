import CRMPartitions
import CRMPropensity
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import GRDB
import SwiftProtobuf
import Testing

/// Matching following two real profiles executables that split 8 partitions, beside a matching
/// following one profiles process holding the same customers, assessments, views and contacts
/// (both with the same products process and the same model): suitability decisions, target lists
/// and recommendations are equal for the customers of both owners; after a restart of the first,
/// each owner's feeds resume after what was applied (nothing applied again, counted) and the
/// answers stay equal; with one owner down it answers from its copy and reports that owner stale.
@Suite(.serialized) struct PartitionedMatchingTests {
    static let count = 8
    static let followed: [Crm_Profiles_V1_EventType] = [.productView, .serviceContact]
    /// Products of three families and risks: (code, type, family type name, risk).
    static let products: [(String, Crm_Products_V1_ProductType, String, Crm_Common_V1_RiskLevel)] = [
        ("B001", .fundBond, "FUND_BOND", .r2), ("F001", .fundMixed, "FUND_MIXED", .r3), ("E001", .fundEquity, "FUND_EQUITY", .r4),
    ]

    /// ``products``, on sale for the 30 days either side of today, into the products service.
    static func addProducts(to products: RPCClient) async throws {
        for product in Self.products {
            _ = try await products.unary(Crm_Products_V1_Products.upsertProduct, .with {
                $0.product = .with {
                    $0.productCode = product.0; $0.name = "Fund \(product.0)"; $0.issuer = "Example AMC"; $0.type = product.1
                    $0.riskLevel = product.3; $0.status = .onSale; $0.minimumPurchase = .with { $0.minorUnits = 100_000 }
                    $0.horizon = .oneTo3Years; $0.variety = .funds; $0.salesRebateBp = 40
                    $0.salesWindow = .with { $0.start = todayInBeijing(plus: -30); $0.end = todayInBeijing(plus: 30) }
                }
            })
        }
    }

    private func client(_ process: ServiceProcess) -> RPCClient {
        process.adminClient()
    }

    /// Customer `index`'s record and assessment (tolerances C1…C5 in turn; every seventh in the
    /// lowest category: the C1 ones of odd tens).
    static func customer(_ id: String, index: Int) -> (Crm_Profiles_V1_UpsertCustomerRequest, Crm_Profiles_V1_RecordAssessmentRequest) {
        let tolerances: [Crm_Common_V1_RiskTolerance] = [.c1, .c2, .c3, .c4, .c5]
        let upsert = Crm_Profiles_V1_UpsertCustomerRequest.with {
            $0.customer = .with {
                $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(id)"; $0.branchID = "B01"; $0.managerID = "M0001"
                $0.status = .normal; $0.openDate = .init(year: 2019, month: 3, day: 14)
            }
        }
        let assess = Crm_Profiles_V1_RecordAssessmentRequest.with {
            $0.customerID = id
            $0.assessment = .with {
                $0.investorClass = .ordinary; $0.riskTolerance = tolerances[index % 5]; $0.lowestCategory = index % 10 == 5
                $0.assessedOn = todayInBeijing(plus: -10); $0.horizon = .threeTo5Years; $0.varieties = [.funds]
            }
        }
        return (upsert, assess)
    }

    /// Views and contacts for `customers` in `round`: customer i views product families a varying
    /// number of times in the last two days, and is contacted about one product every third.
    static func behaviour(_ customers: [String], round: Int, now: Int64) -> (Crm_Profiles_V1_IngestProductViewsRequest, Crm_Profiles_V1_IngestServiceContactsRequest) {
        var views: [Crm_Profiles_V1_ProductViewEvent] = []
        var contacts: [Crm_Profiles_V1_ServiceContactEvent] = []
        for (index, customer) in customers.enumerated() {
            for view in 0..<((index * 7 + round) % 5) {
                let product = products[(index + view) % products.count]
                views.append(.with {
                    $0.idempotencyKey = "V\(round)-\(view)-\(customer)"  // unique: profiles dedupes by (kind, key)
                    $0.customerID = customer; $0.productCode = product.0; $0.productType = product.2
                    $0.viewedAt = .with { $0.unixMillis = now - Int64(round * 3_600_000 + view * 60_000 + index * 1_000) }
                })
            }
            if index % 3 == round % 3 {
                contacts.append(.with {
                    $0.idempotencyKey = "K\(round)-\(customer)"; $0.customerID = customer; $0.channel = .call; $0.staffID = "M0001"
                    $0.topic = "follow-up"; $0.outcome = .interested; $0.productCode = products[index % products.count].0
                    $0.contactedAt = .with { $0.unixMillis = now - Int64(round * 3_600_000 + 30_000) }
                })
            }
        }
        return (.with { $0.events = views }, .with { $0.events = contacts })
    }

    /// Each customer's record and assessment (``customer(_:index:)``) and a round of views and
    /// contacts (``behaviour(_:round:now:)``), through `profiles`.
    static func loadCustomers(_ customers: [String], into profiles: RPCClient) async throws {
        for (index, id) in customers.enumerated() {
            let (upsert, assess) = customer(id, index: index)
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.upsertCustomer, upsert)
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.recordAssessment, assess)
        }
        let (views, contacts) = behaviour(customers, round: 1, now: Int64(Date().timeIntervalSince1970 * 1_000))
        _ = try await profiles.unary(Crm_Profiles_V1_Profiles.ingestProductViews, views)
        _ = try await profiles.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, contacts)
    }

    /// A logistic model reading only the customer's behaviour towards the family: scores differ by
    /// how many views and contacts the copy holds, so a view lost or applied twice changes a list.
    static func model() throws -> Crm_Matching_V1_ExportModelResponse {
        let features = ["family_views_30d", "family_contacts_30d", "contacts_30d"]
        let model = try LogisticRegression(featureNames: features, means: [0, 0, 0], scales: [1, 1, 1], coefficients: [0.7, 0.4, 0.2], intercept: -3)
        return .with {
            $0.summary = .with {
                $0.version = "logistic-1700000000000-test"; $0.kind = .logisticRegression; $0.features = features
                $0.trainedAt = .with { $0.unixMillis = 1_700_000_000_000 }
            }
            $0.model = Data(model.serialized())
        }
    }

    /// The last position of each feed of a profiles process matching follows (0 when empty).
    static func ends(of profiles: RPCClient) async throws -> (changes: UInt64, events: UInt64) {
        let events = try await profiles.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with { $0.types = followed }).collect()
        let changes = try await profiles.serverStreaming(Crm_Profiles_V1_Profiles.streamChanges, Crm_Profiles_V1_StreamChangesRequest()).collect()
        return (changes.last?.sequence ?? 0, events.last?.eventID ?? 0)
    }

    static func health(_ client: RPCClient) async throws -> [String: String] {
        try await client.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details
    }

    /// Waits until `matching` is ready with `products` products and has applied each feed of each
    /// profiles process up to its end (`feeds`: the owner's suffix of the detail, "" for one process).
    static func waitApplied(_ matching: RPCClient, _ feeds: [(suffix: String, profiles: RPCClient)]) async throws {
        var expected: [String: UInt64] = [:]
        for (suffix, profiles) in feeds {
            let (changes, events) = try await ends(of: profiles)
            expected["profiles_sequence\(suffix)"] = changes
            expected["events_sequence\(suffix)"] = events
        }
        try await waitUntil(every: .milliseconds(20)) {
            guard let details = try? await health(matching), details["ready"] == "true", details["products"] == "\(products.count)" else { return false }
            return expected.allSatisfy { key, end in (details[key].flatMap { UInt64($0) } ?? 0) >= end }
        }
    }

    /// Every answer matching gives about `customers` as comparable text: each (customer, product)
    /// decision with its reasons, each product's target list (ranks, scores, reasons), each
    /// customer's recommendations.
    static func answers(_ matching: RPCClient, customers: [String]) async throws -> [String] {
        var answers: [String] = []
        for customer in customers {
            for product in products {
                var decision = try await matching.unary(Crm_Matching_V1_Matching.decideSuitability, .with { $0.customerID = customer; $0.productCode = product.0 })
                decision.clearDecidedAt()
                answers.append("\(customer)/\(product.0): \(decision.textFormatString())")
            }
            let recommended = try await matching.unary(Crm_Matching_V1_Matching.recommendProducts, .with { $0.customerID = customer })
            answers.append("recommend \(customer): \(recommended.textFormatString())")
        }
        for product in products {
            let targets = try await matching.unary(Crm_Matching_V1_Matching.targetCustomers, .with { $0.productCode = product.0; $0.k = 1_000 })
            answers.append("targets \(product.0): \(targets.textFormatString())")
        }
        return answers
    }

    static func expectSame(_ split: [String], _ whole: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(split.count == whole.count, sourceLocation: sourceLocation)
        for (a, b) in zip(split, whole) where a != b {
            Issue.record("split\n\(a)\nwhole\n\(b)", sourceLocation: sourceLocation)
        }
    }

    @Test func matchingFollowingTwoOwnersAnswersAsWithOneProcess() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-match-parts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let topology = try OwnersTopology(in: workDir, count: Self.count)
        let single = ServiceProcess(service: "profiles", workDir: workDir, name: "profiles-single")
        let productsProcess = ServiceProcess(service: "products", workDir: workDir)
        let split = ServiceProcess(service: "matching", workDir: workDir, name: "matching-split")
        let whole = ServiceProcess(service: "matching", workDir: workDir, name: "matching-whole")
        let owners = try await topology.startOwners(in: workDir, extra: OwnersTopology.oneFile)
        defer { for process in owners + [single, productsProcess, split, whole] { process.terminate() } }
        try await single.start(arguments: ["--setting", "partitions.count=\(Self.count)"] + OwnersTopology.oneFile)
        try await productsProcess.start()
        let first = client(owners[0]), second = client(owners[1]), reference = client(single), products = client(productsProcess)

        try await Self.addProducts(to: products)
        // Customers on both owners, each sent to both sides through one endpoint.
        let customers = (1...24).map { String(format: "C%06d", $0) }
        let partitioning = try Partitioning(count: Self.count)
        #expect(Set(customers.map { partitioning.partition(of: $0) < 4 }).count == 2, "both owners hold customers")
        for (index, id) in customers.enumerated() {
            let (upsert, assess) = Self.customer(id, index: index)
            for entry in [first, reference] {
                _ = try await entry.unary(Crm_Profiles_V1_Profiles.upsertCustomer, upsert)
                _ = try await entry.unary(Crm_Profiles_V1_Profiles.recordAssessment, assess)
            }
        }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        func ingest(round: Int) async throws -> Int {
            let (views, contacts) = Self.behaviour(customers, round: round, now: now)
            for entry in [first, reference] {
                _ = try await entry.unary(Crm_Profiles_V1_Profiles.ingestProductViews, views)
                _ = try await entry.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, contacts)
            }
            return views.events.count + contacts.events.count
        }
        let firstRound = try await ingest(round: 1)
        // Each owner numbers its own log from 1: the same ids name different events.
        let firstEnds = try await Self.ends(of: first), secondEnds = try await Self.ends(of: second)
        #expect(firstEnds.events > 0 && secondEnds.events > 0)

        let settings = ["--setting", "feed.interval_ms=20"]
        try await split.start(peers: ["profiles": owners[0].port, "products": productsProcess.port], arguments: settings)
        try await whole.start(peers: ["profiles": single.port, "products": productsProcess.port], arguments: settings)
        let splitClient = client(split), wholeClient = client(whole)
        let ownerFeeds = [(".profiles-0", first), (".profiles-1", second)]
        try await Self.waitApplied(splitClient, ownerFeeds)
        try await Self.waitApplied(wholeClient, [("", reference)])
        for matching in [splitClient, wholeClient] {
            _ = try await matching.unary(Crm_Matching_V1_Matching.importModel, .with { $0.model = try Self.model() })
        }
        let details = try await Self.health(splitClient)
        #expect(details["profiles_sequence.profiles-1"] != nil && details["events_staleness_seconds.profiles-0"] == "0.0", "each owner's feeds in health")
        #expect(try await Self.health(wholeClient)["profiles_owners"] == nil, "one process: today's details")
        #expect(details["behaviour_applied"] == "\(firstRound)", "every view and contact of both owners applied once")

        let answers = try await Self.answers(splitClient, customers: customers)
        Self.expectSame(answers, try await Self.answers(wholeClient, customers: customers))
        let lists = answers.filter { $0.hasPrefix("targets") }.joined()
        for owner in 0..<2 {
            let owned = customers.filter { (partitioning.partition(of: $0) < 4) == (owner == 0) }
            #expect(owned.contains { lists.contains("customer_id: \"\($0)\"") }, "targets among profiles-\(owner)'s customers")
        }

        // The split side's matching restarted on its store while more views and contacts arrive:
        // it resumes each owner's feeds after what it applied, and applies only what is new.
        #expect(split.terminate() == 0)
        let secondRound = try await ingest(round: 2)
        try await split.start(peers: ["profiles": owners[0].port, "products": productsProcess.port], arguments: settings)
        let restarted = client(split)
        try await Self.waitApplied(restarted, ownerFeeds)
        try await Self.waitApplied(wholeClient, [("", reference)])
        #expect(try await Self.health(restarted)["behaviour_applied"] == "\(secondRound)", "only the new events applied after the restart")
        Self.expectSame(try await Self.answers(restarted, customers: customers), try await Self.answers(wholeClient, customers: customers))

        // One owner down: the replica answers from its copy, that owner's staleness grows in its
        // own details, the other owner's stays current.
        owners[1].terminate()
        try await waitUntil(every: .milliseconds(20)) {
            (try? await Self.health(restarted)["profiles_staleness_seconds.profiles-1"]).flatMap { $0.flatMap(Double.init) }.map { $0 > 0 } ?? false
        }
        let down = try await Self.health(restarted)
        #expect(down["profiles_staleness_seconds.profiles-0"] == "0.0" && down["profiles_error.profiles-1"] != nil)
        let stranded = try #require(customers.first { partitioning.partition(of: $0) >= 4 })
        Self.expectSame(try await Self.answers(restarted, customers: [stranded]), try await Self.answers(wholeClient, customers: [stranded]))

        for client in [first, second, reference, products, splitClient, wholeClient, restarted] { await client.close() }
        #expect(split.terminate() == 0)
        // Every view and contact of both owners is stored once, by identity.
        let store = try DatabaseQueue(path: split.databasePath)
        let stored = try await store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM behaviour WHERE key LIKE 'pe:%'") ?? -1 }
        #expect(stored == firstRound + secondRound)
    }
}
