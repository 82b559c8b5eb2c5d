import NIOCore

/// Why hand-decoding an envelope failed: the bytes are not valid protobuf for it.
public struct EnvelopeDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { "not a valid envelope: \(reason)" }
}

/// Reads protobuf's binary wire format (varints, tags, length-delimited fields) from a ByteBuffer
/// without copying: length-delimited values come back as slices.
struct ProtobufReader {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    var buffer: ByteBuffer

    var isAtEnd: Bool { buffer.readableBytes == 0 }

    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw EnvelopeDecodingError(reason: "truncated varint") }
            if shift == 63, byte > 1 { throw EnvelopeDecodingError(reason: "varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw EnvelopeDecodingError(reason: "varint longer than 10 bytes") }
        }
    }

    /// The next field's number and wire type.
    mutating func readTag() throws -> (field: UInt64, type: WireType) {
        let key = try readVarint()
        let field = key >> 3
        guard field > 0, field <= 536_870_911 else { throw EnvelopeDecodingError(reason: "field number \(field) out of range") }
        guard let type = WireType(rawValue: UInt8(key & 7)) else {
            throw EnvelopeDecodingError(reason: "unsupported wire type \(key & 7) for field \(field)")
        }
        return (field, type)
    }

    mutating func readLengthDelimited() throws -> ByteBuffer {
        let length = try readVarint()
        guard length <= UInt64(buffer.readableBytes), let slice = buffer.readSlice(length: Int(length)) else {
            throw EnvelopeDecodingError(reason: "length-delimited field runs past the end")
        }
        return slice
    }

    mutating func readString() throws -> String {
        let slice = try readLengthDelimited()
        guard let text = String(validating: slice.readableBytesView, as: UTF8.self) else {
            throw EnvelopeDecodingError(reason: "string field is not valid UTF-8")
        }
        return text
    }

    /// Skips a field this reader does not know (forward compatibility, as protobuf requires).
    mutating func skip(_ type: WireType) throws {
        switch type {
        case .varint: _ = try readVarint()
        case .fixed64: try skipBytes(8)
        case .fixed32: try skipBytes(4)
        case .lengthDelimited: _ = try readLengthDelimited()
        }
    }

    /// Reads a varint field, insisting on the varint wire type.
    mutating func readVarintField(_ type: WireType, field: UInt64) throws -> UInt64 {
        guard type == .varint else { throw EnvelopeDecodingError(reason: "field \(field) has wire type \(type.rawValue), expected varint") }
        return try readVarint()
    }

    mutating func readLengthDelimitedField(_ type: WireType, field: UInt64) throws -> ByteBuffer {
        guard type == .lengthDelimited else {
            throw EnvelopeDecodingError(reason: "field \(field) has wire type \(type.rawValue), expected length-delimited")
        }
        return try readLengthDelimited()
    }

    mutating func readStringField(_ type: WireType, field: UInt64) throws -> String {
        guard type == .lengthDelimited else {
            throw EnvelopeDecodingError(reason: "field \(field) has wire type \(type.rawValue), expected length-delimited")
        }
        return try readString()
    }

    private mutating func skipBytes(_ count: Int) throws {
        guard buffer.readableBytes >= count else { throw EnvelopeDecodingError(reason: "fixed-width field runs past the end") }
        buffer.moveReaderIndex(forwardBy: count)
    }
}

/// Writes protobuf's binary wire format. Sizes are computed first, so nested messages are written
/// in one pass without temporary buffers.
enum ProtobufWriter {
    static func varintSize(_ value: UInt64) -> Int {
        var value = value
        var size = 1
        while value >= 0x80 {
            value >>= 7
            size += 1
        }
        return size
    }

    static func writeVarint(_ value: UInt64, into buffer: inout ByteBuffer) {
        var value = value
        while value >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.writeInteger(UInt8(value))
    }

    static func writeTag(_ field: UInt64, _ type: ProtobufReader.WireType, into buffer: inout ByteBuffer) {
        writeVarint(field << 3 | UInt64(type.rawValue), into: &buffer)
    }

    /// Size of a varint field (tag + value), zero when the value is the default and so omitted.
    static func varintFieldSize(_ field: UInt64, _ value: UInt64) -> Int {
        value == 0 ? 0 : varintSize(field << 3) + varintSize(value)
    }

    /// Size of a length-delimited field of `length` bytes.
    static func delimitedFieldSize(_ field: UInt64, length: Int) -> Int {
        varintSize(field << 3) + varintSize(UInt64(length)) + length
    }

    static func writeVarintField(_ field: UInt64, _ value: UInt64, into buffer: inout ByteBuffer) {
        guard value != 0 else { return }
        writeTag(field, .varint, into: &buffer)
        writeVarint(value, into: &buffer)
    }

    static func writeDelimitedHeader(_ field: UInt64, length: Int, into buffer: inout ByteBuffer) {
        writeTag(field, .lengthDelimited, into: &buffer)
        writeVarint(UInt64(length), into: &buffer)
    }

    /// A string or bytes field; omitted when empty, as proto3 does.
    static func writeBytesField<Bytes: Collection>(_ field: UInt64, _ bytes: Bytes, into buffer: inout ByteBuffer) where Bytes.Element == UInt8 {
        guard !bytes.isEmpty else { return }
        writeDelimitedHeader(field, length: bytes.count, into: &buffer)
        buffer.writeBytes(bytes)
    }

    static func bytesFieldSize(_ field: UInt64, count: Int) -> Int {
        count == 0 ? 0 : delimitedFieldSize(field, length: count)
    }
}
