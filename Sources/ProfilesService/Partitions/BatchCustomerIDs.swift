import Foundation

/// The customer ids of an ingestion batch read straight from its wire bytes, without decoding the
/// events.
///
/// Why: a partitioned process asks of every batch whether all of it is its own before the handler
/// decodes it. Decoding the whole batch for that question decoded every event twice — once here,
/// once in the handler — the commonest case (a map-aware client sends each owner only its part,
/// and a forwarded part is all the receiver's). Reading only each event's `customer_id` answers it
/// for a fraction of a decode; a batch that is not all this process's is decoded as before, to be
/// checked whole and split.
///
/// Every ingestion request has the same shape (proto/crm/profiles/v1/profiles.proto): `repeated
/// <Kind>Event events = 1`, and each event kind has `string customer_id = 2`.
enum BatchCustomerIDs {
    /// A batch as read from its bytes.
    struct Batch: Equatable {
        /// Each event's `customer_id` in order.
        var ids: [String]
        /// Where each event's field (key, length and the event) lies in the bytes, by offset.
        var fields: [Range<Int>]
    }

    /// Each event's `customer_id` in order (the last one written when an event carries several, as
    /// a decoder keeps; "" when it carries none), or nil when the bytes are not a well-formed
    /// message of that shape — the caller then decodes, and the decoder says what is wrong.
    static func scan(_ payload: Data) -> Batch? {
        payload.withUnsafeBytes { bytes -> Batch? in
            var batch = Batch(ids: [], fields: [])
            var request = WireFields(bytes, from: 0, to: bytes.count)
            while !request.atEnd {
                let fieldStart = request.offset
                guard let key = request.key() else { return nil }
                guard key.field == 1, key.wireType == WireFields.lengthDelimited else {
                    guard request.skip(wireType: key.wireType) else { return nil }
                    continue
                }
                guard let event = request.lengthDelimited() else { return nil }
                batch.fields.append(fieldStart..<event.upperBound)
                var fields = WireFields(bytes, from: event.lowerBound, to: event.upperBound)
                var customer: Range<Int>?
                while !fields.atEnd {
                    guard let key = fields.key() else { return nil }
                    if key.field == 2, key.wireType == WireFields.lengthDelimited {
                        guard let value = fields.lengthDelimited() else { return nil }
                        customer = value
                    } else {
                        guard fields.skip(wireType: key.wireType) else { return nil }
                    }
                }
                batch.ids.append(customer.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) } ?? "")
            }
            return batch
        }
    }

    /// The request of the events at `positions` (in that order), cut from the batch's own bytes:
    /// what encoding a copy of the request holding only those events gave, without encoding it
    /// (the request's other fields — there are none in the contract — are left out).
    static func part(of payload: Data, _ batch: Batch, positions: [Int]) -> Data {
        var part = Data(capacity: positions.reduce(0) { $0 + batch.fields[$1].count })
        payload.withUnsafeBytes { bytes in
            for position in positions { part.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[batch.fields[position]])) }
        }
        return part
    }
}

/// A cursor over the fields of one protobuf message's bytes (`bytes[from..<to]`): keys, varints
/// and length-delimited values, refusing anything malformed (nil or false) rather than guessing.
private struct WireFields {
    static let varint: UInt64 = 0, fixed64: UInt64 = 1, lengthDelimited: UInt64 = 2, fixed32: UInt64 = 5

    private let bytes: UnsafeRawBufferPointer
    private var position: Int
    private let end: Int

    init(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) {
        self.bytes = bytes
        self.position = start
        self.end = end
    }

    var atEnd: Bool { position >= end }

    /// Where the next field starts.
    var offset: Int { position }

    /// A field's key: its number (1 or more) and wire type.
    mutating func key() -> (field: UInt64, wireType: UInt64)? {
        guard let key = varintValue(), key >> 3 > 0 else { return nil }
        return (key >> 3, key & 7)
    }

    /// A varint of at most ten bytes, inside the message.
    mutating func varintValue() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end, shift < 64 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// A length-delimited value's range, inside the message.
    mutating func lengthDelimited() -> Range<Int>? {
        guard let length = varintValue(), length <= UInt64(end - position) else { return nil }
        let start = position
        position += Int(length)
        return start..<position
    }

    /// Steps over a value of `wireType`; false for groups (not in proto3) and unknown wire types.
    mutating func skip(wireType: UInt64) -> Bool {
        switch wireType {
        case Self.varint: return varintValue() != nil
        case Self.fixed64: return advance(8)
        case Self.lengthDelimited: return lengthDelimited() != nil
        case Self.fixed32: return advance(4)
        default: return false
        }
    }

    private mutating func advance(_ count: Int) -> Bool {
        guard end - position >= count else { return false }
        position += count
        return true
    }
}
