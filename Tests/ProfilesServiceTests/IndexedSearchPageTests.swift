import Testing
@testable import ProfilesService

/// The pages chosen from the columns (``IndexedSearchPage``) are exactly the pages of a full sort
/// of the matching rows: checked on generated rows with ties, missing values, ids out of row order
/// and rules that match some rows, for several page sizes, following the tokens' cursors.
@Suite struct IndexedSearchPageTests {
    struct Rows {
        var ids: [String] = []
        var values: [Double] = []
        var bits: [UInt64]?
        var idOrder: [Int32] { (0..<Int32(ids.count)).sorted { ids[Int($0)] < ids[Int($1)] } }

        init(count: Int, everyRow: Bool, seed: UInt64) {
            var generator = SeededGenerator(seed: seed)
            // Ids in no particular row order (as after customers are added out of id order).
            ids = (0..<count).map { _ in "C" + String(Self.below(&generator, 1_000_000)) }
            ids = Array(Set(ids)).sorted()
            for place in stride(from: ids.count - 1, to: 0, by: -1) { ids.swapAt(place, Self.below(&generator, place + 1)) }
            values = ids.indices.map { _ in
                switch Self.below(&generator, 10) {
                case 0: .nan                                  // no value: sorts lowest
                case 1, 2, 3: Double(Self.below(&generator, 5))      // many ties
                default: Double(Self.below(&generator, 1_000_000)) / 7
                }
            }
            if !everyRow {
                var words = [UInt64](repeating: 0, count: (ids.count + 63) / 64)
                for row in ids.indices where Self.below(&generator, 3) != 0 { words[row / 64] |= 1 << UInt64(row % 64) }
                bits = words
            }
        }

        static func below(_ generator: inout SeededGenerator, _ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }

        var matching: [Int] { ids.indices.filter { IndexedSearchPage.isSet(bits, Int32($0)) } }

        func fullSort(descending: Bool) -> [String] {
            matching.sorted {
                SortedPageCursor.precedes(SortedPageCursor.key(of: values[$0]), ids[$0], SortedPageCursor.key(of: values[$1]), ids[$1], descending: descending)
            }.map { ids[$0] }
        }
    }

    @Test(arguments: [true, false])
    func pagesByAKeyAreTheFullSortCutIntoPages(everyRow: Bool) {
        let rows = Rows(count: 700, everyRow: everyRow, seed: everyRow ? 1 : 2)
        for descending in [false, true] {
            let expected = rows.fullSort(descending: descending)
            for size in [1, 7, 50, 1_000] {
                var cursor: SortedPageCursor?
                var seen: [String] = []
                var pages = 0
                while pages < 1_000 {
                    let page = IndexedSearchPage.byKey(matching: rows.bits, values: rows.values, ids: rows.ids, cursor: cursor, descending: descending, size: size)
                    #expect(page.total == expected.count)
                    #expect(page.rows.count == min(size, expected.count - seen.count))
                    #expect(page.keys == page.rows.map { SortedPageCursor.key(of: rows.values[Int($0)]) })
                    seen += page.rows.map { rows.ids[Int($0)] }
                    pages += 1
                    guard page.hasMore, let last = page.rows.last else { break }
                    cursor = SortedPageCursor(key: page.keys[page.keys.count - 1], customerID: rows.ids[Int(last)])
                }
                #expect(seen == expected, "size \(size), descending \(descending)")
            }
        }
    }

    @Test(arguments: [true, false])
    func pagesByIDWalkTheIDOrderFromTheToken(everyRow: Bool) {
        let rows = Rows(count: 700, everyRow: everyRow, seed: everyRow ? 3 : 4)
        let expected = rows.matching.map { rows.ids[$0] }.sorted()
        let order = rows.idOrder
        for size in [1, 7, 50, 1_000] {
            var after = ""
            var seen: [String] = []
            var pages = 0
            while pages < 1_000 {
                let page = IndexedSearchPage.byID(matching: rows.bits, ids: rows.ids, idOrder: order, after: after, size: size)
                #expect(page.total == expected.count && page.keys.isEmpty)
                seen += page.rows.map { rows.ids[Int($0)] }
                pages += 1
                guard page.hasMore, let last = page.rows.last else { break }
                after = rows.ids[Int(last)]
            }
            #expect(seen == expected, "size \(size)")
        }
        // A token past every id: an empty last page.
        let end = IndexedSearchPage.byID(matching: rows.bits, ids: rows.ids, idOrder: order, after: "D", size: 10)
        #expect(end.rows.isEmpty && !end.hasMore)
    }
}
