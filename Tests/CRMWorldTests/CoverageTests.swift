import CRMProtos
import CRMWorld
import Testing

/// The world has the variety of a real brokerage: every status, kind, product type and risk level,
/// long-tailed wealth and activity, unique keys.
@Suite struct CoverageTests {
    let world = WorldFixture.world
    let customers = WorldFixture.customers

    @Test func everyAccountStatusAndBothKindsOccur() {
        var statuses: [Crm_Profiles_V1_AccountStatus: Int] = [:]
        for customer in customers { statuses[customer.record.status, default: 0] += 1 }
        for status in [Crm_Profiles_V1_AccountStatus.prospect, .normal, .frozen, .reportedLost, .closed] {
            #expect((statuses[status] ?? 0) > 0, "no \(status) customer")
        }
        #expect(Double(statuses[.normal] ?? 0) / Double(customers.count) > 0.75, "mostly normal accounts")
        #expect(customers.contains { $0.record.kind == .institution })
        #expect(customers.contains { $0.record.kind == .individual })
        #expect(customers.contains { $0.creation.customer.status == .prospect && $0.record.status == .normal }, "a prospect who opened")
        #expect(customers.contains { $0.statusChanges.count >= 2 }, "a freeze or loss that was lifted")
    }

    @Test func everyProductTypeRiskLevelAndStatusOccurs() {
        for family in WorldFamily.allCases {
            #expect(world.products.contains { $0.record.type == family.productType && $0.isPurchasable(inMonth: 0) }, "\(family)")
        }
        for risk in [Crm_Common_V1_RiskLevel.r1, .r2, .r3, .r4, .r5] {
            #expect(world.products.contains { $0.record.riskLevel == risk }, "\(risk)")
        }
        for status in [Crm_Products_V1_ProductStatus.draft, .preSale, .onSale, .suspended, .closed] {
            #expect(world.products.contains { $0.record.status == status }, "\(status)")
        }
        let onSale = world.products.filter { $0.record.status == .onSale }.count
        #expect(Double(onSale) / Double(world.products.count) > 0.7)
        #expect(world.products.contains { !$0.record.targetRule.isEmpty })
        #expect(world.products.contains { ($0.firstPurchaseMonth ?? 0) > 0 }, "some products launch during the year")
        // Popularity is long-tailed: the top tenth of products carry far more than a tenth of it.
        let weights = world.products.map(\.popularity).sorted(by: >)
        let top = weights.prefix(weights.count / 10).reduce(0, +)
        #expect(top / weights.reduce(0, +) > 0.3)
    }

    @Test func smallWorldsKeepEveryTypeAndStatus() {
        let small = World(WorldConfiguration(customers: 100, seed: 5))
        #expect(small.products.count == 60)
        #expect(Set(small.products.map(\.record.type)).count == 10)
        #expect(Set(small.products.map(\.record.status)).count == 5)
        #expect(small.organisation.branches.count == 3)
    }

    @Test func suitabilityProfilesVary() {
        let profiles = customers.compactMap(\.profile)
        #expect(Set(profiles.map(\.riskTolerance)) == [1, 2, 3, 4, 5])
        #expect(profiles.contains { $0.lowestCategory })
        #expect(profiles.contains { $0.investorClass == .professional })
        #expect(customers.contains { $0.profile == nil && $0.record.status != .prospect }, "someone never assessed")
        let expired = customers.filter { customer in
            guard let last = customer.assessments.last else { return false }
            return WorldFixture.day(last.assessment.expiresOn) <= world.configuration.today
        }
        #expect(!expired.isEmpty, "someone whose assessment has expired")
    }

    @Test func wealthIsLongTailed() {
        let assets = WorldFixture.finalAssets.sorted(by: >)
        let total = assets.reduce(0, +)
        let top = assets.prefix(assets.count / 100).reduce(0, +)
        #expect(Double(top) / Double(total) > 0.2, "the top 1% hold \(Double(top) / Double(total))")
        let median = assets[assets.count / 2]
        #expect(median > 100_000 && median < 50_000_000, "median \(median) fen")
    }

    @Test func activityIsLongTailedAndAboutTwentyTradesAYear() {
        let yearStart = WorldDays.millis(world.calendar.month(purchaseMonth: 0).firstDay, secondOfDay: 0)
        let trades = customers.map { $0.events.trades.filter { $0.tradedAt.unixMillis >= yearStart }.count }
        let mean = Double(trades.reduce(0, +)) / Double(customers.count)
        #expect(mean > 14 && mean < 28, "\(mean) trades per customer in the year")
        #expect(Double(trades.filter { $0 == 0 }.count) / Double(customers.count) > 0.25, "many dormant customers")
        #expect(trades.max() ?? 0 > 150, "some very active customers")
        let margin = customers.filter { !$0.events.marginAccounts.isEmpty }.count
        #expect(Double(margin) / Double(customers.count) > 0.02 && Double(margin) / Double(customers.count) < 0.1)
        #expect(customers.contains { !$0.events.marginInterest.isEmpty })
        // Positions stay bounded: month-ends plus a few change days.
        let active = customers.filter { !$0.events.trades.isEmpty }
        let positions = Double(active.map(\.events.dailyPositions.count).reduce(0, +)) / Double(active.count)
        #expect(positions > 15 && positions < 40, "\(positions) positions per active customer over the span")
        #expect(customers.allSatisfy { $0.events.dailyPositions.count <= 16 * 4 })
    }

    @Test func commissionIsAQuarterBasisPointWithAFiveYuanMinimum() {
        for customer in customers.prefix(400) {
            for trade in customer.events.trades where trade.instrumentType == .stock {
                let expected = max(500, Int64((Double(trade.amount.minorUnits) * 0.000_25).rounded()))
                #expect(trade.commission.minorUnits == expected)
            }
        }
    }

    @Test func idempotencyKeysAreUnique() {
        var keys = Set<String>()
        var count = 0
        for customer in customers {
            let events = customer.events
            let all = events.trades.map(\.idempotencyKey) + events.fundTransfers.map(\.idempotencyKey)
                + events.dailyPositions.map(\.idempotencyKey) + events.marginAccounts.map(\.idempotencyKey)
                + events.marginInterest.map(\.idempotencyKey) + events.serviceContacts.map(\.idempotencyKey)
                + events.productViews.map(\.idempotencyKey)
            count += all.count
            keys.formUnion(all)
        }
        #expect(keys.count == count)
        #expect(count > 100_000)
    }
}
