import CRMPartitions
import Testing

@Suite struct PartitionMergeTests {
    struct Row: Hashable {
        var value: Double
        var id: String
    }

    /// The search order of ordered searches: value descending, ties by id.
    static func before(_ lhs: Row, _ rhs: Row) -> Bool {
        lhs.value == rhs.value ? lhs.id < rhs.id : lhs.value > rhs.value
    }

    /// Paging through the merge of per-partition pages (each partition answering `size + 1` rows
    /// after the page's cursor) gives exactly the pages of one sorted list, for several P and sizes.
    @Test(arguments: [1, 3, 8, 64])
    func pagesEqualOneProcessPages(_ count: Int) throws {
        let partitioning = try Partitioning(count: count)
        // Values with many ties, so the id tie-break matters.
        let all = (0..<500).map { Row(value: Double(($0 * 37) % 23), id: "C" + String(1_000_000 + $0)) }
        let expected = all.sorted(by: Self.before)
        let byPartition = Dictionary(grouping: all) { partitioning.partition(of: $0.id) }.mapValues { $0.sorted(by: Self.before) }
        for size in [1, 7, 50, 499, 500, 1_000] {
            var cursor: Row?
            var paged: [Row] = []
            var pages = 0
            while true {
                let answers = (0..<count).map { partition -> [Row] in
                    let rows = byPartition[partition] ?? []
                    let after = cursor.map { key in rows.filter { Self.before(key, $0) } } ?? rows
                    return Array(after.prefix(size + 1))
                }
                let merged = PartitionMerge.merge(answers, limit: size, by: Self.before)
                paged += merged.rows
                pages += 1
                #expect(merged.rows.count == min(size, expected.count - (paged.count - merged.rows.count)))
                guard merged.more, let last = merged.rows.last else { break }
                cursor = last
            }
            #expect(paged == expected, "P=\(count) size \(size)")
            #expect(pages == (expected.count + size - 1) / size, "P=\(count) size \(size)")
        }
    }

    @Test func reportsWhatItTookFromEachInput() {
        let merged = PartitionMerge.merge([[1, 4, 9], [], [2, 3]], limit: 4, by: <)
        #expect(merged.rows == [1, 2, 3, 4])
        #expect(merged.taken == [2, 0, 2])
        #expect(merged.more)
        let all = PartitionMerge.merge([[1], [2]], limit: 5, by: <)
        #expect(all.rows == [1, 2] && !all.more)
    }

    @Test func countsAddAndRefuseToWrap() {
        #expect(PartitionMerge.total([3, 0, 4]) == 7)
        #expect(PartitionMerge.total([]) == 0)
        #expect(PartitionMerge.total([.max, 1]) == nil)
        #expect(PartitionMerge.sum([["gold": 2, "silver": 1], ["gold": 3], [:]]) == ["gold": 5, "silver": 1])
    }
}

@Suite struct PartitionCursorsTests {
    @Test func aTokenReadsBackTheSameCursors() throws {
        let partitioning = try Partitioning(count: 16)
        var cursors = PartitionCursors(partitioning: partitioning)
        cursors[3] = "C0000042"
        cursors[15] = "12345"
        cursors[16] = "ignored: no such partition"
        let read = try PartitionCursors(token: cursors.token, partitioning: partitioning)
        #expect(read == cursors)
        #expect(read[3] == "C0000042")
        #expect(read.sequence(of: 15) == 12_345)
        #expect(read.sequence(of: 0) == 0)
        #expect(read.cursors.count == 2)
        // The same cursors always give the same text, and a token is URL-safe.
        #expect(cursors.token == PartitionCursors(partitioning: partitioning, cursors: [15: "12345", 3: "C0000042"]).token)
        #expect(!cursors.token.contains { "+/=".contains($0) })
    }

    @Test func refusesATokenOfAnotherPartitioningOrNoTokenAtAll() throws {
        let sixteen = try Partitioning(count: 16), sixtyFour = try Partitioning(count: 64)
        let token = PartitionCursors(partitioning: sixtyFour, cursors: [40: "C1"]).token
        #expect(throws: PartitioningError.self) { try PartitionCursors(token: token, partitioning: sixteen) }
        for bad in ["", "50", "p1.", "p1.!!!", "p1.e30", "p2." + token.dropFirst(3)] {
            #expect(throws: PartitioningError.self, "\(bad)") { try PartitionCursors(token: bad, partitioning: sixtyFour) }
        }
    }
}
