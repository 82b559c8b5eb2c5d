/// One page of a rule search chosen from the in-memory columns (``DimensionIndex``) without sorting
/// every matching customer.
///
/// Sorting all matches for each page cost O(n log n) comparisons of ids or values, hundreds of
/// milliseconds a page at a million customers. Instead:
/// - by customer id, the rows are walked in the index's id order from the first id after the
///   token (a binary search), taking matching rows until the page is full;
/// - by a dimension, one pass over the matching rows keeps the first `size + 1` after the cursor
///   in a bounded heap (O(n log size)), which are then sorted.
/// Either way the page holds exactly the rows a full sort would put there.
enum IndexedSearchPage {
    struct Page: Equatable {
        /// The page's rows, in order.
        var rows: [Int32]
        /// Their sort keys (``SortedPageCursor/key(of:)``); empty when paged by id.
        var keys: [Double]
        /// Rows matching the rule, on any page.
        var total: Int
        /// Whether a row follows the page.
        var hasMore: Bool
    }

    /// Whether `row` is set in `bits` (nil: every row matches).
    @inline(__always)
    static func isSet(_ bits: [UInt64]?, _ row: Int32) -> Bool {
        guard let bits else { return true }
        return bits[Int(row) &>> 6] & (1 &<< UInt64(Int(row) & 63)) != 0
    }

    static func total(_ bits: [UInt64]?, rows: Int) -> Int {
        bits.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? rows
    }

    /// The first `size` matching rows whose id is after `after`, in id order.
    static func byID(matching bits: [UInt64]?, ids: [String], idOrder: [Int32], after: String, size: Int) -> Page {
        var low = 0, high = idOrder.count
        while low < high {
            let middle = (low + high) / 2
            if ids[Int(idOrder[middle])] <= after { low = middle + 1 } else { high = middle }
        }
        var rows: [Int32] = []
        rows.reserveCapacity(size + 1)
        var position = low
        while position < idOrder.count, rows.count <= size {
            let row = idOrder[position]
            if isSet(bits, row) { rows.append(row) }
            position += 1
        }
        let hasMore = rows.count > size
        return Page(rows: Array(rows.prefix(size)), keys: [], total: total(bits, rows: ids.count), hasMore: hasMore)
    }

    /// The first `size` matching rows after `cursor` in the order of their key (`values`, see
    /// ``SortedPageCursor``) and then their id.
    static func byKey(matching bits: [UInt64]?, values: [Double], ids: [String], cursor: SortedPageCursor?, descending: Bool, size: Int) -> Page {
        @inline(__always) func key(_ row: Int32) -> Double {
            SortedPageCursor.key(of: Int(row) < values.count ? values[Int(row)] : nil)
        }
        @inline(__always) func precedes(_ a: Int32, _ b: Int32) -> Bool {
            SortedPageCursor.precedes(key(a), ids[Int(a)], key(b), ids[Int(b)], descending: descending)
        }
        // A heap of the best `limit` rows so far whose root is the last of them in the order: a
        // new row enters only if it precedes the root, which it then replaces.
        let limit = size + 1
        var heap: [Int32] = []
        heap.reserveCapacity(limit)
        func siftUp(_ start: Int) {
            var child = start
            while child > 0 {
                let parent = (child - 1) / 2
                guard precedes(heap[parent], heap[child]) else { return }
                heap.swapAt(parent, child)
                child = parent
            }
        }
        func siftDown() {
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var last = parent
                if left < heap.count, precedes(heap[last], heap[left]) { last = left }
                if right < heap.count, precedes(heap[last], heap[right]) { last = right }
                if last == parent { return }
                heap.swapAt(parent, last)
                parent = last
            }
        }
        func consider(_ row: Int32) {
            if let cursor, !cursor.isBefore(key(row), ids[Int(row)], descending: descending) { return }
            if heap.count < limit {
                heap.append(row)
                siftUp(heap.count - 1)
            } else if precedes(row, heap[0]) {
                heap[0] = row
                siftDown()
            }
        }
        if let bits {
            for (wordIndex, word) in bits.enumerated() {
                var remaining = word
                while remaining != 0 {
                    consider(Int32(truncatingIfNeeded: wordIndex &* 64 &+ remaining.trailingZeroBitCount))
                    remaining &= remaining &- 1
                }
            }
        } else {
            for row in 0..<Int32(ids.count) { consider(row) }
        }
        heap.sort(by: precedes)
        let hasMore = heap.count > size
        let rows = Array(heap.prefix(size))
        return Page(rows: rows, keys: rows.map(key), total: total(bits, rows: ids.count), hasMore: hasMore)
    }
}
