import CRMProtos
import Foundation
import SwiftProtobuf
import Testing
@testable import ProfilesService

/// A batch's customer ids read from its bytes are the ids its decoded events carry, for every
/// ingestion kind and the wire's corner cases; bytes that are not such a message give nil.
@Suite struct BatchCustomerIDsTests {
    /// Ids of every shape a brokerage uses, and the edges of the wire: empty, non-ASCII, longer than
    /// 127 bytes (a two-byte length).
    static let ids = ["C0001318", "", "客户-00042", String(repeating: "x", count: 300), "C9"]

    @Test func everyIngestionKindGivesItsEventsIDs() throws {
        func check<Request: SwiftProtobuf.Message>(_ request: Request, _ expected: [String]) throws {
            let payload: Data = try request.serializedData()
            #expect(BatchCustomerIDs.scan(payload)?.ids == expected, "\(Request.protoMessageName)")
        }
        let ids = Self.ids
        try check(Crm_Profiles_V1_IngestTradesRequest.with { request in
            request.events = ids.enumerated().map { index, id in
                .with {
                    $0.idempotencyKey = "T\(index)"; $0.customerID = id; $0.instrument = "600000"; $0.quantity = 100 * Int64(index + 1)
                    $0.price = "12.34"; $0.amount = .with { $0.minorUnits = 1_234_000 }; $0.tradedAt = .with { $0.unixMillis = 1_780_000_000_000 }
                    $0.side = .sell
                }
            }
        }, ids)
        try check(Crm_Profiles_V1_IngestFundTransfersRequest.with { $0.events = ids.map { id in .with { $0.customerID = id; $0.amount = .with { $0.minorUnits = -5 } } } }, ids)
        try check(Crm_Profiles_V1_IngestDailyPositionsRequest.with { request in
            request.events = ids.map { id in
                .with { $0.customerID = id; $0.holdings = [.with { $0.instrument = "510300"; $0.quantity = 3 }, .with { $0.instrument = "000001" }] }
            }
        }, ids)
        try check(Crm_Profiles_V1_IngestMarginAccountsRequest.with { $0.events = ids.map { id in .with { $0.customerID = id } } }, ids)
        try check(Crm_Profiles_V1_IngestMarginInterestRequest.with { $0.events = ids.map { id in .with { $0.customerID = id } } }, ids)
        try check(Crm_Profiles_V1_IngestServiceContactsRequest.with { $0.events = ids.map { id in .with { $0.customerID = id; $0.topic = "回访" } } }, ids)
        try check(Crm_Profiles_V1_IngestProductViewsRequest.with { $0.events = ids.map { id in .with { $0.customerID = id; $0.productCode = "P1" } } }, ids)
        try check(Crm_Profiles_V1_IngestTradesRequest(), [])
    }

    /// Unknown fields of every wire type, in the request and in an event, and an event whose id is
    /// written twice (two messages merged on the wire: the decoder keeps the last).
    @Test func unknownFieldsAndRepeatedIDsReadAsTheDecoderReadsThem() throws {
        func varint(_ value: UInt64) -> [UInt8] {
            var value = value, out: [UInt8] = []
            repeat {
                out.append(UInt8(value & 0x7f) | (value >= 0x80 ? 0x80 : 0))
                value >>= 7
            } while value > 0
            return out
        }
        func field(_ number: UInt64, _ wireType: UInt64, _ body: [UInt8]) -> [UInt8] { varint(number << 3 | wireType) + body }
        func string(_ number: UInt64, _ text: String) -> [UInt8] { field(number, 2, varint(UInt64(text.utf8.count)) + Array(text.utf8)) }
        let unknowns = field(90, 0, varint(300)) + field(91, 1, Array(repeating: 7, count: 8)) + field(92, 5, [1, 2, 3, 4]) + string(93, "extra")
        let first = string(1, "K1") + unknowns + string(2, "C1") + field(8, 0, varint(100))
        let twice = string(2, "OLD") + string(1, "K2") + string(2, "C2")
        var payload: [UInt8] = unknowns
        for event in [first, twice, []] { payload += field(1, 2, varint(UInt64(event.count)) + event) }
        payload += unknowns
        let data = Data(payload)
        let decoded = try Crm_Profiles_V1_IngestTradesRequest(serializedBytes: data)
        #expect(decoded.events.map(\.customerID) == ["C1", "C2", ""])
        #expect(BatchCustomerIDs.scan(data)?.ids == decoded.events.map(\.customerID))
    }

    /// A part cut from the bytes decodes to the same events as the part encoded again, in the
    /// order asked, for parts of every size, and for a batch that is a slice of larger bytes.
    @Test func partsCutFromTheBytesAreTheEventsAsked() throws {
        let request = Crm_Profiles_V1_IngestTradesRequest.with { request in
            request.events = (0..<40).map { index in
                .with {
                    $0.idempotencyKey = "T\(index)"; $0.customerID = Self.ids[index % Self.ids.count]
                    $0.quantity = Int64(index * 1_000); $0.sector = String(repeating: "s", count: index * 7)
                }
            }
        }
        let whole: Data = try request.serializedData()
        let sliced = (Data([0xff, 0xff]) + whole).dropFirst(2)
        for payload in [whole, sliced] {
            let batch = try #require(BatchCustomerIDs.scan(payload))
            #expect(batch.ids == request.events.map(\.customerID))
            for positions in [[], [0], [39], [3, 1, 2], Array(stride(from: 0, to: 40, by: 3)), Array(0..<40)] {
                var expected = request
                expected.events = positions.map { request.events[$0] }
                let part = try Crm_Profiles_V1_IngestTradesRequest(serializedBytes: BatchCustomerIDs.part(of: payload, batch, positions: positions))
                #expect(part == expected, "\(positions)")
            }
        }
    }

    /// Cut anywhere, a batch gives nil or, where the cut falls between events, the ids before it
    /// — what the decoder gives for those bytes; groups and wire types 6–7 give nil.
    @Test func malformedBytesGiveNilNeverOtherIDs() throws {
        let request = Crm_Profiles_V1_IngestTradesRequest.with { request in
            request.events = Self.ids.map { id in .with { $0.customerID = id; $0.idempotencyKey = "k-\(id.prefix(3))" } }
        }
        let payload: Data = try request.serializedData()
        var cutsBetweenEvents = 0
        for length in 0..<payload.count {
            let cut = payload.prefix(length)
            let decoded = try? Crm_Profiles_V1_IngestTradesRequest(serializedBytes: cut)
            if let ids = BatchCustomerIDs.scan(Data(cut))?.ids {
                #expect(ids == decoded?.events.map(\.customerID), "cut at \(length)")
                cutsBetweenEvents += 1
            }
        }
        // Only the cuts at an event's end (and the empty one) read as a batch.
        #expect(cutsBetweenEvents == Self.ids.count)
        for bad: [UInt8] in [[0x0b, 0x0c], [0x0e, 0x00], [0x0f], [0x00, 0x01], [0x0a, 0x05, 0x12, 0x09, 0x41]] {
            #expect(BatchCustomerIDs.scan(Data(bad)) == nil, "\(bad)")
        }
    }
}
