import CRMRPC
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A TLS peer that speaks frames by hand: to keep one connection open across a reload (SIGHUP)
/// and see it still answer, and to read what the handshake settled (ALPN, the server's certificate).
public struct TLSFramePeer: Sendable {
    public let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    public let negotiatedProtocol: String?
    /// The serial number of the certificate the server presented.
    public let serverSerial: [UInt8]

    /// Records the handshake's outcome.
    private final class HandshakeRecorder: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let done: EventLoopPromise<String?>
        private var finished = false

        init(done: EventLoopPromise<String?>) { self.done = done }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case let TLSUserEvent.handshakeCompleted(negotiatedProtocol) = event { finish(.success(negotiatedProtocol)) }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            finish(.failure(error))
            context.fireErrorCaught(error)
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(.failure(ChannelError.eof))
            context.fireChannelInactive()
        }

        /// Also when the connect failed and the channel never became active.
        func handlerRemoved(context: ChannelHandlerContext) {
            finish(.failure(ChannelError.eof))
        }

        private func finish(_ result: Result<String?, any Error>) {
            guard !finished else { return }
            finished = true
            done.completeWith(result)
        }
    }

    /// Connects to 127.0.0.1:`port` trusting the CA in `trustRoots`, offering ALPN crm/1.
    public static func connect(port: Int, trustRoots: String) async throws -> TLSFramePeer {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.applicationProtocols = [TLSProtocol.alpn]
        configuration.trustRoots = .file(trustRoots)
        let context = try NIOSSLContext(configuration: configuration)
        let (channel, handshake) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let done = channel.eventLoop.makePromise(of: String?.self)
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(HandshakeRecorder(done: done))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    return (try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel), done.futureResult)
                }
            }
        let negotiated = try await handshake.get()
        let serial = try await channel.channel.eventLoop.submit {
            try channel.channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate?.serialNumber ?? []
        }.get()
        return TLSFramePeer(channel: channel, negotiatedProtocol: negotiated, serverSerial: serial)
    }

    /// Closes the connection with its writer finished first. Closing the channel alone leaves the
    /// writer's end to the channel's going inactive, which may come after the writer is released:
    /// NIO stops the process for a writer released unfinished (seen in ReloadTests' probes).
    public func close() async throws {
        try await channel.executeThenClose { _, _ in }
    }

    /// The frame of a unary request carrying `token`.
    public static func request(_ id: UInt64, _ method: String, token: String, payload: Data = Data()) throws -> ByteBuffer {
        var request = WireRequest()
        request.callID = id
        request.method = method
        request.metadata = [MetadataEntry("authorization", "Bearer \(token)")]
        request.payload = payload
        var buffer = ByteBuffer()
        try buffer.writeFrame(.request(request))
        return buffer
    }
}
