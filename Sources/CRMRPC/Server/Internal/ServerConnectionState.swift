import CRMWire
import NIOCore

/// A request the connection has read: what the state needs of it while it waits for a slot.
protocol ConnectionRequest {
    var callID: UInt64 { get }
}

/// A call the connection runs: what the state needs of it to expire it.
protocol ConnectionCall {
    var deadline: NIODeadline? { get }
}

extension RequestHead: ConnectionRequest {}

/// The bookkeeping of one server connection, apart from the channel: which calls run, which wait
/// for a slot, whether reading is held back, and what draining allows. The connection handler
/// owns one, asks it before every action and carries out what it answers (write, start, close),
/// so every decision about admission, backpressure, cancellation, deadlines and the drain is made
/// here and tested without a socket, in the way grpc-swift keeps its connection state machines
/// apart from their channel handlers.
///
/// Backpressure: at most `maxConcurrentCalls` run. A request read beyond that waits here (at most
/// one read's worth, since the handler stops reading) and starts when a call ends; reading resumes
/// once nothing waits and there is room.
struct ServerConnectionState<Request: ConnectionRequest, Call: ConnectionCall> {
    let maxConcurrentCalls: Int

    private(set) var calls: [UInt64: Call] = [:]
    private(set) var waiting: [Request] = []
    /// The highest call id the peer has used: the GoAway names it as the last that will be answered.
    private(set) var highestCallID: UInt64 = 0
    private(set) var draining = false
    /// Whether the handler declined a read because no slot was free: the socket is not read until
    /// ``resumeReading()`` says so. (A frame stalled meanwhile is not the peer's fault.)
    private(set) var readsHeld = false

    init(maxConcurrentCalls: Int) {
        self.maxConcurrentCalls = maxConcurrentCalls
    }

    private var hasRoom: Bool { calls.count < maxConcurrentCalls }
    var isIdle: Bool { calls.isEmpty && waiting.isEmpty }

    // MARK: Requests

    /// A request has been read: true when it may start now, false when it was put to wait.
    mutating func received(_ request: Request) -> Bool {
        if hasRoom { return true }
        waiting.append(request)
        return false
    }

    enum Admission: Equatable {
        /// Run it (after authentication and the method's checks).
        case admit
        /// Refuse it with UNAVAILABLE: the connection is draining and only health checks are let in.
        case refuseDraining
        /// The peer broke the protocol: close the connection.
        case violation(String)
    }

    /// Whether a request about to start may: a call id is never 0 (the connection's own) and never
    /// one still open; while draining only health checks start. `isHealthCheck` is asked only while
    /// draining (it compares the method's name, which every other call need not pay for).
    mutating func admit(callID: UInt64, isHealthCheck: @autoclosure () -> Bool) -> Admission {
        guard callID != 0 else { return .violation("a request with call id 0, which is reserved for the connection") }
        guard calls[callID] == nil else { return .violation("call id \(callID) reused while that call is still open") }
        highestCallID = max(highestCallID, callID)
        if draining && !isHealthCheck() { return .refuseDraining }
        return .admit
    }

    /// Records a call that has started.
    mutating func started(_ callID: UInt64, _ call: Call) {
        calls[callID] = call
    }

    func isRunning(_ callID: UInt64) -> Bool {
        calls[callID] != nil
    }

    /// Ends a call; nil when it had already been answered (cancelled, expired, abandoned).
    mutating func finish(_ callID: UInt64) -> Call? {
        calls.removeValue(forKey: callID)
    }

    enum Cancellation {
        /// It had not started: answer CANCELLED.
        case waiting
        /// It runs: cancel its task and answer CANCELLED.
        case running(Call)
        /// Already over (or never seen): nothing to do.
        case unknown
    }

    /// The peer cancelled a call.
    mutating func cancel(_ callID: UInt64) -> Cancellation {
        if let position = waiting.firstIndex(where: { $0.callID == callID }) {
            waiting.remove(at: position)
            return .waiting
        }
        guard let call = calls.removeValue(forKey: callID) else { return .unknown }
        return .running(call)
    }

    /// Ends every call whose deadline has passed at `now`, and tells when the next one falls due.
    mutating func expire(now: NIODeadline = .now()) -> (expired: [(callID: UInt64, call: Call)], nextDeadline: NIODeadline?) {
        let (due, earliest) = DeadlineTimer.partition(calls.lazy.map { ($0.key, $0.value.deadline) }, now: now)
        let expired = due.compactMap { callID in calls.removeValue(forKey: callID).map { (callID, $0) } }
        return (expired, earliest)
    }

    // MARK: Slots and reading

    /// The socket asks to be read: false holds the read back while no slot is free or requests
    /// wait.
    mutating func mayRead() -> Bool {
        if !hasRoom || !waiting.isEmpty {
            readsHeld = true
            return false
        }
        return true
    }

    /// After a call ended: the next waiting request to start, while there is room.
    mutating func nextWaiting() -> Request? {
        guard hasRoom, !waiting.isEmpty else { return nil }
        return waiting.removeFirst()
    }

    /// After the waiting requests have started: true when a held read should be issued now.
    mutating func resumeReading() -> Bool {
        guard readsHeld, waiting.isEmpty, hasRoom else { return false }
        readsHeld = false
        return true
    }

    /// Whether the connection should close now: it drains and nothing is left.
    var closesWhenIdle: Bool { draining && isIdle }

    // MARK: Draining and closing

    /// Starts the drain: the GoAway's last call id, and whether to close at once (nothing runs);
    /// nil when already draining.
    mutating func beginDrain() -> (lastCallID: UInt64, closeNow: Bool)? {
        guard !draining else { return nil }
        draining = true
        return (highestCallID, isIdle)
    }

    /// The grace period ran out, or the channel closed: everything still open, to answer or
    /// cancel; the state is left empty.
    mutating func abandonAll() -> (calls: [(callID: UInt64, call: Call)], waiting: [Request]) {
        let running = calls.map { ($0.key, $0.value) }
        let queued = waiting
        calls.removeAll()
        waiting.removeAll()
        return (running, queued)
    }
}
