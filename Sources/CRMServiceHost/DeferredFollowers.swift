import CRMRPC
import Logging
import ServiceLifecycle
import Synchronization

/// Feed followers that can be made only after something is read from a peer — which processes to
/// follow (profiles' partition map: one follower per owner, compensation's and matching's) — and
/// then run together.
///
/// `make` is tried at the first step and again, waiting twice as long each time up to
/// `maxBackoff`, until it succeeds; what it made is kept for the process's life (a partition's
/// followers find its owner after a move through CRMProfilesClient's `PartitionFeedRoutes`, so the
/// followers themselves do not change). Two callers may race (the service's run and a tool's catch-up):
/// the first to finish is kept, and the other's clients are closed.
/// Until then the health details say why there is nothing to follow yet.
public final class DeferredFollowers: Service, Sendable {
    /// What `make` made: the followers, and the clients opened for them (closed when they stop);
    /// `close` closes what was opened later for them (profiles' owners met after a partition
    /// moved), and `details` adds to the followers' health details (the partition map's epoch
    /// they read by).
    public struct Made: Sendable {
        public var followers: [FeedFollower]
        public var clients: [RPCClient]
        public var close: @Sendable () async -> Void
        public var details: @Sendable () -> [String: String]

        public init(followers: [FeedFollower], clients: [RPCClient], close: @escaping @Sendable () async -> Void = {},
                    details: @escaping @Sendable () -> [String: String] = { [:] }) {
            self.followers = followers
            self.clients = clients
            self.close = close
            self.details = details
        }
    }

    private struct State: Sendable {
        var made: Made?
        var lastError: String?
    }

    /// What is read first, for the log (`profiles' partition map`).
    let lookup: String
    /// The health detail that says why nothing is followed yet.
    let detailKey: String
    let maxBackoff: Duration
    let logger: Logger
    private let make: @Sendable () async throws -> Made
    private let state = Mutex(State())

    public init(lookup: String, detailKey: String, maxBackoff: Duration, logger: Logger,
                make: @escaping @Sendable () async throws -> Made) {
        self.lookup = lookup
        self.detailKey = detailKey
        self.maxBackoff = maxBackoff
        self.logger = logger
        self.make = make
    }

    /// The followers, made first if they have not been.
    public func followers() async throws -> [FeedFollower] {
        if let made = state.withLock({ $0.made }) { return made.followers }
        let made = try await make()
        let earlier = state.withLock { (state: inout State) -> Made? in
            if let earlier = state.made { return earlier }
            state.made = made
            state.lastError = nil
            return nil
        }
        guard let earlier else { return made.followers }
        for client in made.clients { await client.close() }  // another caller made them first
        await made.close()
        return earlier.followers
    }

    /// Makes the followers (retrying, doubling the wait up to the maximum backoff), then runs them
    /// all until graceful shutdown.
    public func run() async throws {
        var backoff: Duration = .milliseconds(100)
        var followers: [FeedFollower]?
        while followers == nil {
            do {
                followers = try await self.followers()
            } catch {
                if Task.isCancelled { return }
                state.withLock { $0.lastError = "\(error)" }
                logger.warning("\(lookup) not read; retrying", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                let wait = backoff
                do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } } catch { return }
                backoff = min(backoff * 2, maxBackoff)
            }
        }
        guard let followers else { return }
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for follower in followers { group.addTask { try await follower.run() } }
            }
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Applies everything every follower's feed holds now (tests and tools).
    public func catchUp() async throws {
        for follower in try await followers() { try await follower.catchUp() }
    }

    /// Every follower's details, or why there are none yet.
    public var details: [String: String] {
        let current = state.withLock { $0 }
        guard let made = current.made else {
            return [detailKey: current.lastError.map { "not read yet: \($0)" } ?? "not read yet"]
        }
        var details = made.details()
        for follower in made.followers { details.merge(follower.details) { $1 } }
        return details
    }

    /// Closes the clients opened for the followers.
    public func close() async {
        guard let made = state.withLock({ $0.made }) else { return }
        for client in made.clients { await client.close() }
        await made.close()
    }
}
