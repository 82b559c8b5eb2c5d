import NIOCore
import SwiftProtobuf

/// Why a message could not be put on the wire.
public enum FrameEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    case frameTooLarge(length: Int, limit: Int)

    public var description: String {
        switch self {
        case let .frameTooLarge(length, limit):
            return "encoded envelope of \(length) bytes exceeds the limit of \(limit) bytes"
        }
    }
}

extension ByteBuffer {
    /// Appends one frame: the 4-byte big-endian length of `envelope`'s encoding, then the encoding.
    ///
    /// Nothing is written when the envelope is larger than the limit, so the stream stays aligned.
    @discardableResult
    public mutating func writeFrame(_ envelope: Envelope, limits: WireLimits = WireLimits()) throws -> Int {
        let body: [UInt8] = try envelope.serializedBytes()
        guard body.count <= limits.maxFrameLength else {
            throw FrameEncodingError.frameTooLarge(length: body.count, limit: limits.maxFrameLength)
        }
        self.reserveCapacity(minimumWritableBytes: WireLimits.prefixLength + body.count)
        var written = self.writeInteger(UInt32(body.count), endianness: .big)
        written += self.writeBytes(body)
        return written
    }
}

extension Envelope {
    /// Decodes one frame body. Throws `SwiftProtobuf.BinaryDecodingError` for bytes that are not an
    /// envelope; an envelope with no kind set decodes fine and is the receiver's to reject.
    public init(frameBody: ByteBuffer) throws {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 16
        self = try frameBody.withUnsafeReadableBytes { raw in
            try Envelope(serializedBytes: [UInt8](raw), options: options)
        }
    }
}
