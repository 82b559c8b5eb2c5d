import CRMProtos
import CRMRPC
import Foundation
import Testing
@testable import ProductsService

// TEMPORARY measurement, removed before hand-off.
@Suite struct TimingProbe {
    @Test func catalogueTiming() async throws {
        guard ProcessInfo.processInfo.environment["PRODUCTS_TIMING"] == "1" else { return }
        let harness = try await ProductsHarness.start()
        let types: [Crm_Products_V1_ProductType] = [.fundMoneyMarket, .fundBond, .fundMixed, .fundEquity, .fundIndex, .fundQdii, .bond, .assetManagement, .structuredNote, .advisoryPackage]
        let risks: [Crm_Common_V1_RiskLevel] = [.r1, .r2, .r3, .r4, .r5]
        let statuses: [Crm_Products_V1_ProductStatus] = [.draft, .preSale, .onSale, .onSale, .suspended, .closed]
        let tagPool = ["green", "new", "hot", "esg", "dividend", "tech", "asia", "usd"]
        for index in 0..<1_000 {
            var p = ProductsHarness.product("F\(10_000 + index)", name: "Fund \(index) \(index % 7 == 0 ? "ETF" : "Income")",
                                            type: types[index % 10], risk: risks[index % 5], status: statuses[index % 6],
                                            tags: [tagPool[index % 8], tagPool[(index / 8) % 8]])
            p.issuer = "Issuer \(index % 20)"
            try await harness.upsert(p)
        }
        let queries: [(String, Crm_Products_V1_ListProductsRequest)] = [
            ("all page 50", .with { _ in }),
            ("type+risk+status", .with { $0.types = [.fundEquity, .fundIndex]; $0.riskLevels = [.r4, .r5]; $0.statuses = [.onSale] }),
            ("tags x2", .with { $0.tags = ["green", "hot"] }),
            ("name text", .with { $0.nameContains = "etf" }),
            ("everything, page 500", .with { $0.types = [.fundEquity]; $0.tags = ["esg"]; $0.nameContains = "fund"; $0.page = .with { $0.pageSize = 500 } }),
            ("all, page 500", .with { $0.page = .with { $0.pageSize = 500 } }),
        ]
        let catalogue = harness.service.service.catalogue
        for (name, request) in queries {
            let rounds = 300
            var samples: [Double] = []
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                _ = try await harness.web.unary(ProductsHarness.method + "ListProducts", request, as: Crm_Products_V1_ListProductsResponse.self)
                let elapsed = ContinuousClock.now - start
                samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
            }
            samples.sort()
            let filter = CatalogueFilter(request)
            let start = ContinuousClock.now
            for _ in 0..<rounds { _ = catalogue.query(filter, afterCode: "", limit: 50) }
            let scan = ContinuousClock.now - start
            let scanMicros = (Double(scan.components.attoseconds) / 1e12 + Double(scan.components.seconds) * 1e6) / Double(rounds)
            print(String(format: "TIMING %@: RPC p50 %.3f ms p99 %.3f ms max %.3f ms; in-memory scan %.1f µs", name,
                         samples[rounds / 2], samples[rounds * 99 / 100], samples[rounds - 1], scanMicros))
        }
        try await harness.stop()
    }
}
