import NIOCore

/// One timer for every call deadline of a connection, armed for the earliest: no timer per call to
/// schedule and cancel on the hot path. Used on the connection's event loop only.
struct DeadlineTimer {
    private var armed: (fireAt: NIODeadline, scheduled: Scheduled<Void>)?

    /// Makes sure `fire` runs no later than `deadline` (an earlier arming stands).
    mutating func arm(for deadline: NIODeadline, on loop: any EventLoop, fire: @escaping () -> Void) {
        if let armed, armed.fireAt <= deadline { return }
        armed?.scheduled.cancel()
        armed = (deadline, loop.assumeIsolated().scheduleTask(deadline: deadline, fire))
    }

    /// Forgets the timer that just fired.
    mutating func fired() {
        armed = nil
    }

    mutating func cancel() {
        armed?.scheduled.cancel()
        armed = nil
    }

    /// The keys whose deadline has passed, and the earliest deadline still ahead.
    static func partition<Key>(_ deadlines: some Sequence<(Key, NIODeadline?)>, now: NIODeadline = .now()) -> (due: [Key], earliest: NIODeadline?) {
        var due: [Key] = []
        var earliest: NIODeadline?
        for (key, deadline) in deadlines {
            guard let deadline else { continue }
            if deadline <= now {
                due.append(key)
            } else {
                earliest = min(earliest ?? deadline, deadline)
            }
        }
        return (due, earliest)
    }
}
