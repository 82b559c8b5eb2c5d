import GRDB
import Testing
@testable import MatchingService

/// A store made before the behaviour table gets its earlier subscriptions back from `purchase` when
/// it is upgraded, as the feed would have written them; rows the feed wrote since are left alone.
@Suite struct BehaviourMigrationTests {
    @Test func anUpgradedStoreGetsItsEarlierSubscriptionsAsBehaviour() throws {
        let database = try DatabaseQueue()
        let migrator = MatchingSchema.migrator
        try migrator.migrate(database, upTo: "v2-copy-model-campaign-results")
        try database.write { db in
            try Self.purchase(db, order: "A1", customer: "C1", product: "F001", amount: 500_000, at: 1_700_000_000_000)
            try Self.purchase(db, order: "A2", customer: "C2", product: "B002", amount: 120_000, at: 1_700_100_000_000)
        }
        try migrator.migrate(database, upTo: "v3-behaviour")
        try database.write { db in
            // An order the feed brought after the behaviour table existed, with its family known.
            try Self.purchase(db, order: "A3", customer: "C1", product: "B002", amount: 80_000, at: 1_700_200_000_000)
            try BehaviourStore.insert(db, key: "oA3", customerID: "C1", productCode: "B002",
                                      event: BehaviourEvent(at: 1_700_200_000_000, kind: .subscription, family: 2, amountFen: 80_000))
        }
        try migrator.migrate(database)

        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT key, customer_id, at, kind, product_code, family, amount_minor FROM behaviour ORDER BY key")
        }
        #expect(rows.map { $0["key"] as String } == ["oA1", "oA2", "oA3"])
        let first = try #require(rows.first)
        #expect(first["customer_id"] as String == "C1")
        #expect(first["at"] as Int64 == 1_700_000_000_000)
        #expect(first["kind"] as Int == Int(BehaviourEvent.Kind.subscription.rawValue))
        #expect(first["product_code"] as String == "F001")
        #expect(first["family"] as Int == -1)
        #expect(first["amount_minor"] as Int64 == 500_000)
        // The feed's own row keeps the family it knew.
        #expect(try #require(rows.last)["family"] as Int == 2)
        // Read back as the features read it, the family comes from the catalogue.
        let events = try database.read { db in
            try BehaviourStore.byCustomer(db, reaching: 1_700_300_000_000) { code in code == "F001" ? 1 : nil }
        }
        #expect(events["C1"]?.map(\.family) == [1, 2])
        #expect(events["C2"]?.map(\.amountFen) == [120_000])
    }

    @Test func aNewStoreHasNoBehaviourToBackfill() throws {
        let database = try DatabaseQueue()
        try MatchingSchema.migrator.migrate(database)
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM behaviour") } == 0)
    }

    private static func purchase(_ db: Database, order: String, customer: String, product: String, amount: Int64, at: Int64) throws {
        try db.execute(sql: """
            INSERT INTO purchase (order_id, customer_id, product_code, amount_minor, accepted_at, month) VALUES (?, ?, ?, ?, ?, '2023-11')
            """, arguments: [order, customer, product, amount, at])
    }
}
