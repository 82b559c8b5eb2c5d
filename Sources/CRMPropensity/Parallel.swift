import Dispatch

/// Runs independent pieces of work on a fixed number of workers.
///
/// Determinism rule: callers split work so that every output element is written by exactly one
/// piece and every reduction is combined in a fixed order that does not depend on the worker count.
/// A model is then bit-identical whether it was trained on one thread or two.
enum Parallel {
    /// Calls `body(piece)` for every piece in 0..<pieces, spreading pieces over `workers` threads.
    /// Pieces must write disjoint memory.
    static func forEach(pieces: Int, workers: Int, _ body: (Int) -> Void) {
        let workers = min(max(workers, 1), pieces)
        if workers <= 1 {
            for piece in 0..<pieces { body(piece) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = SharedBody(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var piece = worker
                while piece < pieces {
                    shared.body(piece)
                    piece += workers
                }
            }
        }
    }

    /// Hands the caller's closure to the workers.
    ///
    /// `@unchecked` is sound here because of how `forEach` is used: `concurrentPerform` returns only
    /// after every worker has finished, so the closure never outlives the call, and callers write
    /// only memory that belongs to the piece being run (its rows, its chunk slot, its features'
    /// histogram cells) while reading shared data that nobody writes during the call.
    private final class SharedBody: @unchecked Sendable {
        let body: (Int) -> Void

        init(_ body: @escaping (Int) -> Void) {
            self.body = body
        }
    }

    /// Fixed-size row chunks: the chunk size (not the worker count) decides how sums are grouped.
    static let rowChunk = 1 << 16

    static func chunkCount(rows: Int) -> Int { (rows + rowChunk - 1) / rowChunk }

    static func chunkRange(_ chunk: Int, rows: Int) -> Range<Int> {
        chunk * rowChunk..<min((chunk + 1) * rowChunk, rows)
    }
}
