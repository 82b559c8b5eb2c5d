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

    /// Sends one message. Suspends while the peer is slow to read, so a stream never queues without
    /// bound; throws once the call is over, so the handler stops producing.
    public func write(_ message: Response) async throws {
        try await sink.send(try message.serializedData())
    }
}
