import NIOCore

/// Splits a byte stream into frame bodies: a 4-byte big-endian length, then that many bytes.
///
/// Unlike NIO's `LengthFieldBasedFrameDecoder`, it refuses an announced length above the limit as
/// soon as the prefix arrives, before buffering any of the body. Each emitted `ByteBuffer` is a slice
/// of the cumulation buffer (no copy) holding exactly one envelope's bytes; an empty body is a valid
/// frame (it decodes as an envelope with no kind set, which the receiver rejects).
///
/// It also tells the pipeline whether a frame is half-read (``FrameDecoderEvent``), which the RPC
/// runtime uses to drop peers that stall mid-frame.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer

    public let limits: WireLimits
    private var insidePartialFrame = false

    public init(limits: WireLimits = WireLimits()) {
        self.limits = limits
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let body = try Self.readFrame(from: &buffer, limits: limits) else {
            self.notePartialFrame(buffer.readableBytes > 0, context: context)
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(body))
        if buffer.readableBytes == 0 {
            self.notePartialFrame(false, context: context)
        }
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let body = try Self.readFrame(from: &buffer, limits: limits) {
            context.fireChannelRead(Self.wrapInboundOut(body))
        }
        if buffer.readableBytes > 0 {
            let buffered = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: buffered)
            throw FrameError.truncatedFrame(bufferedBytes: buffered)
        }
        return .needMoreData
    }

    /// Reads one whole frame body from `buffer`, or returns nil (consuming nothing) if it is not all
    /// there yet. Throws as soon as the prefix announces too many bytes.
    public static func readFrame(from buffer: inout ByteBuffer, limits: WireLimits) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        guard Int(length) <= limits.maxFrameLength else {
            throw FrameError.frameTooLarge(announced: length, limit: limits.maxFrameLength)
        }
        guard buffer.readableBytes >= WireLimits.prefixLength + Int(length) else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: WireLimits.prefixLength)
        return buffer.readSlice(length: Int(length))
    }

    private mutating func notePartialFrame(_ partial: Bool, context: ChannelHandlerContext) {
        guard partial != insidePartialFrame else { return }
        insidePartialFrame = partial
        context.fireUserInboundEventTriggered(partial ? FrameDecoderEvent.partialFrameBuffered : .frameBoundary)
    }
}

/// Fired by ``FrameDecoder`` when the stream enters or leaves the middle of a frame.
public enum FrameDecoderEvent: Sendable, Hashable {
    /// Bytes of an unfinished frame are buffered: the peer owes us the rest.
    case partialFrameBuffered
    /// Everything received so far formed whole frames.
    case frameBoundary
}
