import CRMProtos
import CRMRPC
import CRMServiceHost
import Foundation
import GRDB
import Testing
@testable import MatchingService

/// The rows the model trains and is evaluated on, built from the real services: nothing known
/// after the month's start reaches them, only families the customer could buy then get a row, and
/// live scoring builds the same row as training at the same instant.
@Suite(.serialized) struct BehaviourRowsTests {
    /// The month the rows are built for: last month (its start and its first days are in the past).
    static let month = BusinessMonth(day: BusinessDays.today()).previous
    static var start: Int64 { BusinessDays.millis(ofDay: month.firstDay) }

    /// Millis of `days` after the month's start (negative: before it) at `hour` Beijing time.
    static func at(_ days: Int32, hour: Int64 = 10) -> Int64 {
        BusinessDays.millis(ofDay: month.firstDay + days) + hour * 3_600_000
    }

    /// Two customers — C4 (may buy R1…R4) and C1 (R1 only) — and products of three families:
    /// a bond fund R2, an equity fund R4 and a money-market fund R1.
    static func setUp() async throws -> MatchingHarness {
        let harness = try await MatchingHarness.start()
        try await harness.customer("B-C4", tolerance: .c4, assessedDaysAgo: 300)
        try await harness.customer("B-C1", tolerance: .c1, assessedDaysAgo: 300)
        try await harness.product("BF01", risk: .r2, type: .fundBond)
        try await harness.product("EQ01", risk: .r4, type: .fundEquity)
        try await harness.product("MM01", risk: .r1, type: .fundMoneyMarket)
        return harness
    }

    func views(_ harness: MatchingHarness, _ customer: String, _ product: String, _ type: String, at times: [Int64], tag: String) async throws {
        _ = try await harness.profiles.client(token: "ingest").unary(Crm_Profiles_V1_Profiles.ingestProductViews, Crm_Profiles_V1_IngestProductViewsRequest.with {
            $0.events = times.enumerated().map { index, time in
                .with {
                    $0.idempotencyKey = "\(customer)-\(tag)-V\(index)"
                    $0.customerID = customer
                    $0.productCode = product
                    $0.productType = type
                    $0.viewedAt = .with { $0.unixMillis = time }
                }
            }
        })
    }

    func contact(_ harness: MatchingHarness, _ customer: String, about product: String, at time: Int64, tag: String) async throws {
        _ = try await harness.profiles.client(token: "ingest").unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, Crm_Profiles_V1_IngestServiceContactsRequest.with {
            $0.events = [.with {
                $0.idempotencyKey = "\(customer)-\(tag)-S"
                $0.customerID = customer
                $0.channel = .call
                $0.staffID = "M1"
                $0.topic = "产品推荐"
                $0.outcome = .interested
                $0.contactedAt = .with { $0.unixMillis = time }
                $0.productCode = product
            }]
        })
    }

    func order(_ harness: MatchingHarness, _ id: String, _ customer: String, _ product: String, side: Crm_Products_V1_OrderSide = .subscription,
               fen: Int64, at time: Int64) async throws {
        _ = try await harness.products.client(token: "office").unary(Crm_Products_V1_Products.importOrders, Crm_Products_V1_ImportOrdersRequest.with {
            $0.orders = [.with {
                $0.orderID = id
                $0.customerID = customer
                $0.productCode = product
                $0.side = side
                $0.amount = .with { $0.minorUnits = fen }
                $0.channel = .app
                $0.acceptedAt = .with { $0.unixMillis = time }
                if side == .subscription {
                    $0.suitability = .match
                    $0.suitabilityRuleVersion = "test"
                }
            }]
        })
    }

    /// A choice model that reads every (customer, product) feature, recent sales included.
    static let choice = ProductChoice(weights: ["BF01": 2, "EQ01": 1], choice: .with {
        $0.features = ProductChoiceFeatures.names
        $0.coefficients = [0.4, 0.2, -0.1, -0.3, -0.1, 0.05, 0.5]
    })

    /// A model that scores 0 (what it scores does not matter here, only that it is installed).
    struct ConstantModel: ScoringModel {
        func logit(_ row: [Float]) -> Double { 0 }
        func contributions(_ row: [Float]) -> [Double] { row.map { _ in 0 } }
    }

    /// The month's rows as (customer, family) → features, every sellable cell kept.
    static func rows(_ harness: MatchingHarness, space: FeatureSpace) async throws -> [String: [Float]] {
        let replica = harness.replicas[0].service.replica
        let asOf = month.previous.lastDay
        _ = try await SnapshotStore.fetch(asOf: asOf, from: harness.profiles.client(token: "service"), into: replica.database)
        let plan = try await MonthRows.plan(month, replica: replica, choice: choice)
        var rows: [String: [Float]] = [:]
        try MonthRows.stream(plan, database: replica.database) { inputs in
            inputs.forEachRow(space: space, positives: [], keep: 1, seed: 1) { position, family, _, weight, features in
                #expect(weight == 1)
                rows["\(inputs.rows[position].customerID)/\(ProductFamilies.familyNames[family])"] = features
            }
        }
        return rows
    }

    static let space = FeatureSpace(knownDimensions: Set(SnapshotRow.names))

    static func value(_ row: [Float]?, _ name: String) -> Float? {
        guard let row, let index = space.names.firstIndex(of: name) else { return nil }
        return row[index]
    }

    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    /// A month's rows read only what was known at its start: the customer's views, contacts, orders
    /// and positions after it — which would change every feature — change none.
    @Test func aMonthsRowsReadNothingFromTheMonthItselfOrLater() async throws {
        let harness = try await Self.setUp()
        // Before the month: bond-fund views 2 and 5 days before, one 40 days before; a call about
        // the bond fund 3 days before; a bond-fund subscription and a redemption; a position
        // holding the bond fund.
        try await views(harness, "B-C4", "BF01", "FUND_BOND", at: [Self.at(-2), Self.at(-5), Self.at(-40)], tag: "before")
        try await contact(harness, "B-C4", about: "BF01", at: Self.at(-3), tag: "before")
        try await order(harness, "B-O1", "B-C4", "BF01", fen: 5_000_000, at: Self.at(-20))
        try await order(harness, "B-R1", "B-C4", "BF01", side: .redemption, fen: 1_000_000, at: Self.at(-10))
        _ = try await harness.profiles.client(token: "ingest").unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, Crm_Profiles_V1_IngestDailyPositionsRequest.with {
            $0.events = [.with {
                $0.idempotencyKey = "B-C4-P-before"
                $0.customerID = "B-C4"
                $0.tradingDay = BusinessDays.date(Self.month.firstDay - 2)
                $0.cash = .with { $0.minorUnits = 10_000_000 }
                $0.products = [.with { $0.productCode = "BF01"; $0.productType = "FUND_BOND"; $0.marketValue = .with { $0.minorUnits = 4_000_000 } }]
            }]
        })
        try await harness.waitUntilCaughtUp()
        let before = try await Self.rows(harness, space: Self.space)

        let bond = before["B-C4/bond_fund"]
        #expect(Self.value(bond, "family_views_7d") == 2)
        #expect(Self.value(bond, "family_views_90d") == 3)
        #expect(Self.value(bond, "days_since_family_view") == 2)
        #expect(Self.value(bond, "family_orders") == 1)
        #expect(Self.value(bond, "family_order_amount") == 50_000)
        #expect(Self.value(bond, "days_since_family_order") == 20)
        #expect(Self.value(bond, "family_redemptions") == 1)
        #expect(Self.value(bond, "family_contacts_7d") == 1)
        #expect(Self.value(bond, "contacts_7d") == 1)
        #expect(Self.value(bond, "family_value_held") == 4_000_000)
        #expect(Self.value(before["B-C4/equity_fund"], "family_contacts_7d") == 0)
        #expect(Self.value(before["B-C4/equity_fund"], "contacts_7d") == 1)

        // At the month's start and after: every kind again, of every family, and a new position.
        let after = [Self.at(0, hour: 0), Self.at(0, hour: 9), Self.at(1), Self.at(3)]
        for (product, type) in [("BF01", "FUND_BOND"), ("EQ01", "FUND_EQUITY"), ("MM01", "FUND_MONEY_MARKET")] {
            try await views(harness, "B-C4", product, type, at: after, tag: "after-\(product)")
            try await views(harness, "B-C1", product, type, at: after, tag: "after-\(product)")
            try await contact(harness, "B-C4", about: product, at: Self.at(0, hour: 0), tag: "after-\(product)")
            try await order(harness, "B-A-\(product)", "B-C4", product, fen: 7_000_000, at: Self.at(0, hour: 0))
            try await order(harness, "B-B-\(product)", "B-C4", product, side: .redemption, fen: 7_000_000, at: Self.at(2))
        }
        _ = try await harness.profiles.client(token: "ingest").unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, Crm_Profiles_V1_IngestDailyPositionsRequest.with {
            $0.events = [.with {
                $0.idempotencyKey = "B-C4-P-after"
                $0.customerID = "B-C4"
                $0.tradingDay = BusinessDays.date(Self.month.firstDay)
                $0.cash = .with { $0.minorUnits = 1 }
                $0.products = [.with { $0.productCode = "EQ01"; $0.productType = "FUND_EQUITY"; $0.marketValue = .with { $0.minorUnits = 9_000_000 } }]
            }]
        })
        try await harness.waitUntilCaughtUp()
        // The live copy did take them in (so the rows below had them within reach).
        let live = harness.replicas[0].service.replica.memory.withLock { memory in
            memory.behaviour.features(row: memory.customers.row(of: "B-C4") ?? -1, at: BusinessDays.currentMillis())
        }
        #expect(BehaviourFeatures.family(live, 3)[BehaviourFeatures.Slot.orders.rawValue] == 1, "the equity fund order is in the copy")

        let again = try await Self.rows(harness, space: Self.space)
        #expect(Set(again.keys) == Set(before.keys))
        for (key, row) in before {
            #expect(Self.same(row, again[key] ?? []), "\(key) changed after events from the month itself or later")
        }
        try await harness.stop()
    }

    /// Rows exist only for the families with a product on sale that MATCHed the customer on the
    /// month's first day: the C1 customer gets a money-market row and nothing else.
    @Test func rowsAreOnlyForFamiliesTheCustomerCouldBuyAtTheMonthsStart() async throws {
        let harness = try await Self.setUp()
        try await harness.waitUntilCaughtUp()
        let rows = try await Self.rows(harness, space: Self.space)
        #expect(Set(rows.keys) == ["B-C4/bond_fund", "B-C4/equity_fund", "B-C4/money_market_fund", "B-C1/money_market_fund"])
        try await harness.stop()
    }

    /// Scoring now builds the same feature row as training would for a month starting now: the
    /// dimensions profiles computes for its business day and the behaviour before this instant.
    ///
    /// Profiles' business day is the newest event day it has seen (docs/partitioning.md §2), not
    /// the clock's: just after Beijing midnight, before the new day's first event, the live
    /// dimensions are still yesterday's. Training's builder is therefore asked for the day the
    /// live dimensions are on, read back from profiles, so the test holds at any hour.
    @Test func liveScoringBuildsTheTrainingRowOfTheSameInstant() async throws {
        let harness = try await Self.setUp()
        let now = BusinessDays.currentMillis()
        let today = BusinessDays.day(ofMillis: now)
        let newest = now - 3_600_000
        try await views(harness, "B-C4", "BF01", "FUND_BOND", at: [newest, now - 3 * 86_400_000, now - 45 * 86_400_000], tag: "live")
        try await contact(harness, "B-C4", about: "EQ01", at: now - 2 * 86_400_000, tag: "live")
        try await order(harness, "L-O1", "B-C4", "MM01", fen: 2_000_000, at: now - 9 * 86_400_000)
        try await harness.waitUntilCaughtUp()
        let replica = harness.replicas[0].service.replica
        let space = Self.space

        // The business day of the live dimensions: the newest event's day.
        let view = try await harness.profiles.client(token: "service").unary(
            Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = "B-C4" })
        let businessDay = BusinessDays.day(view.view.dimensions.asOf)
        #expect(businessDay == BusinessDays.day(ofMillis: newest), "the live dimensions are computed for the newest event's day")

        // Training's builder at this instant: profiles' dimensions as of that day, the stored events.
        let dimensions = try await harness.profiles.client(token: "service").serverStreaming(
            Crm_Profiles_V1_Profiles.streamDimensionsAsOf,
            Crm_Profiles_V1_StreamDimensionsAsOfRequest.with { $0.asOf = view.view.dimensions.asOf }).collect()
        let snapshot = try #require(dimensions.first { $0.customerID == "B-C4" }.map(SnapshotRow.init))
        let catalogue = replica.memory.withLock { memory in memory.catalog.mapValues(\.family) }
        let stored = try await replica.database.read { db in try BehaviourStore.byCustomer(db, reaching: now, until: now) { catalogue[$0] ?? nil } }
        let behaviour = BehaviourFeatures.compute(stored["B-C4"] ?? [], at: now)

        // A model with a choice model, so the appeal of what the customer may buy is a feature too.
        replica.memory.withLock { $0.install(Scorer(version: "test", space: space, model: ConstantModel(), choice: Self.choice)) }
        let (profiles, counts) = replica.memory.withLock { $0.availableProducts(customerIDs: ["B-C4"], day: today, choice: Self.choice) }
        let available = try #require(profiles[0].flatMap { counts[$0] })
        #expect(available.counts == [1, 1, 0, 1, 0, 0, 0, 0, 0, 0], "a money-market, a bond and an equity fund suit a C4 customer")
        #expect(available.choiceValues[1].isFinite && available.choiceValues[2].isNaN)

        for family in 0..<ProductFamilies.count {
            let training = snapshot.features(family: family, space: space, behaviour: behaviour, available: available)
            let live = replica.memory.withLock { memory in
                let row = memory.customers.row(of: "B-C4") ?? -1
                return memory.features(row: row, family: family, space: space, behaviour: memory.behaviour.features(row: row, at: now),
                                       available: memory.available(profile: memory.keyOfRow[Int(row)], today: today))
            }
            let differing = space.names.indices.filter { !Self.same([training[$0]], [live[$0]]) }.map { space.names[$0] }
            #expect(Self.same(training, live), "family \(family): \(differing) differ")
        }
        #expect(BehaviourFeatures.family(behaviour, 1)[BehaviourFeatures.Slot.views7.rawValue] == 2)
        #expect(BehaviourFeatures.family(behaviour, 3)[BehaviourFeatures.Slot.familyContacts7.rawValue] == 1)
        #expect(BehaviourFeatures.family(behaviour, 0)[BehaviourFeatures.Slot.daysSinceOrder.rawValue] == 9)
        try await harness.stop()
    }
}
