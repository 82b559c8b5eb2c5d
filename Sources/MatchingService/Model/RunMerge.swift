import GRDB

/// Several runs of elements, each in ascending key order, read as one run in ascending key order
/// (byte order of the keys' UTF-8, as SQLite compares text): a k-way merge over a binary heap of
/// each run's next element, so a merge of k runs costs about log₂ k comparisons an element and
/// holds one element per run.
///
/// Why: a month-end's snapshot rows are stored in runs (one per partition fetched alone,
/// ``SnapshotStore/run(ofPartition:)``) so that storing them appends; training reads the day in
/// customer order, beside the behaviour events sorted by customer.
final class RunMerge<Element>: Cursor {
    private let runs: [AnyCursor<Element>]
    private let key: (Element) -> String
    /// The runs' next elements, a min-heap by key (ties: the lower run first).
    private var heap: [(key: String, run: Int, element: Element)] = []
    private var started = false

    init(_ runs: [AnyCursor<Element>], key: @escaping (Element) -> String) {
        self.runs = runs
        self.key = key
    }

    func next() throws -> Element? {
        if !started {
            started = true
            for run in runs.indices {
                if let element = try runs[run].next() { push((key(element), run, element)) }
            }
        }
        guard let top = heap.first else { return nil }
        if let following = try runs[top.run].next() {
            heap[0] = (key(following), top.run, following)
            siftDown(0)
        } else {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
        }
        return top.element
    }

    private static func precedes(_ a: (key: String, run: Int, element: Element), _ b: (key: String, run: Int, element: Element)) -> Bool {
        // Bytes, not `String`'s `<` and `==`: those compare canonically equivalent strings
        // ("é" and "e" + U+0301) as equal, where SQLite orders their bytes.
        if a.key.utf8.lexicographicallyPrecedes(b.key.utf8) { return true }
        if b.key.utf8.lexicographicallyPrecedes(a.key.utf8) { return false }
        return a.run < b.run
    }

    private func push(_ entry: (key: String, run: Int, element: Element)) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let smaller = right < heap.count && Self.precedes(heap[right], heap[left]) ? right : left
            guard Self.precedes(heap[smaller], heap[parent]) else { return }
            heap.swapAt(smaller, parent)
            parent = smaller
        }
    }
}
