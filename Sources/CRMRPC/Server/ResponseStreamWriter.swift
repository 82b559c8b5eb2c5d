import Foundation
import SwiftProtobuf

/// Where a streaming handler's messages go: the transport's per-call sink. Public for streaming
/// interceptors (``Router/intercept(streaming:_:)``), which pass encoded messages through.
public struct ResponseSink: Sendable {
    /// Sends one encoded message; suspends while the connection is not writable (backpressure);
    /// throws CANCELLED once the call has ended (client cancel, deadline, disconnect).
    public let send: @Sendable (Data) async throws -> Void
    /// Sends several encoded messages in order with one trip to the connection's event loop (and
    /// one flush), with the same backpressure and cancellation as `send`.
    public let sendAll: @Sendable ([Data]) async throws -> Void

    public init(send: @escaping @Sendable (Data) async throws -> Void, sendAll: (@Sendable ([Data]) async throws -> Void)? = nil) {
        self.send = send
        self.sendAll = sendAll ?? { payloads in
            for payload in payloads { try await send(payload) }
        }
    }

    /// What unary calls get: they never stream.
    static let unused = ResponseSink { _ in throw RPCError(.internal, "a unary handler cannot stream") }
}

/// Writes the messages of a server-streaming call, in order, before the final status.
public struct ResponseStreamWriter<Response: SwiftProtobuf.Message>: Sendable {
    let sink: ResponseSink
    /// Masks the personal data the caller may not see (``PrivacyPolicy``), message by message.
    var mask: (@Sendable (inout Response) -> Void)? = nil

    /// Sends one message. Suspends while the peer is slow to read, so a stream never queues without
    /// bound; throws once the call is over, so the handler stops producing.
    public func write(_ message: Response) async throws {
        guard let mask else {
            try await sink.send(try message.serializedData())
            return
        }
        var masked = message
        mask(&masked)
        try await sink.send(try masked.serializedData())
    }

    /// Sends several messages in order, as `write` would one by one, but with one trip to the
    /// connection's event loop for all of them: a handler that produces many small messages off
    /// the event loop (StreamDimensionsAsOf: hundreds of thousands) otherwise pays two thread
    /// wake-ups and a socket write per message. Keep a batch small (tens of messages), since
    /// backpressure applies between batches.
    public func write(contentsOf messages: [Response]) async throws {
        guard messages.count > 1 else {
            if let message = messages.first { try await write(message) }
            return
        }
        let payloads = try messages.map { message -> Data in
            guard let mask else { return try message.serializedData() }
            var masked = message
            mask(&masked)
            return try masked.serializedData()
        }
        try await sink.sendAll(payloads)
    }
}
