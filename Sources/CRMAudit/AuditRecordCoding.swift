import CRMRPC
import Crypto
import Foundation

/// One stored record of the audit trail: an audited call with its place in the chain.
public struct AuditRecordValue: Sendable, Hashable {
    public var sequence: Int64
    public var timeMillis: Int64
    public var call: AuditedCall
    public var hash: Data
}

/// The canonical encoding a record's hash covers, and the hash itself. Fixed here and in
/// proto/README.md §8.1 so an exported archive can be verified by anyone, in any language:
///
/// `u64 sequence · i64 time_ms · str principal · str roles · str peer · str certificate_subject ·
/// str method · str request_id · i32 status · u32 n · n × str customer_id · str aggregate_rule ·
/// u8 has_count · u64 count · u8 unmasked`, integers big-endian, `str` = u32 byte length + UTF-8.
/// hash = SHA-256(previous hash ‖ encoding); the chain's first previous hash is 32 zero bytes.
public enum AuditRecordCoding {
    public static let genesisHash = Data(repeating: 0, count: 32)

    public static func encode(sequence: Int64, timeMillis: Int64, call: AuditedCall) -> Data {
        encode(sequence: sequence, timeMillis: timeMillis, call: call, encodedSubjects: encodeSubjects(call.subjectIDs))
    }

    /// The encoding with the customer list already encoded (``encodeSubjects(_:)``, as stored).
    static func encode(sequence: Int64, timeMillis: Int64, call: AuditedCall, encodedSubjects: Data) -> Data {
        var out = Data()
        out.reserveCapacity(128 + encodedSubjects.count)
        append(UInt64(bitPattern: sequence), to: &out)
        append(UInt64(bitPattern: timeMillis), to: &out)
        for text in [call.principal, call.roles, call.peer, call.certificateSubject, call.method, call.requestID] {
            append(text, to: &out)
        }
        append(UInt32(bitPattern: Int32(truncatingIfNeeded: call.status.rawValue)), to: &out)
        out.append(encodedSubjects)
        append(call.aggregateRule, to: &out)
        out.append(call.aggregateCount == nil ? 0 : 1)
        append(call.aggregateCount ?? 0, to: &out)
        out.append(call.unmasked ? 1 : 0)
        return out
    }

    public static func hash(previous: Data, sequence: Int64, timeMillis: Int64, call: AuditedCall) -> Data {
        hash(previous: previous, sequence: sequence, timeMillis: timeMillis, call: call, encodedSubjects: encodeSubjects(call.subjectIDs))
    }

    static func hash(previous: Data, sequence: Int64, timeMillis: Int64, call: AuditedCall, encodedSubjects: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: encode(sequence: sequence, timeMillis: timeMillis, call: call, encodedSubjects: encodedSubjects))
        return Data(hasher.finalize())
    }

    /// The customer ids as stored (`u32 n · n × str`): no separator a customer id could contain.
    static func encodeSubjects(_ ids: [String]) -> Data {
        var out = Data()
        out.reserveCapacity(4 + ids.count * 14)
        append(subjects: ids, to: &out)
        return out
    }

    static func decodeSubjects(_ data: Data) -> [String]? {
        var reader = Reader(bytes: [UInt8](data))
        guard let count = reader.uint32() else { return nil }
        var ids: [String] = []
        ids.reserveCapacity(Int(min(count, 100_000)))
        for _ in 0..<count {
            guard let id = reader.string() else { return nil }
            ids.append(id)
        }
        return reader.atEnd ? ids : nil
    }

    private static func append(subjects: [String], to out: inout Data) {
        append(UInt32(subjects.count), to: &out)
        for id in subjects { append(id, to: &out) }
    }

    private static func append(_ text: String, to out: inout Data) {
        let bytes = text.utf8
        append(UInt32(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout Data) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var atEnd: Bool { offset == bytes.count }

        mutating func uint32() -> UInt32? {
            guard offset + 4 <= bytes.count else { return nil }
            let value = bytes[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            offset += 4
            return value
        }

        mutating func string() -> String? {
            guard let length = uint32().map(Int.init), offset + length <= bytes.count else { return nil }
            defer { offset += length }
            return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
        }
    }
}
