import CRMProtos
import CRMWorld
import Foundation
import Testing

/// The planted law: its signals are real, its product probabilities add up, and the realized
/// purchases agree with the probabilities.
@Suite struct PurchaseLawTests {
    let world = WorldFixture.world
    let customers = WorldFixture.customers

    /// A state with the given values and nothing else remarkable.
    static func state(viewed: String = "none", lastView: Double = .nan, assetsYuan: Int64 = 50_000, trades: Int = 0, tolerance: Double = 3,
                      age: Double = 40, largest: String = "none", products: Int = 0, lastContact: Double = .nan) -> ObservedState {
        ObservedState(asOf: 20_400, mostViewedProductType90d: viewed, daysSinceLastView: lastView, avgAssets90d: assetsYuan * 100,
                      tradeCount30d: trades, riskToleranceLevel: tolerance, ageYears: age, largestProductType: largest,
                      productHoldingCount: products, daysSinceLastContact: lastContact)
    }

    @Test func recentViewsOfTheFamilyAreTheStrongestSignal() {
        let family = WorldFamily.bondFund
        let plain = PurchaseLaw.score(family, Self.state())
        let recent = PurchaseLaw.score(family, Self.state(viewed: "FUND_BOND", lastView: 3))
        let earlier = PurchaseLaw.score(family, Self.state(viewed: "FUND_BOND", lastView: 40))
        let other = PurchaseLaw.score(family, Self.state(viewed: "FUND_EQUITY", lastView: 3))
        #expect(abs(recent - plain - 2.6) < 1e-9 && abs(earlier - plain - 1.2) < 1e-9 && other == plain)
        // An AND, not a sum: young alone, or risk-taking alone, is worth less than both together.
        let both = PurchaseLaw.score(.equityFund, Self.state(tolerance: 5, age: 30))
        let riskOnly = PurchaseLaw.score(.equityFund, Self.state(tolerance: 5, age: 50))
        let youngOnly = PurchaseLaw.score(.equityFund, Self.state(tolerance: 3, age: 30))
        let neither = PurchaseLaw.score(.equityFund, Self.state(tolerance: 3, age: 50))
        #expect((both - riskOnly) - (youngOnly - neither) > 0.8)
        // Wealth gates asset management.
        #expect(PurchaseLaw.score(.assetManagement, Self.state(assetsYuan: 2_000_000)) - PurchaseLaw.score(.assetManagement, Self.state(assetsYuan: 50_000)) > 3.5)
        #expect(PurchaseLaw.propensity(family, Self.state()) < 0.01)
    }

    @Test func customersBuyTheFamilyTheyViewedMostSeveralTimesMoreOften() {
        var viewed = (months: 0, purchases: 0)
        var others = (months: 0, purchases: 0)
        for customer in customers {
            for (index, month) in customer.months.enumerated() where month.eligible {
                for family in WorldFamily.allCases where month.matchingWeight[family.rawValue] > 0 {
                    let bought = customer.purchases.contains { $0.month == index && $0.family == family } ? 1 : 0
                    if month.state.mostViewedFamily == family {
                        viewed.months += 1
                        viewed.purchases += bought
                    } else {
                        others.months += 1
                        others.purchases += bought
                    }
                }
            }
        }
        let viewedRate = Double(viewed.purchases) / Double(viewed.months)
        let otherRate = Double(others.purchases) / Double(others.months)
        #expect(viewed.purchases > 50)
        #expect(viewedRate > 4 * otherRate, "viewed-most rate \(viewedRate) vs \(otherRate)")
    }

    @Test func monthlyPurchaseRateIsAFewPercent() {
        let eligible = customers.flatMap(\.months).filter(\.eligible).count
        let purchases = customers.map(\.purchases.count).reduce(0, +)
        let rate = Double(purchases) / Double(eligible)
        #expect(rate > 0.015 && rate < 0.08, "\(rate) purchases per eligible customer-month")
        #expect(customers.flatMap(\.purchases).contains { $0.month == world.configuration.heldOutMonth })
    }

    @Test func behaviourDriftsFromMonthToMonth() {
        var changes = 0
        var pairs = 0
        for customer in customers {
            for (before, after) in zip(customer.months, customer.months.dropFirst()) where before.state.mostViewedFamily != nil {
                pairs += 1
                if after.state.mostViewedFamily != before.state.mostViewedFamily { changes += 1 }
            }
        }
        let share = Double(changes) / Double(pairs)
        #expect(share > 0.1 && share < 0.7, "\(share) of month pairs change the most-viewed family")
    }

    @Test func productProbabilitiesAddUpToTheFamilyPropensity() {
        for customer in customers.prefix(300) {
            for month in [0, 5, world.configuration.heldOutMonth] {
                let probabilities = world.trueProbabilities(of: customer, month: month)
                for family in WorldFamily.allCases {
                    let sum = world.products.indices.filter { world.products[$0].family == family }.reduce(0.0) { $0 + probabilities[$1] }
                    let propensity = customer.familyPropensity(family, month: month)
                    #expect(abs(sum - propensity) <= 1e-9 * max(1, propensity), "\(customer.id) \(family) m\(month): \(sum) vs \(propensity)")
                }
                for (index, probability) in probabilities.enumerated() where probability > 0 {
                    #expect(WorldSuitability.matches(customer, world.products[index]) && world.products[index].isPurchasable(inMonth: month))
                }
            }
        }
    }

    @Test func theConvenienceLookupsAgree() {
        let customer = customers[123]
        let month = world.configuration.heldOutMonth
        for product in world.products.prefix(40) {
            #expect(world.trueProbability(customer: 123, product: product.code, month: month) == world.trueProbability(of: customer, product: product, month: month))
        }
        #expect(world.familyPropensity(customer: 123, family: .moneyMarketFund, month: month) == customer.familyPropensity(.moneyMarketFund, month: month))
        #expect(world.trueProbability(customer: 123, product: "NO-SUCH", month: month) == 0)
    }

    /// Realized purchases agree with the law: overall, in the held-out month, and per family, the
    /// count lies within four standard deviations of the expected count (a fixed seed: no flakiness).
    @Test func realizedPurchasesAgreeWithTheProbabilities() {
        func check(_ label: String, _ include: (Int, WorldFamily) -> Bool) {
            var expected = 0.0
            var variance = 0.0
            var realized = 0
            for customer in customers {
                for (index, month) in customer.months.enumerated() {
                    for family in WorldFamily.allCases where include(index, family) {
                        let p = month.propensity[family.rawValue]
                        expected += p
                        variance += p * (1 - p)
                    }
                }
                realized += customer.purchases.filter { include($0.month, $0.family) }.count
            }
            #expect(abs(Double(realized) - expected) <= 4 * variance.squareRoot() + 1, "\(label): \(realized) realized, \(expected) expected")
        }
        check("all") { _, _ in true }
        check("held-out month") { month, _ in month == world.configuration.heldOutMonth }
        for family in WorldFamily.allCases { check("\(family)") { _, candidate in candidate == family } }
        // Per product: the expected count over customer-months is Σ trueProbability.
        var expectedByProduct = [Double](repeating: 0, count: world.products.count)
        var realizedByProduct = [Int](repeating: 0, count: world.products.count)
        let month = world.configuration.heldOutMonth - 1
        for customer in customers {
            for (index, p) in world.trueProbabilities(of: customer, month: month).enumerated() { expectedByProduct[index] += p }
            for purchase in customer.purchases where purchase.month == month { realizedByProduct[purchase.productIndex] += 1 }
        }
        let expectedTotal: Double = expectedByProduct.reduce(0, +)
        let realizedTotal = Double(realizedByProduct.reduce(0, +))
        #expect(abs(realizedTotal - expectedTotal) <= 4 * expectedTotal.squareRoot() + 1)
        // Products never expected are never bought.
        for index in world.products.indices where expectedByProduct[index] == 0 { #expect(realizedByProduct[index] == 0) }
    }
}
