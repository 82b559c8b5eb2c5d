import NIOCore

/// Sits on the server (listening) channel and stops accepting while `maxConnections` are open.
///
/// Accepting is a read on the listening socket, so holding back `read` leaves new connections
/// waiting in the kernel's backlog instead of being accepted and dropped.
final class ConnectionLimiter: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never

    private let maxConnections: Int
    private var open = 0
    private var readHeld = false
    private var context: ChannelHandlerContext?

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        open += 1
        let loop = context.eventLoop
        let limiter = NIOLoopBound(self, eventLoop: loop)
        child.closeFuture.whenComplete { _ in
            loop.execute { limiter.value.connectionClosed() }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if open >= maxConnections {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func connectionClosed() {
        open -= 1
        if readHeld, open < maxConnections, let context {
            readHeld = false
            context.read()
        }
    }
}
