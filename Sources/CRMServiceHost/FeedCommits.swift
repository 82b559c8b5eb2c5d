import CRMRPC
import GRDB
import NIOCore
import ServiceLifecycle
import Synchronization

/// Tells a feed read waiting for entries (a call with `wait_ms`) that a transaction adding to its
/// feed has committed, so followers of a quiet feed hold one call open instead of asking again
/// every poll interval.
///
/// Why: a profiles process keeping a file per partition has a change feed and an event log per
/// partition, and every follower (each matching replica, compensation) polled each of them: 64
/// partitions, two feeds each, every 200 ms is 640 calls a second per replica while nothing
/// happens, and an event waited up to the interval before anyone read it. A waiting read answers
/// when the entry commits and costs one call per wait otherwise.
///
/// Race-free by generation: a reader takes ``generation`` before its read, and waits only for a
/// generation beyond it, so a commit between the read and the wait ends the wait at once.
public final class FeedCommits: Sendable {
    private struct State {
        var generation: UInt64 = 0
        /// Closed for good: every wait returns at once.
        var closed = false
        var nextWaiter: UInt64 = 0
        /// Waits begun and not yet returned.
        var active: Set<UInt64> = []
        /// Registered waits, resumed by a commit, their timer or their cancellation.
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Active waits whose timer or cancellation came before they registered.
        var ended: Set<UInt64> = []
    }

    private let state = Mutex(State())
    /// The tables whose inserts are the feed's entries (`change_log`, profiles' `event`).
    public let tables: Set<String>

    public init(tables: Set<String>) {
        self.tables = tables
    }

    /// Watches `database`'s writer for commits that insert into ``tables``, for as long as the
    /// database is open (it keeps the observer, which keeps this object).
    public func observe(_ database: some DatabaseWriter) {
        database.add(transactionObserver: CommitObserver(commits: self), extent: .databaseLifetime)
    }

    /// Commits seen so far (and the wake-up of ``close()``).
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Ends every wait: a new entry has committed.
    public func signal() {
        let woken = state.withLock { state in
            state.generation &+= 1
            let waiting = Array(state.waiters.values)
            state.waiters = [:]
            return waiting
        }
        for waiter in woken { waiter.resume() }
    }

    /// Ends every wait, now and later, without an entry: the feed's file is being drained for a
    /// move or closed, and calls held open must not hold that up.
    public func close() {
        state.withLock { $0.closed = true }
        signal()
    }

    /// Waits until the generation passes `seen`, `timeout` passes, or the task is cancelled,
    /// whichever comes first. Returns whether a commit (or a wake-up) ended it.
    @discardableResult
    public func wait(beyond seen: UInt64, timeout: Duration) async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            state.active.insert(state.nextWaiter)
            return state.nextWaiter
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.end(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let passed = state.withLock { state -> Bool in
                    if state.generation != seen || state.closed || state.ended.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if passed { continuation.resume() }
            }
        } onCancel: {
            self.end(id)
        }
        timer.cancel()
        return state.withLock { state in
            state.active.remove(id)
            state.ended.remove(id)
            return state.generation != seen
        }
    }

    /// Ends one wait (its timer ran out or its task was cancelled): resumes it if it is
    /// registered, else marks it so it does not register.
    private func end(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
            if state.active.contains(id) { state.ended.insert(id) }
            return nil
        }
        waiter?.resume()
    }

    /// Waits registered now (tests).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// The writer's observer: marks a transaction that inserts into a feed table (and stops
    /// listening to that transaction's other rows), and signals when it commits.
    private final class CommitObserver: TransactionObserver {
        let commits: FeedCommits
        /// Touched only on the writer's queue, one transaction at a time.
        private var added = false

        init(commits: FeedCommits) {
            self.commits = commits
        }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
            if case .insert(let table) = eventKind { return commits.tables.contains(table) }
            return false
        }

        func databaseDidChange(with event: DatabaseEvent) {
            added = true
            stopObservingDatabaseChangesUntilNextTransaction()
        }

        func databaseDidCommit(_ db: Database) {
            guard added else { return }
            added = false
            commits.signal()
        }

        func databaseDidRollback(_ db: Database) {
            added = false
        }
    }
}

/// Closes a service's ``FeedCommits`` when it shuts down. A background service, so it stops before
/// the server drains: feed reads held open for an entry end then, and the drain does not wait out
/// their `wait_ms`.
public struct FeedCommitsCloser: Service {
    let commits: FeedCommits

    public init(_ commits: FeedCommits) {
        self.commits = commits
    }

    public func run() async throws {
        try? await gracefulShutdown()
        commits.close()
    }
}

/// The follower's side of a waiting read (`wait_ms`), the same for every service that follows
/// profiles or products: the wait on the wire, and a call deadline that outlasts it.
public enum FeedWaits {
    /// The wait as the request's `wait_ms` (at most ``ChangeFeed/Waiting/longest``).
    public static func milliseconds(_ wait: Duration) -> UInt32 {
        let asked = min(wait, ChangeFeed.Waiting.longest)
        return UInt32(asked.components.seconds * 1_000 + asked.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Call options for a read that may be held `wait`: the client's default deadline without a
    /// wait; with one, the wait plus 30 seconds, so a held read is not cut off as too slow.
    public static func options(_ wait: Duration?) -> CallOptions {
        guard let wait else { return CallOptions() }
        return .timeout(.milliseconds(Int64(milliseconds(wait)) + 30_000))
    }
}
