import Dispatch
import Synchronization

/// Splits `0..<count` into contiguous slices and runs a read-only computation over each on its own
/// core (the machine has two), returning the results in slice order: matching's scans over a
/// million customers inside the replica's lock, profiles' dimension computing in an updater step.
/// The body must only read what it captures.
public enum ParallelSlices {
    public static func map<Result: Sendable>(count: Int, slices: Int, _ body: @escaping @Sendable (Range<Int>) -> Result) -> [Result] {
        let slices = max(1, min(slices, count))
        let size = (count + slices - 1) / slices
        if slices == 1 { return [body(0..<count)] }
        let results = Mutex<[Int: Result]>([:])
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let result = body(min(count, slice * size)..<min(count, (slice + 1) * size))
            results.withLock { $0[slice] = result }
        }
        let collected = results.withLock { $0 }
        return (0..<slices).compactMap { collected[$0] }
    }
}
