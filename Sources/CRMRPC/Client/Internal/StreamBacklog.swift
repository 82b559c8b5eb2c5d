import CoreMetrics
import Synchronization

/// The bytes of streamed messages that arrived on one connection and that their callers have not
/// taken yet, for a client that bounds them (``ClientConfiguration/streamBacklogLimit``).
///
/// The connection's handler adds what it hands to a stream; a stream's reader takes it back as it
/// iterates. Above `limit` the handler stops reading the socket (so the server's stream writer,
/// which waits for a writable socket, pauses); once the backlog falls to `resumeAt` the reader
/// that brought it there asks the handler to read again. Shared between the event loop and the
/// readers' tasks, hence atomic.
final class StreamBacklog: Sendable {
    let limit: Int
    let resumeAt: Int
    private let bytes = Atomic<Int>(0)
    /// Counts each time the connection stops reading (the client's metrics, if it has them).
    private let holds: Counter?

    init(limit: Int, holds: Counter? = nil) {
        self.limit = max(limit, 1)
        self.resumeAt = self.limit / 4
        self.holds = holds
    }

    /// The connection has stopped reading (on its loop).
    func held() {
        holds?.increment()
    }

    var current: Int { bytes.load(ordering: .acquiring) }

    /// Counts `count` bytes handed to a stream; true when the backlog is now above the limit.
    func added(_ count: Int) -> Bool {
        bytes.add(count, ordering: .acquiringAndReleasing).newValue > limit
    }

    /// Takes back `count` bytes; true when this brought the backlog from above `resumeAt` to it or
    /// below (the one moment the handler must be told).
    func taken(_ count: Int) -> Bool {
        guard count > 0 else { return false }
        let after = bytes.subtract(count, ordering: .acquiringAndReleasing).newValue
        return after <= resumeAt && after + count > resumeAt
    }
}

/// One streaming call's share of its connection's backlog: what arrived for it and was not taken.
/// The handler holds it while the call is open, the caller's stream for as long as it exists; when
/// both let go, whatever the caller never read (a stream abandoned part way) is taken back, so an
/// abandoned stream cannot hold the connection's reads stopped.
final class StreamConsumption: Sendable {
    private let backlog: StreamBacklog
    private let unread = Atomic<Int>(0)
    /// Asks the connection's handler, on its event loop, to read again if the backlog allows.
    private let resume: @Sendable () -> Void

    init(backlog: StreamBacklog, resume: @escaping @Sendable () -> Void) {
        self.backlog = backlog
        self.resume = resume
    }

    /// On the loop, before the message is handed over; true when the connection should stop
    /// reading.
    func arrived(_ count: Int) -> Bool {
        unread.add(count, ordering: .relaxed)
        return backlog.added(count)
    }

    /// In the caller's task, for each message it takes; on the loop, for a message the stream
    /// refused (it had ended), which nobody will take.
    func taken(_ count: Int) {
        unread.subtract(count, ordering: .relaxed)
        if backlog.taken(count) { resume() }
    }

    deinit {
        let rest = unread.load(ordering: .acquiring)
        if rest > 0, backlog.taken(rest) { resume() }
    }
}
