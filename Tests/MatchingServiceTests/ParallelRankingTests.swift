import CRMServiceHost
import Testing
@testable import MatchingService

/// The target list's ranking split over cores must equal the ranking done in one pass.
@Suite struct ParallelRankingTests {
    @Test func slicesCoverEveryIndexOnceInOrder() {
        for (count, slices) in [(0, 2), (1, 2), (7, 2), (100_001, 2), (10, 3)] {
            let ranges = ParallelSlices.map(count: count, slices: slices) { $0 }
            #expect(ranges.flatMap { Array($0) } == Array(0..<count), "count \(count), slices \(slices)")
        }
    }

    @Test func mergedSliceHeapsRankLikeOneHeap() {
        var random = SystemRandomNumberGenerator()
        let ids = (0..<60_000).map { "C\(String($0, radix: 36))" }
        // Few distinct scores, so ties (broken by id) are everywhere.
        let scores = (0..<ids.count).map { _ in Double(Int.random(in: 0..<50, using: &random)) / 7 }
        for capacity in [1, 10, 1_000, Int.max] {
            var single = TopHeap(capacity: capacity, ids: ids)
            for row in ids.indices { single.offer(.init(row: Int32(row), score: scores[row])) }
            let heaps = ParallelSlices.map(count: ids.count, slices: 2) { range in
                var heap = TopHeap(capacity: capacity, ids: ids)
                for row in range { heap.offer(.init(row: Int32(row), score: scores[row])) }
                return heap.sortedDescending()
            }
            var merged = TopHeap(capacity: capacity, ids: ids)
            for heap in heaps { for item in heap { merged.offer(item) } }
            #expect(merged.sortedDescending().map(\.row) == single.sortedDescending().map(\.row), "capacity \(capacity)")
        }
    }
}
