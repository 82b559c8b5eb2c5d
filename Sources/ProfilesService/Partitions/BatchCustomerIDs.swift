import CRMWire
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
            var request = WireCursor(buffer: bytes, from: 0, to: bytes.count)
            do {
                while !request.atEnd {
                    let fieldStart = request.offset
                    let (field, type) = try request.tag()
                    guard field > 0 else { return nil }
                    guard field == 1, type == 2 else {
                        try request.skip(type)
                        continue
                    }
                    var event = try request.nested()
                    batch.fields.append(fieldStart..<event.end)
                    var customer = ""
                    while !event.atEnd {
                        let (field, type) = try event.tag()
                        guard field > 0 else { return nil }
                        if field == 2, type == 2 {
                            customer = try event.string()
                        } else {
                            try event.skip(type)
                        }
                    }
                    batch.ids.append(customer)
                }
            } catch {
                return nil
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
