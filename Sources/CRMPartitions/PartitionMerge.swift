/// Merges per-partition answers into the one-process answer.
///
/// Each partition sorts its own rows in the call's total order and returns the first `limit + 1`
/// after the page's cursor; the merged page is then the first `limit` rows of all of them in that
/// order, which are exactly the first `limit` rows a single process holding every partition would
/// return (a row among the global first `limit` is among the first `limit` of its own partition).
public enum PartitionMerge {
    /// The first `limit` rows of `pages` (each already sorted by `areInIncreasingOrder`, a strict
    /// total order) in that order; `more` says whether any page holds a row past them, and `taken`
    /// how many rows the page took from each input (a new cursor for each partition).
    public static func merge<Row>(
        _ pages: [[Row]], limit: Int, by areInIncreasingOrder: (Row, Row) -> Bool
    ) -> (rows: [Row], more: Bool, taken: [Int]) {
        var heads = Array(repeating: 0, count: pages.count)
        var rows: [Row] = []
        rows.reserveCapacity(max(0, min(limit, pages.reduce(0) { $0 + $1.count })))
        // A linear pick among the inputs per row: P is at most a few thousand and pages are small,
        // and owners are few across processes; a heap would not pay for itself here.
        while rows.count < limit {
            var best: Int?
            for input in pages.indices where heads[input] < pages[input].count {
                if let current = best {
                    if areInIncreasingOrder(pages[input][heads[input]], pages[current][heads[current]]) { best = input }
                } else {
                    best = input
                }
            }
            guard let chosen = best else { break }
            rows.append(pages[chosen][heads[chosen]])
            heads[chosen] += 1
        }
        let more = pages.indices.contains { heads[$0] < pages[$0].count }
        return (rows, more, heads)
    }

    /// Sums of per-partition counts that must add up (segment counts, populations): refuses to
    /// wrap, since a wrapped total would be a wrong answer rather than a crash.
    public static func total(_ counts: [UInt64]) -> UInt64? {
        var sum: UInt64 = 0
        for count in counts {
            let (next, overflow) = sum.addingReportingOverflow(count)
            if overflow { return nil }
            sum = next
        }
        return sum
    }

    /// Per-key sums (branch figures, class distributions): every partition's counts for a key add.
    public static func sum<Key: Hashable>(_ parts: [[Key: UInt64]]) -> [Key: UInt64] {
        var result: [Key: UInt64] = [:]
        for part in parts {
            for (key, value) in part { result[key, default: 0] += value }
        }
        return result
    }
}
