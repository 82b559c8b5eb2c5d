import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Follows one peer's feed — the one follower matching's copy and compensation's income both use:
/// asks for what follows the stored cursor, applies it (the step stores the entries with the new
/// cursor, so a restart resumes exactly after the last one applied), and asks again at once while
/// it gets full batches; once caught up, it tells `onCurrent` and waits the poll interval — or,
/// with a `wait` (a peer that holds a read open until an entry commits, `wait_ms`), asks again
/// with that wait, at once after a short page and after the poll interval after an empty one (a
/// wait that ran out, or a peer too old to wait, which then costs a poll per interval as before). On
/// failure (the peer down, a bad answer) it tells `onFailure`, waits, doubling from 100 ms up to the
/// maximum backoff, and tries again from the stored cursor, so nothing is lost or applied twice.
/// Graceful shutdown also cancels a step in flight.
public final class FeedFollower: Service, Sendable {
    /// What one step did.
    public struct Step: Sendable {
        /// Entries received from the peer.
        public var received: Int
        /// The cursor after the step.
        public var position: UInt64

        public init(received: Int, position: UInt64) {
            self.received = received
            self.position = position
        }
    }

    struct Status: Sendable {
        var position: UInt64 = 0
        var caughtUpAt: ContinuousClock.Instant?
        /// A waiting read is held by the peer: it had nothing after the cursor when it looked and
        /// answers as soon as anything commits, so the copy is current for as long as it is held.
        var held = false
        var lastError: String?
        var steps = 0
        let started = ContinuousClock.now

        /// How far behind the feed the follower may be now: 0 while a waiting read is held.
        func lag(at now: ContinuousClock.Instant) -> Duration? {
            guard let caughtUpAt else { return nil }
            return held ? .zero : now - caughtUpAt
        }
    }

    /// What a follower counts: entries applied and failed steps, and at each scrape its position
    /// and lag (`crm_feed_*{service, feed}`).
    private struct Counts: Sendable {
        let entries: Counter
        let failures: Counter
    }

    public let name: String
    public let batch: Int
    let pollInterval: Duration
    let maxBackoff: Duration
    let logger: Logger
    /// Fetches up to `limit` entries after the stored cursor and applies them; with a `wait`, the
    /// peer may hold the read that long for an entry.
    public typealias Read = @Sendable (_ limit: Int, _ wait: Duration?) async throws -> Step

    private let step: Read
    /// How long a caught-up follower's reads may be held (nil: poll every interval).
    let wait: Duration?
    private let onCurrent: @Sendable () async throws -> Void
    private let onFailure: @Sendable (String) -> Void
    private let status = Mutex(Status())
    private let counts: Counts?

    public init(name: String, batch: Int, pollInterval: Duration, wait: Duration? = nil, maxBackoff: Duration = .seconds(5), logger: Logger,
                step: @escaping Read,
                onCurrent: @escaping @Sendable () async throws -> Void = {},
                onFailure: @escaping @Sendable (String) -> Void = { _ in }, metrics: ServiceMetrics? = nil) {
        self.name = name
        self.batch = batch
        self.pollInterval = pollInterval
        self.maxBackoff = maxBackoff
        self.logger = logger
        self.step = step
        self.wait = wait
        self.onCurrent = onCurrent
        self.onFailure = onFailure
        let labels = [("feed", name)]
        self.counts = metrics.map {
            Counts(entries: $0.counter("crm_feed_entries_applied_total", labels), failures: $0.counter("crm_feed_failures_total", labels))
        }
        if let metrics {
            let position = metrics.gauge("crm_feed_position", labels)
            let lag = metrics.gauge("crm_feed_lag_seconds", labels)
            let caughtUp = metrics.gauge("crm_feed_caught_up", labels)
            metrics.onScrape { [self] in
                let current = self.status.withLock { $0 }
                position.record(Double(current.position))
                lag.record(Self.seconds(current.lag(at: .now) ?? ContinuousClock.now - current.started))
                caughtUp.record(current.caughtUpAt == nil ? 0 : 1)
            }
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Follows until graceful shutdown, which also cancels a step in flight (an RPC waiting on a
    /// peer that went away must not hold the shutdown up).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff: Duration = .milliseconds(100)
            var waiting = false
            while !Task.isCancelled {
                do {
                    let (caughtUp, received) = try await self.advance(waiting: waiting)
                    backoff = .milliseconds(100)
                    waiting = caughtUp
                    if caughtUp && (self.wait == nil || received == 0) { try await self.pause(self.pollInterval) }
                } catch {
                    waiting = false
                    if Task.isCancelled { return }
                    self.status.withLock { $0.lastError = "\(error)" }
                    self.counts?.failures.increment()
                    self.onFailure("\(error)")
                    self.logger.warning("feed step failed; retrying", metadata: ["feed": "\(self.name)", "error": "\(error)", "retry_in": "\(backoff)"])
                    do { try await self.pause(backoff) } catch { return }
                    backoff = min(backoff * 2, self.maxBackoff)
                }
            }
        }
    }

    /// Sleeps unless the service is shutting down (then returns early by throwing).
    private func pause(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: duration)
        }
    }

    /// One step; true when the feed is caught up (the peer had less than a batch).
    @discardableResult
    public func once() async throws -> Bool {
        try await advance(waiting: false).caughtUp
    }

    /// One step, with the follower's wait when asked for (the feed was caught up); whether the
    /// feed is caught up and how many entries came.
    private func advance(waiting: Bool) async throws -> (caughtUp: Bool, received: Int) {
        let wait = waiting ? self.wait : nil
        let holding = wait != nil
        if holding { status.withLock { $0.held = true } }
        let result: Step
        do {
            result = try await step(batch, wait)
        } catch {
            if holding { status.withLock { $0.held = false } }
            throw error
        }
        let caughtUp = result.received < batch
        counts?.entries.increment(by: result.received)
        status.withLock {
            $0.position = result.position
            $0.steps += 1
            $0.held = false
            $0.lastError = nil
            if caughtUp { $0.caughtUpAt = .now }
        }
        if caughtUp { try await onCurrent() }
        return (caughtUp, result.received)
    }

    /// Whether a waiting read is held by the peer now (tests).
    var isHoldingRead: Bool { status.withLock { $0.held } }

    /// Applies everything the peer has now (tools and tests; the running service follows by itself).
    public func catchUp() async throws {
        while try await !once() {}
    }

    /// Health details: position, whether and since when it is caught up, the last error.
    public var details: [String: String] {
        let current = status.withLock { $0 }
        var details = ["feed.\(name).position": "\(current.position)"]
        if let lag = current.lag(at: .now) {
            details["feed.\(name).lag_seconds"] = String(format: "%.1f", Double(lag.components.seconds) + Double(lag.components.attoseconds) / 1e18)
        } else {
            details["feed.\(name).lag_seconds"] = "not caught up yet"
        }
        if let error = current.lastError { details["feed.\(name).last_error"] = error }
        return details
    }
}
