/// A cursor over one protobuf message's binary form in memory (`buffer[from..<to]`): tags,
/// varints, fixed-width and length-delimited values, nested messages as cursors of their own.
///
/// For reading a few fields of a message straight from its bytes without decoding the whole of it
/// — matching's month-end snapshot rows, profiles' routing of ingestion batches. Malformed bytes
/// (a value running past the message's end, a varint over ten bytes, a group or an unknown wire
/// type) throw ``Malformed``; nothing is guessed. ``ProtobufReader`` is the envelope's reader, over
/// a ByteBuffer.
public struct WireCursor {
    /// The bytes are not a well-formed message.
    public struct Malformed: Error, Hashable, Sendable {}

    public let buffer: UnsafeRawBufferPointer
    /// Where the next field starts.
    public private(set) var offset: Int
    public let end: Int

    public init(buffer: UnsafeRawBufferPointer, from: Int, to end: Int) {
        self.buffer = buffer
        offset = from
        self.end = end
    }

    public var atEnd: Bool { offset >= end }

    public mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end, shift < 64 else { throw Malformed() }
            let byte = buffer[offset]
            offset += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// The next field's number and wire type (the number as written: 0 is the caller's to refuse).
    public mutating func tag() throws -> (field: UInt64, type: UInt64) {
        let key = try varint()
        return (key >> 3, key & 7)
    }

    public mutating func fixed64() throws -> UInt64 {
        guard offset + 8 <= end else { throw Malformed() }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(buffer[offset + index]) << (8 * UInt64(index)) }
        offset += 8
        return value
    }

    /// The next length-delimited value's extent, and moves past it.
    public mutating func lengthDelimited() throws -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - offset) else { throw Malformed() }
        let start = offset
        offset += Int(length)
        return start..<offset
    }

    /// The next length-delimited value as a message of its own.
    public mutating func nested() throws -> WireCursor {
        let range = try lengthDelimited()
        return WireCursor(buffer: buffer, from: range.lowerBound, to: range.upperBound)
    }

    public mutating func string() throws -> String {
        let range = try lengthDelimited()
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range]), as: UTF8.self)
    }

    public mutating func withString<T>(_ body: (String) -> T) throws -> T {
        body(try string())
    }

    /// Steps over a value of wire type `type` (0, 1, 2 or 5; anything else is malformed).
    public mutating func skip(_ type: UInt64) throws {
        switch type {
        case 0: _ = try varint()
        case 1:
            guard offset + 8 <= end else { throw Malformed() }
            offset += 8
        case 2: _ = try lengthDelimited()
        case 5:
            guard offset + 4 <= end else { throw Malformed() }
            offset += 4
        default: throw Malformed()
        }
    }
}
