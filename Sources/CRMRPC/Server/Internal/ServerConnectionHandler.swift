import CRMPrimitives
import Foundation
import Logging
import NIOCore
import Tracing

/// Everything a server's connections share: the routes, the credentials, the limits.
final class ServerShared: Sendable {
    let serviceName: String
    let router: Router
    let credentials: CredentialStore
    let configuration: RPCServerConfiguration
    let readiness: ServiceReadiness
    let logger: Logger
    /// Holds back repeated warnings about one peer host (shared by all its connections).
    let warnings = PeerWarningLimiter()
    /// Nil when the server counts nothing (tests of the runtime, the benchmark's bare variant).
    let metrics: RPCServerMetrics?
    /// Each routed method with its series (made once; nil without metrics): one lookup of the
    /// method's name per call, and no lock.
    let routes: [String: (method: Router.Method, series: MethodSeries?)]
    /// The series of requests for methods the router does not know.
    let unknownMethod: MethodSeries?

    init(serviceName: String, router: Router, credentials: ServerCredentials, configuration: RPCServerConfiguration,
         readiness: ServiceReadiness, logger: Logger, metrics: RPCServerMetrics?) {
        self.metrics = metrics
        self.unknownMethod = metrics?.series("unknown")
        self.routes = router.methods.mapValues { method in (method, metrics?.series(method.descriptor.name)) }
        self.serviceName = serviceName
        self.router = router
        self.credentials = CredentialStore(credentials)
        self.configuration = configuration
        self.readiness = readiness
        self.logger = logger
    }
}

/// One server connection: turns request frames into handler tasks and their results into response
/// frames. It lives on the connection's event loop; every field is touched only there.
///
/// Handler tasks run with the loop as their executor preference, so a call that does not leave for
/// another executor never wakes another thread. Limits are enforced here: calls in flight (by not
/// reading the socket), deadlines (a timer cancels the task), stalled frames (a timer drops the
/// peer) and the drain on shutdown (GoAway, then close when the last call ends or the grace period
/// runs out).
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct ActiveCall: ConnectionCall {
        var task: Task<Void, Never>?
        var deadline: NIODeadline?
        var timeout: TimeAmount?
        /// For the call's log line (kept only when calls are logged: at debug or lower).
        var record: CallRecord?
        /// The method's metrics and when the call started (only when the server counts).
        var series: MethodSeries?
        var started: NIODeadline?
        /// The call's server span (only when the server has a tracer).
        var span: (any Span)?
    }

    /// What the one line logged per finished call says: the method, the caller's request id, the
    /// principal, the status and how long it took.
    private struct CallRecord {
        let method: String
        let requestID: String
        let principal: String
        let started: NIODeadline
        /// The W3C trace id of the call: the caller's, or the one its span started; nil without one.
        let traceID: String?
    }

    private static let healthPrefix = "/\(Crm_Rpc_V1_Health.serviceName)/"

    private let shared: ServerShared
    private let executor: EventLoopTaskExecutor
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var remoteAddress = "?"
    /// The peer's host without the port: what repeated warnings are counted by.
    private var remoteHost = "?"
    /// Whether finished calls get a log line (the configured level is enabled): checked once per
    /// connection, so the hot path pays nothing when it is not.
    private var logsCalls = false
    /// The level of those lines, and one successful call in how many is logged.
    private var callLogLevel: Logger.Level = .debug
    private var callLogEvery = 1
    private var callsFinished = 0

    /// Which calls run and wait, whether reads are held, the drain: every such decision is the
    /// state's; this handler carries them out on the channel.
    private var state: ServerConnectionState<RequestHead, ActiveCall>
    private var flushScheduled = false
    /// Bytes read and queued since they were last added to the metrics (once per read, per flush).
    private var unpublishedReceivedBytes = 0
    private var unpublishedSentBytes = 0
    private var stallTimer: Scheduled<Void>?
    private var graceTimer: Scheduled<Void>?
    /// One timer per connection for every call's deadline, armed for the earliest one: no timer
    /// per call to schedule and cancel on the hot path.
    private var deadlineTimer = DeadlineTimer()
    private var writabilityWaiters: [EventLoopPromise<Void>] = []
    /// Who each call is: its token, else the client certificate the TLS handshake verified.
    private var auth: ConnectionAuthenticator

    init(shared: ServerShared, eventLoop: any EventLoop) {
        self.shared = shared
        self.executor = EventLoopTaskExecutor(eventLoop: eventLoop)
        self.logger = shared.logger
        self.auth = ConnectionAuthenticator(store: shared.credentials)
        self.state = ServerConnectionState(maxConcurrentCalls: shared.configuration.maxConcurrentCallsPerConnection)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        remoteAddress = context.channel.remoteAddress?.description ?? "?"
        remoteHost = context.channel.remoteAddress?.ipAddress ?? remoteAddress
        logger[metadataKey: "peer"] = "\(remoteAddress)"
        switch shared.configuration.callLogging {
        case .debug:
            callLogLevel = .debug
            logsCalls = logger.logLevel <= .debug
        case let .info(every):
            callLogLevel = .info
            callLogEvery = max(every, 1)
            logsCalls = every > 0 && logger.logLevel <= .info
        }
        if let metrics = shared.metrics {
            metrics.accepted.increment()
            metrics.connections.increment()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        publishReceivedBytes()
        publishSentBytes()
        shared.metrics?.connections.decrement()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        publishReceivedBytes()
        context.fireChannelReadComplete()
    }

    private func publishReceivedBytes() {
        guard unpublishedReceivedBytes > 0 else { return }
        shared.metrics?.receivedBytes.increment(by: Int64(unpublishedReceivedBytes))
        unpublishedReceivedBytes = 0
    }

    private func publishSentBytes() {
        guard unpublishedSentBytes > 0 else { return }
        shared.metrics?.sentBytes.increment(by: Int64(unpublishedSentBytes))
        unpublishedSentBytes = 0
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // The frame's body and its 4-byte length prefix.
        if shared.metrics != nil { unpublishedReceivedBytes += frame.readableBytes + 4 }
        let envelope: InboundEnvelope
        do {
            envelope = try EnvelopeCodec.decode(frame)
        } catch {
            protocolViolation("bytes that are not a valid envelope (\(error))", reason: .invalidEnvelope)
            return
        }
        switch envelope {
        case let .request(request):
            // Beyond the limit it waits in the state and starts when a call finishes.
            if state.received(request) {
                startCall(request)
            }
        case let .cancel(callID):
            cancelCall(callID)
        case let .ping(opaque):
            write(.pong(opaque))
        case .pong:
            break
        case .response, .goAway:
            protocolViolation("a server-to-client envelope sent by the client")
        case .none:
            protocolViolation("an envelope with no kind set")
        }
    }

    func read(context: ChannelHandlerContext) {
        if state.mayRead() {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            let waiters = writabilityWaiters
            writabilityWaiters.removeAll()
            for waiter in waiters { waiter.succeed() }
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case FrameDecoderEvent.partialFrameBuffered:
            guard stallTimer == nil else { return }
            armStallTimer()
        case FrameDecoderEvent.frameBoundary:
            stallTimer?.cancel()
            stallTimer = nil
        case is ChannelShouldQuiesceEvent:
            beginDrain()
        case let event as PeerCertificateEvent:
            auth.peerCertificate = event.identity
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let FrameError.frameTooLarge(announced, limit):
            // Call id 0 is reserved for the connection itself: the call the frame belonged to is
            // unknown, since its body was never read.
            shared.metrics?.refused(.frameTooLarge)
            warnOnce("refusing a frame of \(announced) bytes (limit \(limit)); closing")
            let status = RPCError(.resourceExhausted, "frame of \(announced) bytes exceeds the limit of \(limit) bytes").status
            writeAndClose(.response(callID: 0, status: status))
        case FrameError.truncatedFrame:
            logger.debug("peer closed inside a frame")
            context.close(promise: nil)
        case let refusal as TLSRefusal:
            shared.metrics?.refused(.tls)
            warnOnce("\(refusal)")
            context.close(promise: nil)
        default:
            logger.debug("connection error: \(error)")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for (_, call) in state.abandonAll().calls {
            call.task?.cancel()
            // Ends its span and its in-flight count, as every other way a call ends does.
            count(call, .cancelled)
        }
        deadlineTimer.cancel()
        stallTimer?.cancel()
        graceTimer?.cancel()
        let waiters = writabilityWaiters
        writabilityWaiters.removeAll()
        for waiter in waiters { waiter.fail(RPCError(.cancelled, "connection closed")) }
        context.fireChannelInactive()
    }

    /// Drops the peer if the frame it started is not complete in time. While the server itself
    /// holds back reads (too many calls in flight) the peer is not to blame, so the clock restarts.
    private func armStallTimer() {
        guard let context else { return }
        stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: shared.configuration.stalledFrameTimeout) {
            self.stallTimer = nil
            if self.state.readsHeld {
                self.armStallTimer()
                return
            }
            self.shared.metrics?.refused(.stalledFrame)
            self.warnOnce("dropping a peer that stalled in the middle of a frame")
            self.context?.close(promise: nil)
        }
    }

    // MARK: Calls

    private func startCall(_ request: RequestHead) {
        let callID = request.callID
        switch state.admit(callID: callID, isHealthCheck: request.method.hasPrefix(Self.healthPrefix)) {
        case .admit:
            break
        case let .violation(what):
            protocolViolation(what)
            return
        case .refuseDraining:
            refuse(request, principal: "-", RPCError(.unavailable, "server is shutting down; send new calls to another connection"))
            return
        }
        guard let route = shared.routes[request.method] else {
            refuse(request, principal: "-", RPCError(.unimplemented, "unknown method \(request.method)"))
            return
        }
        let method = route.method
        let policy = method.descriptor.policy
        let authorization = request.metadataValue(MetadataKeys.authorization)
        var principal: Principal?
        var forwardedBy: Principal?
        if policy.requiresAuthentication {
            switch auth.authenticate(authorization) {
            case let .failure(error):
                // Who the refused credentials name, holding none of their roles.
                refuseAudited(request, principal: auth.claimedPrincipal(authorization).map { Principal(name: $0.name, roles: []) }, error)
                return
            case let .success(authenticated):
                var caller = authenticated
                if let onBehalfOf = request.metadataValue(ForwardedPrincipal.metadataKey) {
                    // A service passing a call on: the original caller's roles decide from here on.
                    guard caller.principal.isService else {
                        refuseAudited(request, principal: caller.principal, RPCError(.permissionDenied,
                               "\(caller.principal.name) may not call on behalf of another principal (\(ForwardedPrincipal.metadataKey)): only a service may"))
                        return
                    }
                    guard let original = ForwardedPrincipal.decode(onBehalfOf) else {
                        refuseAudited(request, principal: caller.principal,
                               RPCError.invalidArgument(field: ForwardedPrincipal.metadataKey, "does not decode as a principal"))
                        return
                    }
                    forwardedBy = caller.principal
                    caller.principal = original
                }
                let name = caller.principal.name
                guard policy.allows(caller.principal) else {
                    refuseAudited(request, principal: caller.principal,
                                  RPCError(.permissionDenied, "\(name) holds none of the roles \(policy.allowedRoles) that \(request.method) allows"))
                    return
                }
                // A forwarded call counts against the forwarding service, which admitted the caller already.
                if let limit = caller.rateLimit, !shared.credentials.limiter.admit(authenticated.principal.name, limit: limit) {
                    refuseAudited(request, principal: caller.principal, RPCError(.resourceExhausted,
                                  "\(authenticated.principal.name) exceeded its rate limit of \(limit.rateText) calls per second; retry later"))
                    return
                }
                principal = caller.principal
            }
        } else if authorization != nil || auth.peerCertificate != nil, case let .success(caller) = auth.authenticate(authorization) {
            principal = caller.principal
        }
        // Not executed: the service cannot answer from complete state yet.
        if !method.descriptor.servesWhileStarting, let starting = shared.readiness.notReadyReason {
            refuse(request, principal: principal?.name ?? "-", RPCError(.unavailable, "\(shared.serviceName) is starting (\(starting)); retry shortly"))
            return
        }

        let timeout: TimeAmount? = request.deadlineMs > 0 ? .milliseconds(Int64(request.deadlineMs)) : shared.configuration.defaultDeadline
        // One clock read serves the deadline, the log line's and the metrics' start.
        let now = NIODeadline.now()
        let deadline = timeout.map { now + $0 }
        let callContext = CallContext(
            method: request.method,
            callID: callID,
            principal: principal,
            metadata: request.metadata,
            deadline: deadline,
            remoteAddress: remoteAddress,
            peerCertificateSubject: auth.peerCertificate?.subject,
            forwardedBy: forwardedBy,
            baseLogger: logger
        )

        guard let context else { return }
        let loop = context.eventLoop
        // Head sampling decides first: only a sampled call gets a span; any other carries its trace on.
        let trace = CallTracing.serverTrace(shared.configuration.tracer, followsCallerSampling: shared.configuration.followsCallerSampling,
                                            method: request.method, metadata: request.metadata)
        // The log line names the call's trace: the caller's, or the one its span started.
        let record = logsCalls
            ? CallRecord(method: request.method, requestID: callContext.requestID, principal: principal?.name ?? "-", started: now,
                         traceID: trace.traceID)
            : nil
        var call = ActiveCall(task: nil, deadline: deadline, timeout: timeout, record: record, span: trace.span)
        if let metrics = shared.metrics {
            call.series = route.series
            call.started = now
            metrics.callStarted()
        }

        let handler = NIOLoopBound(self, eventLoop: loop)
        let sink: ResponseSink
        if method.descriptor.serverStreaming {
            sink = ResponseSink { payload in
                let wait = try await loop.onLoop { try handler.value.sendStreamMessages(callID, CollectionOfOne(payload)) }
                if let wait { try await wait.get() }
            } sendAll: { payloads in
                let wait = try await loop.onLoop { try handler.value.sendStreamMessages(callID, payloads) }
                if let wait { try await wait.get() }
            }
        } else {
            sink = ResponseSink.unused
        }
        let payload = Data(request.payload.readableBytesView)
        let invoke = method.invoke
        // A recorded call's handler runs inside its span (CallTracing); any other call that has a trace
        // runs as a span id of it, and the handler's outgoing calls carry it on.
        let preferred: any TaskExecutor = method.descriptor.offEventLoop ? globalConcurrentExecutor : executor
        let task = Task(executorPreference: preferred) {
            let outcome: Result<Data, any Error>
            do {
                switch trace {
                case let .recorded(span, tracer):
                    outcome = .success(try await withTracer(tracer) {
                        try await InstrumentationContext.$current.withValue(span.context) { try await invoke(payload, callContext, sink) }
                    })
                case let .propagated(context):
                    outcome = .success(try await TraceContext.$current.withValue(context) { try await invoke(payload, callContext, sink) })
                case .untraced:
                    outcome = .success(try await invoke(payload, callContext, sink))
                }
            } catch {
                outcome = .failure(error)
            }
            loop.runOnLoop { handler.value.callFinished(callID, outcome) }
        }
        // Recorded with its task: the task cannot end the call before this, since its result comes
        // back through this loop, which is busy here.
        call.task = task
        state.started(callID, call)
        if let deadline {
            armDeadlineTimer(for: deadline)
        }
    }

    private func callFinished(_ callID: UInt64, _ outcome: Result<Data, any Error>) {
        guard let call = state.finish(callID) else {
            return  // already answered: cancelled, timed out, or the connection went away
        }
        switch outcome {
        case let .success(payload):
            writeResponse(callID: callID, payload: payload, status: .ok)
            logFinished(call.record, code: .ok)
            count(call, .ok)
        case let .failure(error):
            let status = statusFor(error, callID: callID, requestID: call.record?.requestID)
            reply(callID, status)
            logFinished(call.record, code: status.code, message: status.message)
            count(call, status.code, message: status.message)
        }
        callSlotFreed()
    }

    /// One line per finished call (at the configured level and sampling): method, request id,
    /// trace id, principal, status, duration.
    private func logFinished(_ record: CallRecord?, code: StatusCode, message: String = "") {
        guard let record else { return }
        callsFinished &+= 1
        if code == .ok, callLogEvery > 1, callsFinished % callLogEvery != 0 { return }
        let millis = Double((NIODeadline.now() - record.started).nanoseconds) / 1_000_000
        var metadata: Logger.Metadata = [
            "method": "\(record.method)", "request-id": "\(record.requestID)", "principal": "\(record.principal)",
            "status": "\(code.canonicalName)", "duration-ms": "\(String(format: "%.3f", millis))",
        ]
        if !message.isEmpty { metadata["message"] = "\(message)" }
        if let traceID = record.traceID { metadata["trace-id"] = "\(traceID)" }
        logger.log(level: callLogLevel, "call finished", metadata: metadata)
    }

    /// The trace id of a W3C `traceparent`, or nil if it is not one (TraceContext's rules: the
    /// log names only traces the call carries on).
    static func traceID(_ traceparent: String?) -> String? {
        traceparent.flatMap { TraceContext(traceparent: $0)?.traceID }
    }

    /// Counts a call that ran (or was started) and has ended with `code`, and ends its span.
    private func count(_ call: ActiveCall, _ code: StatusCode, message: String = "") {
        if let span = call.span { CallTracing.end(span, code: code, message: message) }
        guard let series = call.series, let started = call.started else { return }
        series.finished(code, nanoseconds: (NIODeadline.now() - started).nanoseconds)
        shared.metrics?.callEnded()
    }

    /// Answers a call that is refused before it runs, and logs it like a finished one.
    private func refuse(_ request: RequestHead, principal: String, _ error: RPCError) {
        reply(request.callID, error)
        logRefused(request, principal: principal, error)
        if shared.metrics != nil {
            let series = shared.routes[request.method]?.series ?? shared.unknownMethod
            series?.finished(error.code, nanoseconds: nil)
        }
    }

    /// Refuses a call for who its caller is or may do (credentials, role, rate limit). On an
    /// audited method the refusal also goes to the audit trail, with the principal the credentials
    /// named (an expired token's; "-" when none) and the customers the request names: the answer
    /// waits for the record when the trail writes it at once, and goes at once when the trail
    /// counted it into a coalesced record (``CallAuditor/recordRefusal(_:)``). A record that cannot
    /// be written does not change the answer: a refusal discloses nothing.
    private func refuseAudited(_ request: RequestHead, principal: Principal?, _ error: RPCError) {
        let name = principal?.name ?? "-"
        guard let auditor = shared.router.auditor, let subjects = shared.router.refusalSubjects[request.method], let context else {
            refuse(request, principal: name, error)
            return
        }
        let call = AuditedCall(
            principal: name,
            roles: principal?.roles.sorted().joined(separator: ",") ?? "",
            peer: remoteAddress,
            certificateSubject: auth.peerCertificate?.subject ?? "",
            method: request.method,
            requestID: request.metadataValue(MetadataKeys.requestID) ?? "\(remoteAddress)#\(request.callID)",
            status: error.code,
            subjectIDs: subjects(Data(request.payload.readableBytesView))
        )
        guard let write = auditor.recordRefusal(call) else {
            refuse(request, principal: name, error)
            return
        }
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        Task(executorPreference: executor) {
            _ = await write.result
            loop.execute { handler.value.refuse(request, principal: name, error) }
        }
    }

    /// A call refused before it ran (unknown method, auth, draining, starting): logged like a
    /// finished call, at debug.
    private func logRefused(_ request: RequestHead, principal: String, _ error: RPCError) {
        guard logsCalls else { return }
        let requestID = request.metadataValue(MetadataKeys.requestID) ?? "\(remoteAddress)#\(request.callID)"
        logFinished(CallRecord(method: request.method, requestID: requestID, principal: principal, started: .now(),
                               traceID: Self.traceID(request.metadataValue(MetadataKeys.traceparent))), code: error.code, message: error.message)
    }

    /// A warning about this peer, unless its host has had its share of them this minute; the next
    /// one let through says how many were held back.
    private func warnOnce(_ message: @autoclosure () -> String) {
        let decision = shared.warnings.admit(host: remoteHost)
        guard decision.log else { return }
        if decision.suppressed > 0 {
            logger.warning("\(message()) (\(decision.suppressed) similar warnings about \(remoteHost) held back)")
        } else {
            logger.warning("\(message())")
        }
    }

    private func armDeadlineTimer(for deadline: NIODeadline) {
        guard let context else { return }
        deadlineTimer.arm(for: deadline, on: context.eventLoop) {
            self.deadlineTimer.fired()
            self.expireDueCalls()
        }
    }

    /// Answers DEADLINE_EXCEEDED for every call past its deadline and cancels its task, then arms
    /// the timer for the earliest deadline left.
    private func expireDueCalls() {
        let (expired, next) = state.expire()
        for (callID, call) in expired {
            call.task?.cancel()
            let millis = (call.timeout?.nanoseconds ?? 0) / 1_000_000
            let error = RPCError(.deadlineExceeded, "deadline of \(millis) ms exceeded")
            reply(callID, error)
            logFinished(call.record, code: error.code, message: error.message)
            count(call, error.code)
        }
        if let next {
            armDeadlineTimer(for: next)
        }
        if !expired.isEmpty {
            callSlotFreed()
        }
    }

    private func cancelCall(_ callID: UInt64) {
        switch state.cancel(callID) {
        case .waiting:
            reply(callID, RPCError(.cancelled, "cancelled by the client"))
        case let .running(call):
            call.task?.cancel()
            reply(callID, RPCError(.cancelled, "cancelled by the client"))
            logFinished(call.record, code: .cancelled, message: "cancelled by the client")
            count(call, .cancelled)
            callSlotFreed()
        case .unknown:
            break
        }
    }

    /// Sends messages of a streaming call (one, or a handler's batch: one trip to this loop and one
    /// flush for all). Returns a future to wait on when the socket's send buffer is full, so a fast
    /// producer is held back by a slow reader.
    private func sendStreamMessages(_ callID: UInt64, _ payloads: some Collection<Data>) throws -> EventLoopFuture<Void>? {
        guard state.isRunning(callID), let context else {
            throw RPCError(.cancelled, "the call has ended")
        }
        for payload in payloads {
            var frame = context.channel.allocator.buffer(capacity: payload.count + 32)
            do {
                try EnvelopeCodec.writeResponseFrame(into: &frame, callID: callID, payload: payload, status: nil, limits: shared.configuration.limits)
            } catch {
                // The handler learns it and ends the call with this status; the batch's earlier
                // messages were sent.
                throw RPCError(.resourceExhausted, "a streamed message does not fit in a frame: \(error)")
            }
            writeFrame(frame)
        }
        if context.channel.isWritable { return nil }
        let promise = context.eventLoop.makePromise(of: Void.self)
        writabilityWaiters.append(promise)
        flushNow()
        return promise.futureResult
    }

    private func callSlotFreed() {
        while let request = state.nextWaiting() {
            startCall(request)
        }
        if state.resumeReading() {
            context?.read()
        }
        if state.closesWhenIdle {
            flushNow()
            context?.close(promise: nil)
        }
    }

    private func statusFor(_ error: any Error, callID: UInt64, requestID: String?) -> RPCError {
        if let answer = RPCError.answering(error) {
            return answer
        }
        logger.error("handler failed with an unmapped error: \(String(reflecting: error))",
                     metadata: ["call-id": "\(callID)", "request-id": "\(requestID ?? "\(remoteAddress)#\(callID)")"])
        return RPCError(.internal, "internal error; the service's log has the details")
    }

    // MARK: Draining

    private func beginDrain() {
        guard let context, let drain = state.beginDrain() else { return }
        shared.metrics?.drains.increment()
        write(.goAway(lastCallID: drain.lastCallID, reason: "server shutting down"))
        flushNow()
        if drain.closeNow {
            context.close(promise: nil)
            return
        }
        graceTimer = context.eventLoop.assumeIsolated().scheduleTask(in: shared.configuration.shutdownGracePeriod) {
            self.abandonRemainingCalls()
        }
    }

    private func abandonRemainingCalls() {
        let (running, waiting) = state.abandonAll()
        for (callID, call) in running {
            call.task?.cancel()
            reply(callID, RPCError(.unavailable, "server shut down before the call finished"))
            count(call, .unavailable)
        }
        for request in waiting {
            reply(request.callID, RPCError(.unavailable, "server shut down before the call started"))
        }
        flushNow()
        context?.close(promise: nil)
    }

    // MARK: Writing

    private func reply(_ callID: UInt64, _ error: RPCError) {
        writeResponse(callID: callID, payload: Data(), status: error.status)
    }

    /// Queues a final response; one too large for a frame becomes RESOURCE_EXHAUSTED.
    private func writeResponse(callID: UInt64, payload: Data, status: WireStatus) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: payload.count + 16)
        do {
            try EnvelopeCodec.writeResponseFrame(into: &buffer, callID: callID, payload: payload, status: status, limits: shared.configuration.limits)
        } catch {
            let refusal = RPCError(.resourceExhausted, "the response does not fit in a frame: \(error)").status
            buffer.clear()
            // A bare status always fits.
            try? EnvelopeCodec.writeResponseFrame(into: &buffer, callID: callID, payload: Data(), status: refusal, limits: shared.configuration.limits)
        }
        writeFrame(buffer)
    }

    /// Queues one of the small control envelopes (pong, GoAway).
    private func write(_ envelope: Envelope) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 32)
        guard (try? buffer.writeFrame(envelope, limits: shared.configuration.limits)) != nil else { return }
        writeFrame(buffer)
    }

    /// Queues a frame and schedules a flush for the end of this loop turn, so the answers of many
    /// calls finishing together leave in one write.
    private func writeFrame(_ buffer: ByteBuffer) {
        guard let context else { return }
        if shared.metrics != nil { unpublishedSentBytes += buffer.readableBytes }
        context.write(wrapOutboundOut(buffer), promise: nil)
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.publishSentBytes()
            self.context?.flush()
        }
    }

    private func flushNow() {
        publishSentBytes()
        context?.flush()
    }

    private func writeAndClose(_ envelope: Envelope) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        _ = try? buffer.writeFrame(envelope, limits: shared.configuration.limits)
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            self.context?.close(promise: nil)
        }
    }

    private func protocolViolation(_ what: String, reason: RPCMetricNames.RefusalReason = .protocolViolation) {
        shared.metrics?.refused(reason)
        warnOnce("closing the connection: the peer sent \(what)")
        context?.close(promise: nil)
    }
}

extension EventLoop {
    /// Runs `body` on this loop and returns its result, without a hop when already there.
    func onLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if inEventLoop {
            return try body()
        }
        return try await submit(body).get()
    }
}
