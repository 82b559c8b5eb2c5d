import NIOCore
import NIOSSL
import NIOTLS

/// Sits behind a client connection's `NIOSSLClientHandler` until the handshake ends and completes
/// `done` then: a connection counts as made only once TLS is up, so a refused certificate fails the
/// connect (the endpoint backs off) with the reason, not the first call with "connection closed".
final class TLSClientHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let done: EventLoopPromise<Void>
    private let endpoint: Endpoint
    private var finished = false

    init(endpoint: Endpoint, done: EventLoopPromise<Void>) {
        self.endpoint = endpoint
        self.done = done
    }

    /// Succeeds when the handshake does, fails with the reason when it does not.
    var handshakeDone: EventLoopFuture<Void> { done.futureResult }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        guard case TLSUserEvent.handshakeCompleted = event else { return }
        finish(.success(()))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate
        let reason = TLSRefusal(error, peerCertificate: certificate).map(\.description) ?? "TLS handshake failed: \(error)"
        finish(.failure(RPCError(.unavailable, "\(endpoint): \(reason)")))
        context.close(promise: nil)
    }

    /// Also when the connect itself failed: the channel never became active, and the promise
    /// must not be left behind.
    func handlerRemoved(context: ChannelHandlerContext) {
        finish(.failure(RPCError(.unavailable, "\(endpoint): the connection ended before the TLS handshake")))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(RPCError(.unavailable, "\(endpoint) closed the connection during the TLS handshake")))
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !finished else { return }
        finished = true
        done.completeWith(result)
    }
}
