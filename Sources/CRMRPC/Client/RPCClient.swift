import Foundation
import Logging
import NIOCore
import NIOPosix
import SwiftProtobuf
import Synchronization
import Tracing

/// A client of one service: typed calls over one multiplexed connection per endpoint.
///
/// Calls go round robin over the endpoints (matching runs as replicas); an endpoint that cannot be
/// reached is ejected for a backoff period and the call moves on to the next. When every endpoint is
/// ejected the call waits for the earliest to come back, within its deadline — so a client rides
/// through a service's restart by itself (unless configured not to wait: ``ClientConfiguration/waitsForReady``). A call already sent when its connection drops fails
/// with UNAVAILABLE and is not retried: the runtime cannot know whether it took effect.
public final class RPCClient: Sendable {
    public let configuration: ClientConfiguration
    private let connections: [EndpointConnection]
    private let roundRobin = Atomic<Int>(0)
    private let callIDs = Atomic<UInt64>(0)
    private let allocator = ByteBufferAllocator()
    /// `authorization: Bearer <token>`, built once.
    private let authorization: MetadataEntry?

    public init(
        configuration: ClientConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "crm.rpc.client")
    ) {
        precondition(!configuration.endpoints.isEmpty, "a client needs at least one endpoint")
        self.configuration = configuration
        self.authorization = configuration.token.map { MetadataEntry(MetadataKeys.authorization, "Bearer \($0)") }
        self.connections = configuration.endpoints.map {
            EndpointConnection(endpoint: $0, group: group, configuration: configuration, logger: logger)
        }
    }

    public convenience init(endpoint: Endpoint, token: String? = nil) {
        self.init(configuration: ClientConfiguration(endpoints: [endpoint], token: token))
    }

    /// A new client with this one's configuration (credentials, security, deadlines, backoff) for
    /// `endpoint` alone: a process among several this client rotates over, reached on its own
    /// (one partition owner's feeds, one sibling replica). `waitsForReady` overrides the
    /// configuration's. The caller closes it.
    public func alone(at endpoint: Endpoint, waitsForReady: Bool? = nil) -> RPCClient {
        among([endpoint], waitsForReady: waitsForReady)
    }

    /// A new client for some of a peer's endpoints (round robin among them), with this client's
    /// security and token: one group of matching replicas out of every replica's list.
    public func among(_ endpoints: [Endpoint], waitsForReady: Bool? = nil) -> RPCClient {
        var configuration = self.configuration
        configuration.endpoints = endpoints
        if let waitsForReady { configuration.waitsForReady = waitsForReady }
        return RPCClient(configuration: configuration)
    }

    /// A new client with this one's configuration and connections of its own, whose streams hold
    /// at most `backlogLimit` bytes not yet taken per connection
    /// (``ClientConfiguration/streamBacklogLimit``): for a caller that reads large streams
    /// more slowly than the server writes them (a replica storing month-ends as they arrive),
    /// which would otherwise hold everything the server sent ahead of it. The caller closes it.
    public func forBulkStreams(backlogLimit: Int = 4 << 20) -> RPCClient {
        var configuration = self.configuration
        configuration.streamBacklogLimit = backlogLimit
        return RPCClient(configuration: configuration)
    }

    /// The bytes of streamed messages its connections hold for callers that have not taken them
    /// (0 for a client without ``ClientConfiguration/streamBacklogLimit``).
    var streamBacklogBytes: Int {
        connections.reduce(0) { $0 + ($1.backlog?.current ?? 0) }
    }

    /// Calls a unary method (a descriptor generated from the `.proto` file).
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) async throws -> Response {
        let path = method.path
        let payload = try encode(request, method: path)
        let data = try await unaryRaw(path, payload: payload, options: options)
        return try decodeResponse(Response.self, data, method: path)
    }

    /// Calls a unary method by its full name with an already-encoded request, returning the encoded
    /// response. `crmctl call` uses it for methods it only knows by name at run time.
    ///
    /// A call the server provably never ran (its connection was going away) is sent again on a
    /// fresh connection, up to three times in all; any other failure is the caller's to handle.
    ///
    /// Inside a traced call (a handler of a server with a tracer) the call is a client span, whose
    /// context travels in `traceparent` (Tracing/CallTracing.swift).
    public func unaryRaw(_ method: String, payload: Data, options: CallOptions = CallOptions()) async throws -> Data {
        guard let traced = CallTracing.startClientSpan(method: method, metadata: options.metadata) else {
            return try await unaryCounted(method, payload: payload, options: options)
        }
        var options = options
        options.metadata = traced.metadata
        do {
            let response = try await unaryCounted(method, payload: payload, options: options)
            CallTracing.end(traced.span, code: .ok)
            return response
        } catch {
            CallTracing.end(traced.span, code: Self.code(of: error), message: (error as? RPCError)?.message ?? "")
            throw error
        }
    }

    /// A unary call counted in the client's metrics, if it has any.
    private func unaryCounted(_ method: String, payload: Data, options: CallOptions) async throws -> Data {
        guard let metrics = configuration.metrics else {
            return try await unaryRetrying(method, payload: payload, options: options)
        }
        let series = metrics.series(method)
        let started = NIODeadline.now()
        do {
            let response = try await unaryRetrying(method, payload: payload, options: options, now: started)
            series.finished(.ok, nanoseconds: (NIODeadline.now() - started).nanoseconds)
            return response
        } catch {
            series.finished(Self.code(of: error), nanoseconds: (NIODeadline.now() - started).nanoseconds)
            throw error
        }
    }

    static func code(of error: any Error) -> StatusCode {
        (error as? RPCError)?.code ?? (error is CancellationError ? .cancelled : .unknown)
    }

    /// `now`: the clock already read for this call (the metrics' start), so it is read once.
    private func unaryRetrying(_ method: String, payload: Data, options: CallOptions, now: NIODeadline? = nil) async throws -> Data {
        let timeout = effectiveTimeout(options)
        let deadline = timeout.map { (now ?? .now()) + $0 }
        var attempt = 1
        while true {
            do {
                return try await unaryAttempt(method, payload: payload, deadline: deadline, options: options)
            } catch let notProcessed as NotProcessedError {
                guard attempt < 3 else { throw notProcessed.error }
                attempt += 1
            }
        }
    }

    private func unaryAttempt(_ method: String, payload: Data, deadline: NIODeadline?, options: CallOptions) async throws -> Data {
        let connection = try await readyConnection(deadline: deadline)
        let callID = callIDs.add(1, ordering: .relaxed).newValue
        let localTimeout = remaining(deadline)
        let frame = try makeFrame(callID: callID, method: method, payload: payload, timeout: localTimeout, options: options)
        let loop = connection.channel.eventLoop
        let promise = loop.makePromise(of: Data.self)
        let handler = connection.handler
        loop.runOnLoop {
            handler.value.start(callID: callID, frame: frame, call: .unary(promise), timeout: localTimeout)
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            loop.execute { handler.value.cancel(callID: callID) }
        }
    }

    /// Calls a server-streaming method; iterate the result for the messages. The sequence throws
    /// the call's status if it ends with anything but OK. Stopping the iteration cancels the call.
    public func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: ServerStreamingMethod<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) async throws -> ResponseStream<Response> {
        let path = method.path
        let raw = try await serverStreamingRaw(path, payload: try encode(request, method: path), options: options)
        return ResponseStream(raw: raw, method: path)
    }

    /// A server-streaming call with an already-encoded request; yields the encoded messages.
    public func serverStreamingRaw(_ method: String, payload: Data, options: CallOptions = CallOptions()) async throws -> AsyncThrowingStream<Data, any Error> {
        // Inside a traced call, a client span from the request to the stream's end.
        let traced = CallTracing.startClientSpan(method: method, metadata: options.metadata)
        var options = options
        if let traced { options.metadata = traced.metadata }
        let span = traced?.span
        let stream: AsyncThrowingStream<Data, any Error>
        do {
            stream = try await serverStreamingStarted(method, payload: payload, options: options, span: span)
        } catch {
            if let span { CallTracing.end(span, code: Self.code(of: error), message: (error as? RPCError)?.message ?? "") }
            throw error
        }
        return stream
    }

    private func serverStreamingStarted(_ method: String, payload: Data, options: CallOptions,
                                        span: (any Span)?) async throws -> AsyncThrowingStream<Data, any Error> {
        let timeout = effectiveTimeout(options)
        let deadline = timeout.map { NIODeadline.now() + $0 }
        let connection = try await readyConnection(deadline: deadline)
        let callID = callIDs.add(1, ordering: .relaxed).newValue
        let frame = try makeFrame(callID: callID, method: method, payload: payload, timeout: remaining(deadline), options: options)
        let loop = connection.channel.eventLoop
        let handler = connection.handler
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self, throwing: (any Error).self)
        // Counted when the stream ends: its status, and the time from the request to the end.
        let series = configuration.metrics?.series(method)
        let started = NIODeadline.now()
        continuation.onTermination = { termination in
            switch termination {
            case .cancelled:
                loop.execute { handler.value.cancel(callID: callID) }
                series?.finished(.cancelled, nanoseconds: (NIODeadline.now() - started).nanoseconds)
                if let span { CallTracing.end(span, code: .cancelled) }
            case let .finished(error):
                series?.finished(error.map(Self.code(of:)) ?? .ok, nanoseconds: (NIODeadline.now() - started).nanoseconds)
                if let span { CallTracing.end(span, code: error.map(Self.code(of:)) ?? .ok, message: (error as? RPCError)?.message ?? "") }
            @unknown default:
                break
            }
        }
        let localTimeout = remaining(deadline)
        let consumption = connection.backlog.map { backlog in
            StreamConsumption(backlog: backlog) { loop.execute { handler.value.resumeReading() } }
        }
        loop.runOnLoop {
            handler.value.start(callID: callID, frame: frame, call: .streaming(continuation, consumption), timeout: localTimeout)
        }
        guard let consumption else { return stream }
        // Each message taken is given back to the connection's backlog.
        let reader = ConsumingReader(base: stream.makeAsyncIterator(), consumption: consumption)
        return AsyncThrowingStream { try await reader.next() }
    }

    /// Round-trip time of a ping on the connection a call would use next.
    public func ping(timeout: TimeAmount = .seconds(5)) async throws -> Duration {
        let connection = try await readyConnection(deadline: .now() + timeout)
        let loop = connection.channel.eventLoop
        let promise = loop.makePromise(of: Void.self)
        let handler = connection.handler
        let opaque = callIDs.add(1, ordering: .relaxed).newValue
        let clock = ContinuousClock()
        let started = clock.now
        loop.runOnLoop { handler.value.ping(opaque: opaque, promise: promise) }
        try await promise.futureResult.get()
        return clock.now - started
    }

    /// Closes every connection. Calls in flight fail with UNAVAILABLE.
    public func close() async {
        for connection in connections {
            await connection.close()
        }
    }

    // MARK: Internals

    private func effectiveTimeout(_ options: CallOptions) -> TimeAmount? {
        switch options.timeout {
        case let .some(value): return value
        case .none: return configuration.defaultDeadline
        }
    }

    private func remaining(_ deadline: NIODeadline?) -> TimeAmount? {
        guard let deadline else { return nil }
        return max(deadline - .now(), .milliseconds(1))
    }

    /// Picks the next endpoint round robin, skipping ejected ones; if all are ejected, waits for the
    /// first to come back, as long as the deadline allows.
    private func readyConnection(deadline: NIODeadline?) async throws -> EndpointConnection.Ready {
        let count = connections.count
        var lastError: (any Error)?
        while true {
            let start = roundRobin.add(1, ordering: .relaxed).oldValue
            var earliestReturn: NIODeadline?
            var refusal: RPCError?
            for offset in 0..<count {
                let connection = connections[(start &+ offset) % count]
                if let until = connection.ejectedUntil {
                    earliestReturn = min(earliestReturn ?? until, until)
                    continue
                }
                do {
                    return try await connection.ready()
                } catch let refused as ConnectRefused {
                    refusal = refused.error
                    lastError = refused.error
                } catch {
                    lastError = error
                    if let until = connection.ejectedUntil {
                        earliestReturn = min(earliestReturn ?? until, until)
                    }
                }
            }
            if let refusal { throw refusal }
            guard configuration.waitsForReady else {
                let reason = lastError.map { "\($0)" } ?? "every endpoint is backing off after a failed connect"
                throw RPCError(.unavailable, "no endpoint of \(configuration.endpoints) reachable now: \(reason)")
            }
            try Task.checkCancellation()
            let resume = earliestReturn ?? (.now() + configuration.initialBackoff)
            if let deadline, resume >= deadline {
                let reason = lastError.map { "\($0)" } ?? "every endpoint is backing off"
                throw RPCError(.unavailable, "no endpoint of \(configuration.endpoints) reachable before the deadline: \(reason)")
            }
            let wait = max(resume - .now(), .milliseconds(1))
            try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds))
        }
    }

    private func makeFrame(callID: UInt64, method: String, payload: Data, timeout: TimeAmount?, options: CallOptions) throws -> ByteBuffer {
        var deadlineMs: UInt32 = 0
        if let timeout {
            deadlineMs = UInt32(clamping: max(1, timeout.nanoseconds / 1_000_000))
        }
        var metadata = options.metadata
        if let authorization, !metadata.contains(where: { $0.key == MetadataKeys.authorization }) {
            metadata.append(authorization)
        }
        // Inside a traced call (or a caller's trace), the next hop is a child of the current span.
        if let trace = TraceContext.current, !metadata.contains(where: { $0.key == MetadataKeys.traceparent }) {
            metadata.append(MetadataEntry(MetadataKeys.traceparent, trace.traceparent))
        }
        var buffer = allocator.buffer(capacity: payload.count + method.utf8.count + 96)
        do {
            try EnvelopeCodec.writeRequestFrame(
                into: &buffer, callID: callID, method: method, deadlineMs: deadlineMs,
                metadata: metadata, payload: payload, limits: configuration.limits
            )
        } catch {
            throw RPCError(.resourceExhausted, "the request to \(method) does not fit in a frame: \(error)")
        }
        return buffer
    }

    private func encode<Request: SwiftProtobuf.Message>(_ request: Request, method: String) throws -> Data {
        do {
            return try request.serializedData()
        } catch {
            throw RPCError(.invalidArgument, "the request to \(method) cannot be encoded: \(error)")
        }
    }
}

func decodeResponse<Response: SwiftProtobuf.Message>(_ type: Response.Type, _ data: Data, method: String) throws -> Response {
    do {
        return try Response(serializedBytes: data)
    } catch {
        throw RPCError(.internal, "the response of \(method) does not decode as \(Response.protoMessageName): \(error)")
    }
}

/// A bounded stream's messages as its caller takes them, each counted off the connection's backlog.
/// Iterated by one task (the caller's, through the stream that wraps it), hence unchecked.
private final class ConsumingReader: @unchecked Sendable {
    private var base: AsyncThrowingStream<Data, any Error>.AsyncIterator
    private let consumption: StreamConsumption

    init(base: AsyncThrowingStream<Data, any Error>.AsyncIterator, consumption: StreamConsumption) {
        self.base = base
        self.consumption = consumption
    }

    func next() async throws -> Data? {
        guard let message = try await base.next() else { return nil }
        consumption.taken(message.count)
        return message
    }
}

/// The messages of a server-streaming call, decoded as they arrive.
public struct ResponseStream<Response: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    public typealias Element = Response
    let raw: AsyncThrowingStream<Data, any Error>
    let method: String

    public struct AsyncIterator: AsyncIteratorProtocol {
        var raw: AsyncThrowingStream<Data, any Error>.AsyncIterator
        let method: String

        public mutating func next() async throws -> Response? {
            guard let data = try await raw.next() else { return nil }
            return try decodeResponse(Response.self, data, method: method)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(raw: raw.makeAsyncIterator(), method: method)
    }

    /// Collects every message (for small streams).
    public func collect() async throws -> [Response] {
        var all: [Response] = []
        for try await message in self { all.append(message) }
        return all
    }
}
