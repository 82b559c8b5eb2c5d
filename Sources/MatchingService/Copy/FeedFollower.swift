import CRMRPC
import CRMStore
import Logging
import ServiceLifecycle

/// Follows one change feed into the replica: asks for a page after the last applied change,
/// applies it (store and memory), and when a page comes back short the copy is current: it notes
/// the time and waits `interval` before asking again. When the source cannot be reached it keeps
/// the copy as it is (answers go on from it), notes the error, and retries with a growing backoff.
struct FeedFollower: Service {
    let source: CopyStore.Source
    let replica: Replica
    let client: RPCClient?
    let pageSize: UInt32
    let interval: Duration
    let logger: Logger
    /// Reads and applies one page after the cursor; returns how many changes it applied.
    let step: @Sendable (RPCClient, UInt64, UInt32) async throws -> Int

    func run() async throws {
        guard let client else {
            // Nothing to follow: the stored copy is all there is, and it is served as it is.
            logger.warning("no peer configured for the \(source.rawValue) feed; the copy will not change")
            try await replica.markCurrent(source)
            return
        }
        await cancelWhenGracefulShutdown {
            var backoff = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    let applied = try await step(client, replica.cursor(source), pageSize)
                    backoff = .milliseconds(100)
                    if applied < Int(pageSize) {
                        try await replica.markCurrent(source)
                        try await Task.sleep(for: interval)
                    }
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    replica.markFailed(source, "\(error)")
                    logger.warning("\(source.rawValue) feed unavailable; answering from the copy", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
        }
    }
}
