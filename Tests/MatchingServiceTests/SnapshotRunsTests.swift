import CRMProtos
import CRMWorld
import Foundation
import GRDB
import Testing
@testable import MatchingService

/// Month-end snapshot rows are stored in runs (a partition fetched alone is a run) so storing them
/// appends, and read back in customer order by merging the runs; a month's behaviour events are
/// read by kind and time from one covering index. What could break: the merge's order (byte
/// order, as SQLite and the plan's customer list compare), the rows an upgraded store keeps, and
/// the reads' plans falling back to scanning or sorting the tables.
@Suite struct SnapshotRunsTests {
    @Test func mergingRunsGivesEveryElementInByteOrderOfItsKey() throws {
        var generator = WorldRandom(seed: 20_261_206)
        // Keys whose byte order differs from `String`'s comparison: "é" and "e" + U+0301 are
        // equal as Swift strings, not as bytes.
        let alphabet = ["a", "b", "z", "é", "e\u{301}", "C", "0", "中"]
        for trial in 0..<200 {
            let runCount = Int.random(in: 0...9, using: &generator)
            var runs: [[String]] = []
            for _ in 0..<runCount {
                let size = Int.random(in: 0...12, using: &generator)
                let keys = (0..<size).map { _ in (0..<Int.random(in: 1...3, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "a" }.joined() }
                runs.append(keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            }
            let tagged = runs.enumerated().map { run, keys in keys.map { (key: $0, run: run) } }
            let merge = RunMerge<(key: String, run: Int)>(tagged.map { AnyCursor($0) }, key: \.key)
            let merged = try Array(merge)
            let expected = tagged.joined().sorted { a, b in
                if a.key.utf8.lexicographicallyPrecedes(b.key.utf8) { return true }
                if b.key.utf8.lexicographicallyPrecedes(a.key.utf8) { return false }
                return a.run < b.run
            }
            #expect(merged.map(\.key) == expected.map(\.key) && merged.map(\.run) == expected.map(\.run), "trial \(trial): \(runs)")
            #expect(try merge.next() == nil, "a merge that ended stays ended")
        }
    }

    @Test func anUpgradedStoreKeepsItsMonthEndsAsOneRunReadInCustomerOrder() throws {
        let database = try DatabaseQueue()
        let migrator = MatchingSchema.migrator
        try migrator.migrate(database, upTo: "v6-replica-layout")
        let ids = ["C10", "C2", "C1", "é1", "e\u{301}2", "Z9"]
        try database.write { db in
            for (index, id) in ids.enumerated() {
                for day in [20_000, 20_031] {
                    try db.execute(sql: "INSERT INTO snapshot (as_of, customer_id, dimensions) VALUES (?, ?, ?)",
                                   arguments: [day, id, Data([UInt8(index), UInt8(day % 256)])])
                }
            }
            try db.execute(sql: """
                INSERT INTO behaviour (key, customer_id, at, kind, product_code, family, amount_minor) VALUES ('oA1', 'C1', 5, 3, 'F001', 1, 100)
                """)
        }
        try migrator.migrate(database)
        try database.read { (db: Database) throws in
            let byBytes = ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for day: Int32 in [20_000, 20_031] {
                #expect(try SnapshotStore.customerIDs(db, asOf: day) == byBytes)
                let rows = try Row.fetchAll(db, sql: "SELECT run, customer_id, dimensions FROM snapshot WHERE as_of = ?", arguments: [day])
                #expect(rows.count == ids.count && rows.allSatisfy { $0["run"] as Int == 0 })
                for row in rows {
                    let index = try #require(ids.firstIndex(of: row["customer_id"] as String))
                    #expect(row["dimensions"] as Data == Data([UInt8(index), UInt8(day % 256)]))
                }
            }
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM behaviour") == 1)
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'behaviour'")
            #expect(indexes.contains("behaviour_by_kind_time") && !indexes.contains("behaviour_by_time"))
        }
    }

    @Test func aDayStoredInRunsIsReadInCustomerOrder() throws {
        let database = try DatabaseQueue()
        try MatchingSchema.migrator.migrate(database)
        // Three runs interleaved over the id range, as partitions' customers are, and a day of
        // run 0 beside them.
        let ids = (0..<90).map { "C\(1_000 + $0 * 7 % 90)" }
        try database.write { db in
            for (index, id) in ids.enumerated() {
                try db.execute(sql: "INSERT INTO snapshot (as_of, run, customer_id, dimensions) VALUES (20000, ?, ?, ?)",
                               arguments: [index % 3 + 1, id, SnapshotRow(Crm_Profiles_V1_CustomerDimensions.with { $0.customerID = id }).encoded()])
            }
            try db.execute(sql: "INSERT INTO snapshot (as_of, run, customer_id, dimensions) VALUES (19999, 0, 'C0', x'00')")
        }
        try database.read { (db: Database) throws in
            let sorted = ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            #expect(try SnapshotStore.customerIDs(db, asOf: 20_000) == sorted)
            #expect(try SnapshotStore.customerIDs(db, asOf: 19_999) == ["C0"])
            #expect(try SnapshotStore.customerIDs(db, asOf: 20_001).isEmpty)
            #expect(try Array(SnapshotStore.cursor(db, asOf: 20_000)).map(\.customerID) == sorted)
        }
    }

    @Test func aMonthsReadsUseRangesOfTheirIndexesWithoutScanningOrSortingTheTables() throws {
        let database = try DatabaseQueue()
        try MatchingSchema.migrator.migrate(database)
        try database.read { (db: Database) throws in
            let behaviour = try Self.plan(db, BehaviourStore.CustomerOrder.sql, BehaviourStore.CustomerOrder.arguments(reaching: 1_790_812_800_000, until: 1_790_812_800_000))
            let searches = behaviour.filter { $0.contains("behaviour") }
            #expect(searches.count == 3 && searches.allSatisfy { $0.contains("SEARCH behaviour USING COVERING INDEX behaviour_by_kind_time") }, "\(behaviour)")
            let run = try Self.plan(db, SnapshotStore.runSQL("customer_id, dimensions"), [20_000, 1])
            #expect(run.contains { $0.contains("SEARCH snapshot USING PRIMARY KEY (as_of=? AND run=?)") }, "\(run)")
            #expect(!run.contains { $0.contains("TEMP B-TREE") || $0.contains("SCAN") }, "\(run)")
        }
    }

    private static func plan(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> [String] {
        try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
    }
}

