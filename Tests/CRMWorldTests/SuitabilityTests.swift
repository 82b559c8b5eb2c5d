import CRMProtos
import CRMWorld
import Testing

/// The suitability predicate, and that every purchase obeys it.
@Suite struct SuitabilityTests {
    static func product(_ risk: Crm_Common_V1_RiskLevel, _ horizon: Crm_Products_V1_InvestmentHorizon,
                        _ variety: Crm_Products_V1_InvestmentVariety) -> Crm_Products_V1_Product {
        .with {
            $0.riskLevel = risk
            $0.horizon = horizon
            $0.variety = variety
        }
    }

    @Test func ordinaryInvestorsBuyUpToTheirToleranceHorizonAndVarieties() {
        let c3 = SuitabilityProfile(investorClass: .ordinary, riskTolerance: 3, lowestCategory: false, horizon: 2, varieties: [1, 4])
        #expect(WorldSuitability.matches(c3, Self.product(.r3, .oneTo3Years, .funds)))
        #expect(WorldSuitability.matches(c3, Self.product(.r1, .upTo1Year, .depositsAndMoneyMarket)))
        #expect(!WorldSuitability.matches(c3, Self.product(.r4, .oneTo3Years, .funds)), "risk above tolerance")
        #expect(!WorldSuitability.matches(c3, Self.product(.r2, .threeTo5Years, .funds)), "horizon longer than intended")
        #expect(!WorldSuitability.matches(c3, Self.product(.r2, .oneTo3Years, .bonds)), "variety not chosen")
    }

    @Test func theLowestCategoryBuysR1Only() {
        let lowest = SuitabilityProfile(investorClass: .ordinary, riskTolerance: 1, lowestCategory: true, horizon: 4, varieties: Array(1...8))
        #expect(WorldSuitability.matches(lowest, Self.product(.r1, .upTo1Year, .depositsAndMoneyMarket)))
        #expect(!WorldSuitability.matches(lowest, Self.product(.r2, .upTo1Year, .bonds)))
    }

    @Test func professionalsBuyAnything() {
        let professional = SuitabilityProfile(investorClass: .professional, riskTolerance: 1, lowestCategory: false, horizon: 1, varieties: [1])
        #expect(WorldSuitability.matches(professional, Self.product(.r5, .over5Years, .structured)))
    }

    @Test func everyPurchaseMatchesAndHappensWhileTheCustomerMayBuy() {
        let world = WorldFixture.world
        for customer in WorldFixture.customers {
            for purchase in customer.purchases {
                let product = world.products[purchase.productIndex]
                #expect(WorldSuitability.matches(customer, product), "\(purchase.order.orderID) does not match \(customer.id)")
                #expect(customer.months[purchase.month].eligible)
                #expect(product.isPurchasable(inMonth: purchase.month))
                let month = world.calendar.month(purchaseMonth: purchase.month)
                // A normal account all month, opened before it, and an assessment in force all month.
                #expect(customer.record.hasOpenDate && WorldFixture.day(customer.record.openDate) < month.firstDay)
                #expect(customer.assessments.contains { request in
                    WorldFixture.day(request.assessment.assessedOn) <= month.firstDay
                        && WorldFixture.day(request.assessment.expiresOn) > month.lastDay
                })
            }
            if customer.profile == nil || customer.record.status == .prospect { #expect(customer.purchases.isEmpty) }
        }
    }
}
