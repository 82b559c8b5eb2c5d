import Synchronization

/// How long the dimension updater is behind, in seconds: the time since the oldest event it has not
/// applied yet arrived (was stored by an ingestion call), 0 when it has caught up. What
/// `crm_profiles_updater_lag_seconds` shows beside the lag in events.
///
/// Arrival times are kept in memory, one mark per ingestion batch (its last event id and when it
/// was stored), and dropped once the updater's checkpoint passes them; so nothing is written per
/// event. Events stored before this process started have no mark: while any of them is pending,
/// the lag counts from the process's start (their real wait is at least that long).
final class UpdaterLag: Sendable {
    private struct Mark {
        var lastEventID: Int64
        var arrived: ContinuousClock.Instant
    }

    private struct State {
        var marks: [Mark] = []
        /// Events up to this id were stored before this process's first ingestion.
        var storedBeforeStart: Int64?
    }

    /// Beyond this many marks a new batch extends the newest one (keeping its older time), so a
    /// long backlog never grows the list: the lag can then only read high, never low.
    static let maxMarks = 4_096

    private let started: ContinuousClock.Instant
    private let state = Mutex(State())

    init(started: ContinuousClock.Instant = .now) {
        self.started = started
    }

    /// A batch of `count` new events, the last with id `lastEventID`, was stored `at`.
    func arrived(lastEventID: Int64, count: Int, at instant: ContinuousClock.Instant = .now) {
        state.withLock { state in
            if state.storedBeforeStart == nil { state.storedBeforeStart = lastEventID - Int64(count) }
            if state.marks.count >= Self.maxMarks, let newest = state.marks.indices.last {
                state.marks[newest].lastEventID = max(state.marks[newest].lastEventID, lastEventID)
            } else {
                state.marks.append(Mark(lastEventID: lastEventID, arrived: instant))
            }
        }
    }

    /// The lag once the updater has applied every event up to `applied`, the newest stored being
    /// `newest`; drops the marks it no longer needs.
    func seconds(applied: Int64, newest: Int64, now: ContinuousClock.Instant = .now) -> Double {
        state.withLock { state in
            state.marks.removeAll { $0.lastEventID <= applied }
            guard applied < newest else { return 0 }
            if applied < (state.storedBeforeStart ?? newest) { return Self.seconds(now - started) }
            guard let oldest = state.marks.map(\.arrived).min() else { return 0 }
            return Self.seconds(now - oldest)
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return max(0, Double(seconds) + Double(attoseconds) / 1e18)
    }
}
