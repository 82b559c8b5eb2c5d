import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import ProductsService

/// Products: validation, status rules, versions read back as of any time, the catalogue, roles.
@Suite struct ProductLibraryTests {
    typealias Status = Crm_Products_V1_ProductStatus

    @Test func everyStatusTransitionFollowsTheRules() {
        let all: [Status] = [.draft, .preSale, .onSale, .suspended, .closed]
        let allowed: Set<String> = [
            "DRAFT>PRE_SALE", "DRAFT>ON_SALE", "DRAFT>CLOSED",
            "PRE_SALE>ON_SALE", "PRE_SALE>SUSPENDED", "PRE_SALE>CLOSED",
            "ON_SALE>SUSPENDED", "ON_SALE>CLOSED",
            "SUSPENDED>ON_SALE", "SUSPENDED>CLOSED",
        ]
        for from in all {
            for to in all where from != to {
                #expect(ProductStatusRules.isAllowed(from: from, to: to) == allowed.contains("\(from.name)>\(to.name)"), "\(from.name) -> \(to.name)")
            }
        }
    }

    @Test func statusChangesOverTheWireAreCheckedAndAForbiddenOneWritesNothing() async throws {
        let harness = try await ProductsHarness.start()
        var product = ProductsHarness.product("P1", status: .draft)
        try await harness.upsert(product)
        for status in [Status.preSale, .onSale, .suspended, .onSale, .closed] {
            product.status = status
            #expect(try await harness.upsert(product).product.status == status)
        }
        // Closed is final: reopening is refused, naming the field, and nothing is stored.
        product.status = .onSale
        product.name = "Renamed while closed"
        let reopened = await statusOf { try await harness.upsert(product) }
        #expect(reopened?.code == .failedPrecondition)
        #expect(reopened?.fieldViolations.map(\.field) == ["product.status"])
        #expect(reopened?.message.contains("CLOSED") == true)
        let stored = try await harness.get("P1")
        #expect(stored.status == .closed)
        #expect(stored.version == 6)
        #expect(stored.name == "Fund P1")
        // A draft may not be suspended.
        try await harness.upsert(ProductsHarness.product("P2", status: .draft))
        let suspended = await statusOf { try await harness.upsert(ProductsHarness.product("P2", status: .suspended)) }
        #expect(suspended?.code == .failedPrecondition)
        try await harness.stop()
    }

    @Test func badProductsAreRefusedNamingEachField() async throws {
        let harness = try await ProductsHarness.start()
        // An invalid target rule: the field, the position and the reason.
        var product = ProductsHarness.product("P1")
        product.targetRule = "risk_tolerance >= C3 and age > "
        let rule = await statusOf { try await harness.upsert(product) }
        #expect(rule?.code == .invalidArgument)
        #expect(rule?.fieldViolations.map(\.field) == ["product.target_rule"])
        #expect(rule?.fieldViolations.first?.description == "position 32: expected a value after '>'")

        var bad = Crm_Products_V1_Product()
        bad.productCode = String(repeating: "X", count: 33)
        bad.minimumPurchase = .with { $0.minorUnits = -1; $0.currency = "yuan" }
        bad.expectedReturn = .with { $0.lowBp = 900; $0.highBp = 100 }
        bad.fees = .with { $0.managementBp = 10_001 }
        bad.salesRebateBp = 20_000
        bad.salesWindow = .with { $0.start = .init(year: 2026, month: 7, day: 1); $0.end = .init(year: 2026, month: 6, day: 1) }
        bad.targetRule = "status in frozen"
        let many = await statusOf { try await harness.upsert(bad) }
        #expect(many?.code == .invalidArgument)
        #expect(Set(many?.fieldViolations.map(\.field) ?? []) == [
            "product.product_code", "product.name", "product.type", "product.risk_level", "product.status",
            "product.minimum_purchase.minor_units", "product.minimum_purchase.currency", "product.expected_return",
            "product.fees.management_bp", "product.sales_rebate_bp", "product.sales_window", "product.target_rule",
        ])
        // Nothing was stored.
        let missing = await statusOf { _ = try await harness.get("P1") }
        #expect(missing?.code == .notFound)
        #expect(try await harness.changes(after: 0).isEmpty)
        try await harness.stop()
    }

    @Test func riskLevelsAreReadBackAsOfAnyTime() async throws {
        let harness = try await ProductsHarness.start()
        var product = ProductsHarness.product("P1", risk: .r2)
        let first = try await harness.upsert(product).product
        try await Task.sleep(for: .milliseconds(5))
        product.riskLevel = .r4
        let second = try await harness.upsert(product).product
        try await Task.sleep(for: .milliseconds(5))
        product.riskLevel = .r5
        product.salesRebateBp = 55
        let third = try await harness.upsert(product).product
        #expect([first.version, second.version, third.version] == [1, 2, 3])
        #expect(first.updatedAt.unixMillis < second.updatedAt.unixMillis)

        // Re-sending the current content is not a new version.
        #expect(try await harness.upsert(product).product.version == 3)

        #expect(try await harness.asOf("P1", first.updatedAt.unixMillis).riskLevel == .r2)
        #expect(try await harness.asOf("P1", second.updatedAt.unixMillis - 1).riskLevel == .r2)
        #expect(try await harness.asOf("P1", second.updatedAt.unixMillis).riskLevel == .r4)
        #expect(try await harness.asOf("P1", third.updatedAt.unixMillis - 1).riskLevel == .r4)
        let latest = try await harness.asOf("P1", third.updatedAt.unixMillis + 86_400_000)
        #expect(latest.riskLevel == .r5)
        #expect(latest.salesRebateBp == 55)
        #expect(latest.targetRule == product.targetRule)

        let before = await statusOf { _ = try await harness.asOf("P1", first.updatedAt.unixMillis - 1) }
        #expect(before?.code == .notFound)
        #expect(before?.fieldViolations.first?.field == "at")
        let unknown = await statusOf { _ = try await harness.asOf("NOPE", first.updatedAt.unixMillis) }
        #expect(unknown?.fieldViolations.first?.field == "product_code")

        let versions = try await harness.web.unary(Crm_Products_V1_Products.listProductVersions,
                                                   Crm_Products_V1_ListProductVersionsRequest.with { $0.productCode = "P1" }).versions
        #expect(versions.map(\.riskLevel) == [.r2, .r4, .r5])
        try await harness.stop()
    }

    @Test func theCatalogueFiltersAndPages() async throws {
        let harness = try await ProductsHarness.start()
        let types: [Crm_Products_V1_ProductType] = [.fundMoneyMarket, .fundBond, .fundEquity, .fundIndex, .structuredNote]
        let risks: [Crm_Common_V1_RiskLevel] = [.r1, .r2, .r3, .r4, .r5]
        for index in 0..<60 {
            let code = "F\(1_000 + index)"
            var tags = index % 2 == 0 ? ["green"] : []
            if index % 3 == 0 { tags.append("new") }
            let name = index % 10 == 0 ? "Harvest CSI 300 ETF \(index)" : "Steady Income \(index)"
            try await harness.upsert(ProductsHarness.product(code, name: name, type: types[index % 5], risk: risks[index % 5],
                                                             status: index < 50 ? .onSale : .draft, tags: tags))
        }
        // Every filter at once: type, risk, status, all tags, name text (case-insensitive).
        let equity = try await harness.list {
            $0.types = [.fundEquity, .fundIndex]
            $0.riskLevels = [.r4, .r5]
            $0.statuses = [.onSale]
            $0.tags = ["green", "new"]
        }
        let expected: [String] = (0..<50).filter { (index: Int) -> Bool in index % 5 == 3 && index % 6 == 0 }.map { (index: Int) -> String in "F\(1_000 + index)" }
        #expect(equity.products.map(\.productCode) == expected)
        #expect(equity.page.totalCount == UInt64(expected.count))
        let etf = try await harness.list { $0.nameContains = "etf" }
        #expect(etf.products.map(\.productCode) == ["F1000", "F1010", "F1020", "F1030", "F1040", "F1050"])
        let drafts = try await harness.list { $0.statuses = [.draft] }
        #expect(drafts.page.totalCount == 10)

        // Paging: 60 products by 25, in code order, with no gap or repeat; the last page has no token.
        var codes: [String] = []
        var token = ""
        var pages = 0
        repeat {
            let page = try await harness.list { $0.page = .with { $0.pageSize = 25; $0.pageToken = token } }
            #expect(page.page.totalCount == 60)
            codes += page.products.map(\.productCode)
            token = page.page.nextPageToken
            pages += 1
        } while !token.isEmpty
        #expect(pages == 3)
        let allCodes: [String] = (0..<60).map { (index: Int) -> String in "F\(1_000 + index)" }
        #expect(codes == allCodes)

        // A write shows in the next query (the catalogue follows the store).
        var renamed = ProductsHarness.product("F1001", name: "Global ETF Connect", type: .fundBond, risk: .r2, tags: [])
        renamed.status = .onSale
        try await harness.upsert(renamed)
        #expect(try await harness.list { $0.nameContains = "ETF" }.page.totalCount == 7)

        let tooBig = await statusOf { _ = try await harness.list { $0.page = .with { $0.pageSize = 501 } } }
        #expect(tooBig?.fieldViolations.first?.field == "page.page_size")
        let badToken = await statusOf { _ = try await harness.list { $0.page = .with { $0.pageToken = "!!" } } }
        #expect(badToken?.fieldViolations.first?.field == "page.page_token")
        try await harness.stop()
    }

    @Test func theCatalogueIsRebuiltFromTheStoreAtStartUp() async throws {
        let harness = try await ProductsHarness.start()
        for index in 1...3 { try await harness.upsert(ProductsHarness.product("P\(index)", tags: ["t"])) }
        try await harness.stop()
        let restarted = try await ProductsHarness.start(path: harness.path)
        let all = try await restarted.list { $0.tags = ["t"] }
        #expect(all.products.map(\.productCode) == ["P1", "P2", "P3"])
        #expect(all.products.first?.horizon == .oneTo3Years)
        try await restarted.stop()
    }

    @Test func onlyTheProductTeamAndHeadOfficeWriteTheLibrary() async throws {
        let harness = try await ProductsHarness.start()
        let product = ProductsHarness.product("P1")
        for token in ["web", "m1", "feed", "hr"] {
            let client = harness.service.client(token: token)
            let denied = await statusOf { try await harness.upsert(product, client: client) }
            #expect(denied?.code == .permissionDenied, "\(token)")
            await client.close()
        }
        let office = harness.service.client(token: "office")
        #expect(try await harness.upsert(product, client: office).created)
        // Readers read; hr does not.
        for token in ["web", "m1", "feed", "office"] {
            let client = harness.service.client(token: token)
            let got = try await client.unary(Crm_Products_V1_Products.getProduct, Crm_Products_V1_GetProductRequest.with { $0.productCode = "P1" })
            #expect(got.product.productCode == "P1")
            await client.close()
        }
        let hr = harness.service.client(token: "hr")
        let denied = await statusOf {
            _ = try await hr.unary(Crm_Products_V1_Products.listProducts, Crm_Products_V1_ListProductsRequest())
        }
        #expect(denied?.code == .permissionDenied)
        await hr.close()
        await office.close()
        try await harness.stop()
    }
}
