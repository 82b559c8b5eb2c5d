import NIOCore
import NIOSSL
import NIOTLS

/// Told to the connection handler once the TLS handshake is done: the verified client
/// certificate's identity, or nil when the client presented none.
struct PeerCertificateEvent {
    var identity: PeerCertificateIdentity?
}

/// Sits behind a server connection's `NIOSSLServerHandler` until the handshake ends: bounds the
/// handshake in time, passes the verified client certificate on as a ``PeerCertificateEvent``, and
/// turns a failed handshake into a ``TLSRefusal`` the connection handler logs. Then steps aside, so
/// calls never pass through it.
final class TLSServerPeerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let handshakeTimeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(handshakeTimeout: TimeAmount) {
        self.handshakeTimeout = handshakeTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let seconds = handshakeTimeout.nanoseconds / 1_000_000_000
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
            context.fireErrorCaught(TLSRefusal.handshakeTimedOut(after: seconds))
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        timer?.cancel()
        timer = nil
        let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
        context.fireUserInboundEventTriggered(PeerCertificateEvent(identity: certificate.flatMap { try? PeerCertificateIdentity($0) }))
        context.fireUserInboundEventTriggered(event)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
        context.fireErrorCaught(TLSRefusal(error, peerCertificate: certificate) ?? error)
    }
}
