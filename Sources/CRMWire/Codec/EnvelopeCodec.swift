import Foundation
import NIOCore

/// The head of a request as the server reads it: the payload stays a slice of the frame.
public struct RequestHead: Sendable {
    public var callID: UInt64 = 0
    public var method: String = ""
    public var deadlineMs: UInt32 = 0
    public var metadata: [MetadataEntry] = []
    public var payload = ByteBuffer()

    public init() {}

    /// The first value of `key` (keys are lower-case).
    public func metadataValue(_ key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }
}

/// A response as the client reads it: the payload stays a slice of the frame.
public struct ResponseHead: Sendable {
    public var callID: UInt64 = 0
    public var payload = ByteBuffer()
    public var endOfStream = false
    /// nil when the frame carried no status (a streamed message). A final frame without one means OK.
    public var status: WireStatus?

    public init() {}
}

/// One decoded frame, as the hot paths of server and client see it.
public enum InboundEnvelope: Sendable {
    case request(RequestHead)
    case response(ResponseHead)
    case cancel(callID: UInt64)
    case ping(UInt64)
    case pong(UInt64)
    case goAway(lastCallID: UInt64, reason: String)
    /// No kind set: an empty envelope, which no peer may send.
    case none
}

/// Hand-written encoding and decoding of the envelope, byte-for-byte the same wire format as the
/// code generated from envelope.proto (a test holds the two to that), without the generated
/// types' heap storage and copies: on the RPC hot path every frame passes through here twice.
///
/// Decoding follows protobuf's rules: unknown fields are skipped, the last of several `kind`
/// fields wins (a repeated same-kind field merges), strings must be valid UTF-8.
public enum EnvelopeCodec {
    // Envelope field numbers.
    private static let requestField: UInt64 = 1
    private static let responseField: UInt64 = 2
    private static let cancelField: UInt64 = 3
    private static let pingField: UInt64 = 4
    private static let pongField: UInt64 = 5
    private static let goAwayField: UInt64 = 6

    // MARK: Decoding

    public static func decode(_ frameBody: ByteBuffer) throws -> InboundEnvelope {
        var reader = ProtobufReader(buffer: frameBody)
        var result = InboundEnvelope.none
        while !reader.isAtEnd {
            let (field, type) = try reader.readTag()
            switch field {
            case requestField:
                var head = RequestHead()
                if case let .request(existing) = result { head = existing }
                try decodeRequest(reader.readLengthDelimitedField(type, field: field), into: &head)
                result = .request(head)
            case responseField:
                var head = ResponseHead()
                if case let .response(existing) = result { head = existing }
                try decodeResponse(reader.readLengthDelimitedField(type, field: field), into: &head)
                result = .response(head)
            case cancelField:
                var callID: UInt64 = 0
                if case let .cancel(existing) = result { callID = existing }
                result = .cancel(callID: try decodeSingleVarint(reader.readLengthDelimitedField(type, field: field), initial: callID))
            case pingField:
                var opaque: UInt64 = 0
                if case let .ping(existing) = result { opaque = existing }
                result = .ping(try decodeSingleVarint(reader.readLengthDelimitedField(type, field: field), initial: opaque))
            case pongField:
                var opaque: UInt64 = 0
                if case let .pong(existing) = result { opaque = existing }
                result = .pong(try decodeSingleVarint(reader.readLengthDelimitedField(type, field: field), initial: opaque))
            case goAwayField:
                var last: UInt64 = 0
                var reason = ""
                if case let .goAway(existingLast, existingReason) = result {
                    last = existingLast
                    reason = existingReason
                }
                var sub = ProtobufReader(buffer: try reader.readLengthDelimitedField(type, field: field))
                while !sub.isAtEnd {
                    let (subField, subType) = try sub.readTag()
                    switch subField {
                    case 1: last = try sub.readVarintField(subType, field: subField)
                    case 2: reason = try sub.readStringField(subType, field: subField)
                    default: try sub.skip(subType)
                    }
                }
                result = .goAway(lastCallID: last, reason: reason)
            default:
                try reader.skip(type)
            }
        }
        return result
    }

    private static func decodeRequest(_ bytes: ByteBuffer, into head: inout RequestHead) throws {
        var reader = ProtobufReader(buffer: bytes)
        while !reader.isAtEnd {
            let (field, type) = try reader.readTag()
            switch field {
            case 1: head.callID = try reader.readVarintField(type, field: field)
            case 2: head.method = try reader.readStringField(type, field: field)
            case 3: head.deadlineMs = UInt32(truncatingIfNeeded: try reader.readVarintField(type, field: field))
            case 4:
                var entry = MetadataEntry()
                var sub = ProtobufReader(buffer: try reader.readLengthDelimitedField(type, field: field))
                while !sub.isAtEnd {
                    let (subField, subType) = try sub.readTag()
                    switch subField {
                    case 1: entry.key = try sub.readStringField(subType, field: subField)
                    case 2: entry.value = try sub.readStringField(subType, field: subField)
                    default: try sub.skip(subType)
                    }
                }
                // Room for the usual few (authorization, traceparent, a forwarded principal) at the
                // first: growing from one to two entries cost a second allocation and a copy per call.
                if head.metadata.isEmpty { head.metadata.reserveCapacity(4) }
                head.metadata.append(entry)
            case 5: head.payload = try reader.readLengthDelimitedField(type, field: field)
            default: try reader.skip(type)
            }
        }
    }

    private static func decodeResponse(_ bytes: ByteBuffer, into head: inout ResponseHead) throws {
        var reader = ProtobufReader(buffer: bytes)
        while !reader.isAtEnd {
            let (field, type) = try reader.readTag()
            switch field {
            case 1: head.callID = try reader.readVarintField(type, field: field)
            case 2: head.payload = try reader.readLengthDelimitedField(type, field: field)
            case 3: head.endOfStream = try reader.readVarintField(type, field: field) != 0
            case 4:
                var status = head.status ?? WireStatus()
                try decodeStatus(reader.readLengthDelimitedField(type, field: field), into: &status)
                head.status = status
            default: try reader.skip(type)
            }
        }
    }

    private static func decodeStatus(_ bytes: ByteBuffer, into status: inout WireStatus) throws {
        var reader = ProtobufReader(buffer: bytes)
        while !reader.isAtEnd {
            let (field, type) = try reader.readTag()
            switch field {
            case 1:
                let raw = Int(Int32(truncatingIfNeeded: try reader.readVarintField(type, field: field)))
                status.code = StatusCode(rawValue: raw) ?? .UNRECOGNIZED(raw)
            case 2: status.message = try reader.readStringField(type, field: field)
            case 3:
                var violation = FieldViolation()
                var sub = ProtobufReader(buffer: try reader.readLengthDelimitedField(type, field: field))
                while !sub.isAtEnd {
                    let (subField, subType) = try sub.readTag()
                    switch subField {
                    case 1: violation.field = try sub.readStringField(subType, field: subField)
                    case 2: violation.description_p = try sub.readStringField(subType, field: subField)
                    default: try sub.skip(subType)
                    }
                }
                status.fieldViolations.append(violation)
            default: try reader.skip(type)
            }
        }
    }

    /// Cancel, Ping and Pong each hold one varint in field 1.
    private static func decodeSingleVarint(_ bytes: ByteBuffer, initial: UInt64) throws -> UInt64 {
        var reader = ProtobufReader(buffer: bytes)
        var value = initial
        while !reader.isAtEnd {
            let (field, type) = try reader.readTag()
            if field == 1 {
                value = try reader.readVarintField(type, field: field)
            } else {
                try reader.skip(type)
            }
        }
        return value
    }

    // MARK: Encoding

    /// Appends a whole Request frame (prefix included). Nothing is written if it exceeds the limit.
    public static func writeRequestFrame(
        into buffer: inout ByteBuffer,
        callID: UInt64,
        method: String,
        deadlineMs: UInt32,
        metadata: [MetadataEntry],
        payload: Data,
        limits: WireLimits
    ) throws {
        var metadataSizes: [Int] = []
        metadataSizes.reserveCapacity(metadata.count)
        var requestSize = ProtobufWriter.varintFieldSize(1, callID)
            + ProtobufWriter.bytesFieldSize(2, count: method.utf8.count)
            + ProtobufWriter.varintFieldSize(3, UInt64(deadlineMs))
            + ProtobufWriter.bytesFieldSize(5, count: payload.count)
        for entry in metadata {
            let size = ProtobufWriter.bytesFieldSize(1, count: entry.key.utf8.count) + ProtobufWriter.bytesFieldSize(2, count: entry.value.utf8.count)
            metadataSizes.append(size)
            requestSize += ProtobufWriter.delimitedFieldSize(4, length: size)
        }
        let envelopeSize = ProtobufWriter.delimitedFieldSize(requestField, length: requestSize)
        guard envelopeSize <= limits.maxFrameLength else {
            throw FrameEncodingError.frameTooLarge(length: envelopeSize, limit: limits.maxFrameLength)
        }
        buffer.reserveCapacity(minimumWritableBytes: WireLimits.prefixLength + envelopeSize)
        buffer.writeInteger(UInt32(envelopeSize), endianness: .big)
        ProtobufWriter.writeDelimitedHeader(requestField, length: requestSize, into: &buffer)
        ProtobufWriter.writeVarintField(1, callID, into: &buffer)
        ProtobufWriter.writeBytesField(2, method.utf8, into: &buffer)
        ProtobufWriter.writeVarintField(3, UInt64(deadlineMs), into: &buffer)
        for (entry, size) in zip(metadata, metadataSizes) {
            ProtobufWriter.writeDelimitedHeader(4, length: size, into: &buffer)
            ProtobufWriter.writeBytesField(1, entry.key.utf8, into: &buffer)
            ProtobufWriter.writeBytesField(2, entry.value.utf8, into: &buffer)
        }
        ProtobufWriter.writeBytesField(5, payload, into: &buffer)
    }

    /// Appends a whole Response frame. `status` nil writes a streamed message (end_of_stream
    /// false); otherwise the frame ends the call with that status. Nothing is written if it
    /// exceeds the limit.
    public static func writeResponseFrame(
        into buffer: inout ByteBuffer,
        callID: UInt64,
        payload: Data,
        status: WireStatus?,
        limits: WireLimits
    ) throws {
        var statusSize = 0
        var violationSizes: [Int] = []
        if let status {
            statusSize = ProtobufWriter.varintFieldSize(1, statusCodeWireValue(status.code))
                + ProtobufWriter.bytesFieldSize(2, count: status.message.utf8.count)
            for violation in status.fieldViolations {
                let size = ProtobufWriter.bytesFieldSize(1, count: violation.field.utf8.count)
                    + ProtobufWriter.bytesFieldSize(2, count: violation.description_p.utf8.count)
                violationSizes.append(size)
                statusSize += ProtobufWriter.delimitedFieldSize(3, length: size)
            }
        }
        let responseSize = ProtobufWriter.varintFieldSize(1, callID)
            + ProtobufWriter.bytesFieldSize(2, count: payload.count)
            + (status == nil ? 0 : ProtobufWriter.varintFieldSize(3, 1) + ProtobufWriter.delimitedFieldSize(4, length: statusSize))
        let envelopeSize = ProtobufWriter.delimitedFieldSize(responseField, length: responseSize)
        guard envelopeSize <= limits.maxFrameLength else {
            throw FrameEncodingError.frameTooLarge(length: envelopeSize, limit: limits.maxFrameLength)
        }
        buffer.reserveCapacity(minimumWritableBytes: WireLimits.prefixLength + envelopeSize)
        buffer.writeInteger(UInt32(envelopeSize), endianness: .big)
        ProtobufWriter.writeDelimitedHeader(responseField, length: responseSize, into: &buffer)
        ProtobufWriter.writeVarintField(1, callID, into: &buffer)
        ProtobufWriter.writeBytesField(2, payload, into: &buffer)
        guard let status else { return }
        ProtobufWriter.writeVarintField(3, 1, into: &buffer)
        ProtobufWriter.writeDelimitedHeader(4, length: statusSize, into: &buffer)
        ProtobufWriter.writeVarintField(1, statusCodeWireValue(status.code), into: &buffer)
        ProtobufWriter.writeBytesField(2, status.message.utf8, into: &buffer)
        for (violation, size) in zip(status.fieldViolations, violationSizes) {
            ProtobufWriter.writeDelimitedHeader(3, length: size, into: &buffer)
            ProtobufWriter.writeBytesField(1, violation.field.utf8, into: &buffer)
            ProtobufWriter.writeBytesField(2, violation.description_p.utf8, into: &buffer)
        }
    }

    /// Enums travel as int32 varints: a negative value takes ten bytes.
    private static func statusCodeWireValue(_ code: StatusCode) -> UInt64 {
        UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: code.rawValue)))
    }
}
