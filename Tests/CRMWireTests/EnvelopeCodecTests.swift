import CRMWire
import Foundation
import NIOCore
import Testing

/// The hand-written envelope codec must be the generated code's twin, byte for byte.
@Suite struct EnvelopeCodecTests {
    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func text() -> String {
            let pieces = ["", "a", "authorization", "Bearer dev-admin-token", "客户", "/crm.profiles.v1.Profiles/GetCustomer", "é", "🙂"]
            return (0..<below(3)).map { _ in pieces[below(pieces.count)] }.joined()
        }
        mutating func bytes() -> Data { Data((0..<below(40)).map { _ in UInt8(truncatingIfNeeded: next()) }) }
        mutating func bigNumber() -> UInt64 { [0, 1, 127, 128, 300, UInt64(UInt32.max), UInt64.max, next()][below(8)] }
    }

    private func randomStatus(_ g: inout Generator) -> WireStatus {
        var status = WireStatus()
        status.code = StatusCode(rawValue: g.below(17)) ?? .unknown
        status.message = g.text()
        status.fieldViolations = (0..<g.below(3)).map { _ in FieldViolation(field: g.text(), description: g.text()) }
        return status
    }

    @Test func requestsEncodeExactlyLikeTheGeneratedCodeAndDecodeBack() throws {
        var g = Generator(state: 0x9E37_79B9_7F4A_7C15)
        for _ in 0..<2_000 {
            var request = WireRequest()
            request.callID = g.bigNumber()
            request.method = g.text()
            request.deadlineMs = UInt32(truncatingIfNeeded: g.bigNumber())
            request.metadata = (0..<g.below(4)).map { _ in MetadataEntry(g.text(), g.text()) }
            request.payload = g.bytes()

            var generated = ByteBuffer()
            try generated.writeFrame(.request(request))
            var handWritten = ByteBuffer()
            try EnvelopeCodec.writeRequestFrame(
                into: &handWritten, callID: request.callID, method: request.method, deadlineMs: request.deadlineMs,
                metadata: request.metadata, payload: request.payload, limits: WireLimits()
            )
            #expect(handWritten == generated)

            var body = generated
            body.moveReaderIndex(forwardBy: 4)
            guard case let .request(head) = try EnvelopeCodec.decode(body) else {
                Issue.record("not decoded as a request")
                continue
            }
            #expect(head.callID == request.callID)
            #expect(head.method == request.method)
            #expect(head.deadlineMs == request.deadlineMs)
            #expect(head.metadata == request.metadata)
            #expect(Data(head.payload.readableBytesView) == request.payload)
        }
    }

    @Test func responsesEncodeExactlyLikeTheGeneratedCodeAndDecodeBack() throws {
        var g = Generator(state: 42)
        for _ in 0..<2_000 {
            let callID = g.bigNumber()
            let payload = g.bytes()
            let status: WireStatus? = g.below(3) == 0 ? nil : randomStatus(&g)
            var generated = ByteBuffer()
            try generated.writeFrame(.response(callID: callID, payload: payload, status: status))
            var handWritten = ByteBuffer()
            try EnvelopeCodec.writeResponseFrame(into: &handWritten, callID: callID, payload: payload, status: status, limits: WireLimits())
            #expect(handWritten == generated)

            var body = generated
            body.moveReaderIndex(forwardBy: 4)
            guard case let .response(head) = try EnvelopeCodec.decode(body) else {
                Issue.record("not decoded as a response")
                continue
            }
            #expect(head.callID == callID)
            #expect(Data(head.payload.readableBytesView) == payload)
            #expect(head.endOfStream == (status != nil))
            #expect(head.status == status)
        }
    }

    @Test func everyOtherKindDecodesLikeTheGeneratedCode() throws {
        let cases: [(Envelope, (InboundEnvelope) -> Bool)] = [
            (.cancel(callID: 77), { if case .cancel(77) = $0 { return true }; return false }),
            (.ping(UInt64.max), { if case .ping(UInt64.max) = $0 { return true }; return false }),
            (.pong(0), { if case .pong(0) = $0 { return true }; return false }),
            (.goAway(lastCallID: 12, reason: "bye 再见"), { if case .goAway(12, "bye 再见") = $0 { return true }; return false }),
            (Envelope(), { if case .none = $0 { return true }; return false }),
        ]
        for (envelope, matches) in cases {
            let bytes: [UInt8] = try envelope.serializedBytes()
            #expect(matches(try EnvelopeCodec.decode(ByteBuffer(bytes: bytes))))
        }
    }

    @Test func unknownFieldsAreSkippedAndTheLastKindWins() throws {
        // Envelope { 99: varint 5, ping { opaque 1 }, 98: "xy", pong { opaque 2 } }
        let bytes: [UInt8] = [0x98, 0x06, 0x05, 0x22, 0x02, 0x08, 0x01, 0x92, 0x06, 0x02, 0x78, 0x79, 0x2A, 0x02, 0x08, 0x02]
        guard case .pong(2) = try EnvelopeCodec.decode(ByteBuffer(bytes: bytes)) else {
            Issue.record("expected the last kind, pong(2)")
            return
        }
        let generated = try Envelope(serializedBytes: bytes)
        #expect(generated.pong.opaque == 2)
    }

    @Test func malformedBytesAreRefusedLikeTheGeneratedCodeRefusesThem() {
        let garbage: [[UInt8]] = [
            [0x00, 0x01],                    // field number 0
            [0x0A, 0x05, 0x01],              // length past the end
            [0x0F, 0xFF, 0xFF],              // wire type 7
            [0x0B],                          // group start (wire type 3)
            [0x22, 0x02, 0x08],              // nested message cut short
            [0x0A, 0x03, 0x12, 0x01, 0xFF],  // method that is not UTF-8
            [0x20] + Array(repeating: 0xFF, count: 10) + [0x01],  // varint over ten bytes
        ]
        for bytes in garbage {
            #expect(throws: (any Error).self) { try EnvelopeCodec.decode(ByteBuffer(bytes: bytes)) }
            #expect(throws: (any Error).self) { try Envelope(serializedBytes: bytes) }
        }
    }

    @Test func framesOverTheLimitAreNotWritten() {
        var buffer = ByteBuffer()
        #expect(throws: FrameEncodingError.self) {
            try EnvelopeCodec.writeResponseFrame(into: &buffer, callID: 1, payload: Data(count: 2_000), status: .ok, limits: WireLimits(maxFrameLength: 1_000))
        }
        #expect(throws: FrameEncodingError.self) {
            try EnvelopeCodec.writeRequestFrame(into: &buffer, callID: 1, method: "/a.B/C", deadlineMs: 0, metadata: [], payload: Data(count: 2_000), limits: WireLimits(maxFrameLength: 1_000))
        }
        #expect(buffer.readableBytes == 0)
    }
}
