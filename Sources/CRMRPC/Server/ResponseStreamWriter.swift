import Foundation
import SwiftProtobuf

/// Where a streaming handler's messages go: the transport's per-call sink.
struct ResponseSink: Sendable {
    /// Sends one encoded message; suspends while the connection is not writable (backpressure);
    /// throws CANCELLED once the call has ended (client cancel, deadline, disconnect).
    let send: @Sendable (Data) async throws -> Void

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
}
