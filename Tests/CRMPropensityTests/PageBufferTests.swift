@testable import CRMPropensity
import Testing

/// The training's codes live in kernel mappings so that what is freed goes back at once and what
/// is not yet written costs nothing: the peak of a million-customer training depended on both.
@Suite struct PageBufferTests {
    @Test func aBufferCostsOnlyThePagesWritten() throws {
        let page = PageBuffer.pageSize
        let buffer = PageBuffer(count: 64 * page + 1)
        try #require(buffer.isMapped)
        #expect(buffer.residentPages() == 0)
        #expect(buffer.base[10 * page] == 0 && buffer.base[64 * page] == 0)
        for index in stride(from: 0, to: 16 * page, by: page) { buffer.base[index] = 1 }
        // Reading untouched pages maps the shared zero page at most; the written ones are counted.
        let resident = try #require(buffer.residentPages())
        #expect(resident >= 16 && resident <= 18)
    }

    /// A matrix is not zero-filled before its codes are copied in: doing so wrote every page while
    /// the row-major chunks were all still held (the codes twice at the peak).
    @Test func aMatrixIsNotWrittenBeforeItsCodes() throws {
        let storage = CodeStorage(count: 256 * PageBuffer.pageSize) { codes in
            codes[0] = 7
        }
        try #require(storage.buffer.isMapped)
        #expect(storage.buffer.residentPages() == 1)
        #expect(storage.base[0] == 7 && storage.base[storage.count - 1] == 0)
    }

    @Test func finishingReleasesEveryChunk() throws {
        var configuration = GradientBoostedTrees.Configuration()
        configuration.binningSampleRows = 1_000
        var builder = try BinnedRowsBuilder(columnNames: ["a", "b"], configuration: configuration)
        for row in 0..<(2 * BinnedRowsBuilder.chunkRows + 10) { try builder.append(row: [Float(row % 97), Float(row % 5)]) }
        builder.learnEdgesIfSampleFull()
        let chunks = builder.chunkBuffers
        #expect(chunks.count == 3)
        weak let first = chunks.first
        weak let lastChunk = chunks.last
        _ = consume chunks
        #expect(first != nil && lastChunk != nil)
        let matrix = builder.finish()
        #expect(first == nil && lastChunk == nil)
        #expect(matrix.rowCount == 2 * BinnedRowsBuilder.chunkRows + 10)
        // The last row (in the chunk that was being filled) came through: 131,081 ≡ 34 (mod 97), ≡ 1 (mod 5).
        let last = 2 * BinnedRowsBuilder.chunkRows + 9
        #expect(matrix.code(row: last, column: 0) == matrix.code(row: 34, column: 0))
        #expect(matrix.code(row: last, column: 1) == matrix.code(row: 1, column: 1))
        #expect(matrix.code(row: last, column: 1) != matrix.code(row: 2, column: 1))
    }

    /// The builder is a value: a copy made halfway through a chunk and fed other rows leaves the
    /// original's codes alone (the chunk being filled is copied before the copy writes to it).
    @Test func aCopiedBuilderWritesItsOwnChunk() throws {
        var configuration = GradientBoostedTrees.Configuration()
        configuration.binningSampleRows = 100
        configuration.maxBins = 16
        var original = try BinnedRowsBuilder(columnNames: ["a"], configuration: configuration)
        for row in 0..<200 { try original.append(row: [Float(row % 16)]) }
        original.learnEdges()
        var copy = original
        for _ in 0..<50 {
            try original.append(row: [0])
            try copy.append(row: [15])
        }
        let mine = original.finish()
        let theirs = copy.finish()
        #expect(mine.rowCount == 250 && theirs.rowCount == 250)
        for row in 0..<200 { #expect(mine.code(row: row, column: 0) == theirs.code(row: row, column: 0)) }
        #expect(mine.code(row: 249, column: 0) < theirs.code(row: 249, column: 0))
        #expect(mine.code(row: 249, column: 0) == mine.code(row: 0, column: 0))
        #expect(theirs.code(row: 249, column: 0) == theirs.code(row: 15, column: 0))
    }
}
