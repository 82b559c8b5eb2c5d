import CRMPartitions
import Testing

@Suite struct PartitionFunctionTests {
    /// Ids → partitions for P = 64, 16, 8 and 100, computed once by an independent implementation
    /// (Python, from the FNV-1a definition). A customer's partition decides which file holds it, so
    /// this table must never change: a failure here means stored firms would be misread.
    static let frozenTable: [(id: String, p64: Int, p16: Int, p8: Int, p100: Int)] = [
        ("C000001", 21, 5, 5, 17),
        ("C000002", 60, 12, 4, 84),
        ("C000003", 47, 15, 7, 95),
        ("C000100", 45, 13, 5, 21),
        ("C001999", 54, 6, 6, 46),
        ("C999999", 20, 4, 4, 80),
        ("C0000001", 9, 9, 1, 57),
        ("C1234567", 62, 14, 6, 38),
        ("P000042", 57, 9, 1, 41),
        ("B01-000123", 9, 9, 1, 33),
        ("王芳", 56, 8, 0, 60),
        ("customer-7", 49, 1, 1, 97),
        ("x", 7, 7, 7, 71),
    ]

    @Test func theFrozenTableHolds() throws {
        let p64 = try Partitioning(count: 64), p16 = try Partitioning(count: 16)
        let p8 = try Partitioning(count: 8), p100 = try Partitioning(count: 100)
        for row in Self.frozenTable {
            #expect(p64.partition(of: row.id) == row.p64, "\(row.id) at P=64")
            #expect(p16.partition(of: row.id) == row.p16, "\(row.id) at P=16")
            #expect(p8.partition(of: row.id) == row.p8, "\(row.id) at P=8")
            #expect(p100.partition(of: row.id) == row.p100, "\(row.id) at P=100")
        }
    }

    /// The published FNV-1a 64 test vectors, so a client in another language can check itself.
    @Test func fnv1aMatchesItsDefinition() {
        #expect(Partitioning.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(Partitioning.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(Partitioning.fnv1a64("foobar") == 0x8594_4171_f739_67e8)
    }

    @Test func oneProcessIsOnePartition() throws {
        let one = try Partitioning(count: 1)
        #expect(["C0000001", "", "王芳"].map(one.partition(of:)) == [0, 0, 0])
    }

    @Test(arguments: [0, -1, 4_097])
    func refusesACountOutOfRange(_ count: Int) {
        #expect(throws: PartitioningError.self) { try Partitioning(count: count) }
    }

    /// 100,000 ids of the shapes firms use spread evenly: every partition within 15 % of the mean
    /// (measured worst: 0.90 of the mean, at P = 100 with branch-prefixed ids).
    @Test(arguments: [8, 16, 64, 100])
    func spreadsIdsEvenly(_ count: Int) throws {
        let partitioning = try Partitioning(count: count)
        let shapes: [(String, (Int) -> String)] = [
            ("C + 7 digits (CRMWorld)", { "C" + String(repeating: "0", count: max(0, 7 - String($0).count)) + String($0) }),
            ("plain numbers", { String($0) }),
            ("branch-prefixed", { "B\($0 % 40)-\($0)" }),
        ]
        for (shape, make) in shapes {
            var counts = Array(repeating: 0, count: count)
            for index in 0..<100_000 { counts[partitioning.partition(of: make(index))] += 1 }
            let mean = 100_000.0 / Double(count)
            let low = Double(counts.min() ?? 0) / mean, high = Double(counts.max() ?? 0) / mean
            #expect(low > 0.85 && high < 1.15, "\(shape) at P=\(count): \(low)...\(high) of the mean")
        }
    }

    @Test func splitsABatchByPartitionKeepingPositions() throws {
        let partitioning = try Partitioning(count: 64)
        // C000001 → 21, C000002 → 60, C0000001 → 9, B01-000123 → 9 (frozen table).
        let parts = partitioning.split(["C000001", "C000002", "C0000001", "B01-000123", "C000001"])
        #expect(parts.map(\.partition) == [9, 21, 60])
        #expect(parts.map(\.positions) == [[2, 3], [0, 4], [1]])
    }
}

@Suite struct PartitionSetTests {
    @Test func parsesRangesAndPrintsThemBack() throws {
        let partitioning = try Partitioning(count: 64)
        let set = try PartitionSet(parsing: "16-31, 48-63,7", in: partitioning)
        #expect(set.partitions == [7] + Array(16...31) + Array(48...63))
        #expect(set.description == "7,16-31,48-63")
        #expect(try PartitionSet(parsing: set.description, in: partitioning) == set)
        #expect(try PartitionSet(parsing: "all", in: partitioning) == .all(partitioning))
        #expect(PartitionSet.all(partitioning).description == "0-63")
        #expect(PartitionSet([3, 5]).description == "3,5")
    }

    @Test(arguments: ["", "64", "5-3", "1,1", "0-3,2", "a", "1-2-3", "-1"])
    func refusesWhatIsNotAPartitionList(_ text: String) throws {
        let partitioning = try Partitioning(count: 64)
        #expect(throws: PartitioningError.self) { try PartitionSet(parsing: text, in: partitioning) }
    }
}
