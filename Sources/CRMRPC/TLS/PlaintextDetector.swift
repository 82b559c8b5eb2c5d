import NIOCore

/// First handler of a TLS connection: a TLS client's first byte is 0x16 (a handshake record). Any
/// other byte — a CRM frame sent without TLS starts with 0x00 — is refused with a clear reason
/// instead of BoringSSL's record-layer error, then the handler steps aside for good.
final class PlaintextDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let handshakeRecord: UInt8 = 0x16

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            context.fireChannelRead(data)
            return
        }
        if first == Self.handshakeRecord {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        let shown = buffer.getBytes(at: buffer.readerIndex, length: min(8, buffer.readableBytes)) ?? [first]
        context.fireErrorCaught(TLSRefusal.plaintext(shown))
        context.close(promise: nil)
    }
}
