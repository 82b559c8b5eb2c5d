/// The binary container both model kinds serialize into.
///
/// Every integer and float is little-endian, whatever the host, so a model trained on one machine
/// scores identically on another. Layout:
///
/// ```
/// offset  size  field
/// 0       4     magic: "CRPG" (gradient-boosted trees) or "CRPL" (logistic regression)
/// 4       2     format version (UInt16), currently 1
/// 6       2     reserved flags (UInt16), 0
/// 8       n     body: the model kind's fields (see `BoostedTreesModel` / `LogisticRegression`)
/// 8+n     4     CRC-32 (IEEE, reflected 0xEDB88320) of bytes 0..<8+n
/// ```
///
/// Strings are a UInt32 byte count and UTF-8 bytes. Counts are checked against the bytes that are
/// left before anything is allocated, so a hostile count cannot make the reader allocate gigabytes;
/// the checksum makes a flipped bit an error instead of a silently different model.
enum ModelFormat {
    static let boostedTreesMagic: [UInt8] = Array("CRPG".utf8)
    static let logisticMagic: [UInt8] = Array("CRPL".utf8)
    static let currentVersion: UInt16 = 1

    /// Writes the header, lets `body` add the fields, and appends the checksum.
    static func encode(magic: [UInt8], body: (inout ByteWriter) -> Void) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes.append(contentsOf: magic)
        writer.write(currentVersion)
        writer.write(UInt16(0))
        body(&writer)
        let checksum = CRC32.checksum(writer.bytes[...])
        writer.write(checksum)
        return writer.bytes
    }

    /// Checks the header and checksum and returns a reader positioned at the body (which excludes
    /// the checksum, so reading past the body fails instead of reading the checksum as data).
    static func openBody(_ bytes: [UInt8], magic: [UInt8], kind: String) throws(PropensityError) -> ByteReader {
        guard bytes.count >= 12 else {
            throw PropensityError(.malformedModel, "\(bytes.count) bytes is shorter than the 12-byte header and checksum")
        }
        guard Array(bytes[0..<4]) == magic else {
            throw PropensityError(.unsupportedFormat, "not a serialized \(kind) (magic \(Array(bytes[0..<4])))")
        }
        let bodyEnd = bytes.count - 4
        var trailer = ByteReader(bytes[bodyEnd...])
        let stored = try trailer.readUInt32()
        let computed = CRC32.checksum(bytes[0..<bodyEnd])
        guard stored == computed else {
            throw PropensityError(.malformedModel, "checksum mismatch (stored \(stored), computed \(computed)): the bytes are truncated or corrupted")
        }
        var reader = ByteReader(bytes[4..<bodyEnd])
        let version = try reader.readUInt16()
        guard version == currentVersion else {
            throw PropensityError(.unsupportedFormat, "\(kind) format version \(version); this build reads version \(currentVersion)")
        }
        let flags = try reader.readUInt16()
        guard flags == 0 else {
            throw PropensityError(.unsupportedFormat, "unknown format flags \(flags)")
        }
        return reader
    }
}

/// Appends little-endian fields to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func write(_ value: UInt8) { bytes.append(value) }

    mutating func write(_ value: UInt16) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: Int32) { write(UInt32(bitPattern: value)) }

    mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: Float) { write(value.bitPattern) }

    mutating func write(_ value: Double) { write(value.bitPattern) }

    /// A count that the format stores as UInt32; models never approach 4 G entries.
    mutating func writeCount(_ count: Int) { write(UInt32(clamping: count)) }

    mutating func write(_ string: String) {
        let utf8 = Array(string.utf8)
        writeCount(utf8.count)
        bytes.append(contentsOf: utf8)
    }
}

/// Reads little-endian fields from a byte slice; every read checks what is left and throws
/// `.malformedModel` rather than trapping.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }

    private mutating func take(_ count: Int) throws(PropensityError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw PropensityError(.malformedModel, "needed \(count) more bytes at offset \(position), \(remaining) left")
        }
        let slice = bytes[position..<position + count]
        position += count
        return slice
    }

    private mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type) throws(PropensityError) -> T {
        let slice = try take(MemoryLayout<T>.size)
        var value: T = 0
        for (shift, byte) in slice.enumerated() {
            value |= T(byte) << (8 * shift)
        }
        return value
    }

    mutating func readUInt8() throws(PropensityError) -> UInt8 { try readLittleEndian(UInt8.self) }
    mutating func readUInt16() throws(PropensityError) -> UInt16 { try readLittleEndian(UInt16.self) }
    mutating func readUInt32() throws(PropensityError) -> UInt32 { try readLittleEndian(UInt32.self) }
    mutating func readInt32() throws(PropensityError) -> Int32 { Int32(bitPattern: try readUInt32()) }
    mutating func readUInt64() throws(PropensityError) -> UInt64 { try readLittleEndian(UInt64.self) }
    mutating func readFloat() throws(PropensityError) -> Float { Float(bitPattern: try readUInt32()) }
    mutating func readDouble() throws(PropensityError) -> Double { Double(bitPattern: try readUInt64()) }

    /// A count of entries that each take at least `minimumEntrySize` bytes; refused when the bytes
    /// left cannot hold that many, so a corrupted count never triggers a huge allocation.
    mutating func readCount(minimumEntrySize: Int, what: String) throws(PropensityError) -> Int {
        let count = Int(try readUInt32())
        guard count <= remaining / max(minimumEntrySize, 1) else {
            throw PropensityError(.malformedModel, "\(what) count \(count) does not fit in the \(remaining) bytes left")
        }
        return count
    }

    mutating func readString(what: String) throws(PropensityError) -> String {
        let count = try readCount(minimumEntrySize: 1, what: what)
        let utf8 = try take(count)
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw PropensityError(.malformedModel, "\(what) is not valid UTF-8")
        }
        return string
    }

    func expectEnd(kind: String) throws(PropensityError) {
        guard remaining == 0 else {
            throw PropensityError(.malformedModel, "\(remaining) unexpected bytes after the \(kind) body")
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib and PNG compute it.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
        }
        return crc
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
