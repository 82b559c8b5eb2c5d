import Foundation
import Logging
import NIOCore

/// One client connection's multiplexer: matches response frames to the calls waiting for them.
/// Lives on the connection's event loop; every field is touched only there.
///
/// With a stream backlog (``ClientConfiguration/streamBacklogLimit``) it also holds the socket's
/// reads while the streams' callers have more than the limit still to take, and reads again when
/// they have taken most of it.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum PendingCall {
        case unary(EventLoopPromise<Data>)
        /// The stream's continuation and, on a connection with a backlog, its share of it.
        case streaming(AsyncThrowingStream<Data, any Error>.Continuation, StreamConsumption?)
    }

    private struct Entry {
        var call: PendingCall
        var deadline: NIODeadline?
        var timeout: TimeAmount?
    }

    private var pending: [UInt64: Entry] = [:]
    private var pings: [UInt64: EventLoopPromise<Void>] = [:]
    /// One timer for every call's local deadline, armed for the earliest.
    private var deadlineTimer = DeadlineTimer()
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var closedError: RPCError?
    /// Set by the server's GoAway: calls numbered above it were never run there.
    private var goAwayLastCallID: UInt64?
    private let endpoint: Endpoint
    private let logger: Logger
    /// Called on the loop when the server announces it is going away.
    private let onGoAway: @Sendable () -> Void
    /// The streamed bytes not yet taken by their callers, when the client bounds them.
    private let backlog: StreamBacklog?
    /// Reads are held because the backlog went over its limit.
    private var readsHeld = false
    /// The channel asked to read while reads were held: read when they are released.
    private var readWanted = false

    init(endpoint: Endpoint, logger: Logger, backlog: StreamBacklog? = nil, onGoAway: @escaping @Sendable () -> Void) {
        self.endpoint = endpoint
        self.logger = logger
        self.backlog = backlog
        self.onGoAway = onGoAway
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Called by the client, on the loop

    /// Registers a call and writes its request frame.
    func start(callID: UInt64, frame: ByteBuffer, call: PendingCall, timeout: TimeAmount?) {
        guard let context, closedError == nil, goAwayLastCallID == nil else {
            // Never sent: safe for the client to try again elsewhere.
            fail(call, closedError ?? RPCError(.unavailable, "connection to \(endpoint) is closed"), notProcessed: true)
            return
        }
        let entry = Entry(call: call, deadline: timeout.map { .now() + $0 }, timeout: timeout)
        if let deadline = entry.deadline {
            armDeadlineTimer(for: deadline)
        }
        pending[callID] = entry
        context.write(wrapOutboundOut(frame), promise: nil)
        scheduleFlush()
    }

    /// Abandons a call the caller no longer waits for, and tells the server to stop it.
    func cancel(callID: UInt64) {
        guard let entry = pending.removeValue(forKey: callID) else { return }
        fail(entry.call, RPCError(.cancelled, "cancelled by the caller"))
        send(.cancel(callID: callID))
    }

    /// A stream's caller took enough that the backlog may be back under its limit: read again if
    /// it is at the level reads resume at.
    func resumeReading() {
        guard readsHeld, let backlog, backlog.current <= backlog.resumeAt else { return }
        readsHeld = false
        if readWanted, let context {
            readWanted = false
            context.read()
        }
    }

    func ping(opaque: UInt64, promise: EventLoopPromise<Void>) {
        guard context != nil, closedError == nil else {
            promise.fail(closedError ?? RPCError(.unavailable, "connection to \(endpoint) is closed"))
            return
        }
        pings[opaque] = promise
        send(.ping(opaque))
    }

    // MARK: Channel events

    func read(context: ChannelHandlerContext) {
        guard !readsHeld else {
            readWanted = true
            return
        }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope: InboundEnvelope
        do {
            envelope = try EnvelopeCodec.decode(unwrapInboundIn(data))
        } catch {
            logger.warning("server sent bytes that are not an envelope; closing", metadata: ["endpoint": "\(endpoint)"])
            context.close(promise: nil)
            return
        }
        switch envelope {
        case let .response(response):
            deliver(response)
        case let .ping(opaque):
            send(.pong(opaque))
        case let .pong(opaque):
            pings.removeValue(forKey: opaque)?.succeed()
        case let .goAway(lastCallID, reason):
            logger.debug("server going away: \(reason)", metadata: ["endpoint": "\(endpoint)"])
            goAwayLastCallID = lastCallID
            onGoAway()
        case .request, .cancel, .none:
            logger.warning("server sent a client-to-server envelope; closing", metadata: ["endpoint": "\(endpoint)"])
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closedError == nil {
            closedError = RPCError(.unavailable, "connection to \(endpoint) failed: \(error)")
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = closedError ?? RPCError(.unavailable, "connection to \(endpoint) lost before the call finished")
        closedError = error
        let calls = pending
        pending.removeAll()
        for (callID, entry) in calls {
            fail(entry.call, error, notProcessed: wasNotProcessed(callID))
        }
        deadlineTimer.cancel()
        let waiting = pings
        pings.removeAll()
        for promise in waiting.values { promise.fail(error) }
        context.fireChannelInactive()
    }

    // MARK: Internals

    private func deliver(_ response: ResponseHead) {
        if response.callID == 0 {
            // A connection-level status: the server is about to close this connection.
            closedError = RPCError(status: response.status ?? WireStatus())
            logger.warning("server refused the connection's traffic: \(closedError?.description ?? "")", metadata: ["endpoint": "\(endpoint)"])
            return
        }
        guard let entry = pending[response.callID] else {
            return  // a late answer to a call that was cancelled or timed out here
        }
        // A final frame without a status means OK (proto3 omits an empty message only if unset).
        let status = response.status ?? .ok
        switch entry.call {
        case let .unary(promise):
            guard response.endOfStream else { return }
            pending.removeValue(forKey: response.callID)
            if status.code == .ok {
                promise.succeed(Data(response.payload.readableBytesView))
            } else if status.code == .unavailable, wasNotProcessed(response.callID) {
                promise.fail(NotProcessedError(error: RPCError(status: status)))
            } else {
                promise.fail(RPCError(status: status))
            }
        case let .streaming(continuation, consumption):
            if response.payload.readableBytes > 0 || !response.endOfStream {
                let count = response.payload.readableBytes
                let over = consumption?.arrived(count) ?? false
                if case .enqueued = continuation.yield(Data(response.payload.readableBytesView)) {
                    if over && !readsHeld {
                        readsHeld = true
                        backlog?.held()
                    }
                } else {
                    consumption?.taken(count)
                }
            }
            guard response.endOfStream else { return }
            pending.removeValue(forKey: response.callID)
            if status.code == .ok {
                continuation.finish()
            } else {
                continuation.finish(throwing: RPCError(status: status))
            }
        }
    }

    private func armDeadlineTimer(for deadline: NIODeadline) {
        guard let context else { return }
        deadlineTimer.arm(for: deadline, on: context.eventLoop) {
            self.deadlineTimer.fired()
            self.expireDueCalls()
        }
    }

    /// Fails every call past its deadline locally and tells the server to stop it.
    private func expireDueCalls() {
        let (due, earliest) = DeadlineTimer.partition(pending.lazy.map { ($0.key, $0.value.deadline) })
        for callID in due {
            guard let entry = pending.removeValue(forKey: callID) else { continue }
            let millis = (entry.timeout?.nanoseconds ?? 0) / 1_000_000
            fail(entry.call, RPCError(.deadlineExceeded, "deadline of \(millis) ms exceeded"))
            send(.cancel(callID: callID))
        }
        if let earliest {
            armDeadlineTimer(for: earliest)
        }
    }

    /// A call the server's GoAway says it never ran.
    private func wasNotProcessed(_ callID: UInt64) -> Bool {
        guard let last = goAwayLastCallID else { return false }
        return callID > last
    }

    private func fail(_ call: PendingCall, _ error: RPCError, notProcessed: Bool = false) {
        switch call {
        case let .unary(promise): promise.fail(notProcessed ? NotProcessedError(error: error) : error)
        case let .streaming(continuation, _): continuation.finish(throwing: error)
        }
    }

    private func send(_ envelope: Envelope) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 32)
        guard (try? buffer.writeFrame(envelope)) != nil else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }
}

/// A unary call that provably never ran on the server (never sent, or above a GoAway's last call
/// id), so the client may send it again on another connection without doing anything twice.
struct NotProcessedError: Error {
    let error: RPCError
}
