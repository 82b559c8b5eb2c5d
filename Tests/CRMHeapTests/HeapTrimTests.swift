import CRMHeap
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `crm_heap_trim` is what hands a replica's freed heap back to the system after a load, a
/// catch-up and a training. For a year of benchmarks it compiled to `return 0` (glibc's macro was
/// tested before any glibc header was included), and nothing noticed: this checks that it trims.
@Suite struct HeapTrimTests {
    /// Blocks freed between blocks still in use cannot merge into the heap's top, where `free`
    /// itself would give them back; they wait in the allocator's bins until a trim returns their
    /// pages, and `malloc_trim` answers 1 when it returned any. The kept blocks are the freed ones'
    /// size, so both come from the same place in turn (a small kept block could be served from
    /// elsewhere and leave the freed ones side by side, next to the top).
    @Test func trimReturnsFreedPagesLyingBetweenLiveBlocks() throws {
        #if canImport(Glibc)
        let blockBytes = 16_384
        var freed: [UnsafeMutableRawPointer] = []
        var kept: [UnsafeMutableRawPointer] = []
        defer { for block in kept { free(block) } }
        for _ in 0..<500 {
            let block = try #require(malloc(blockBytes))
            memset(block, 1, blockBytes)
            freed.append(block)
            kept.append(try #require(malloc(blockBytes)))
        }
        for block in freed { free(block) }
        #expect(crm_heap_trim() == 1)
        #endif
    }
}
