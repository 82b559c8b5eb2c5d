import CRMWire
import Foundation
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

/// The frame codec on its own: byte layout, splits and merges, limits, garbage.
@Suite struct FrameDecoderTests {
    private func frame(_ envelope: Envelope, limits: WireLimits = WireLimits()) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try buffer.writeFrame(envelope, limits: limits)
        return buffer
    }

    private func sampleRequest(_ id: UInt64, payload: [UInt8] = [1, 2, 3]) -> Envelope {
        var request = WireRequest()
        request.callID = id
        request.method = "/crm.profiles.v1.Profiles/GetCustomer"
        request.deadlineMs = 250
        request.metadata = [MetadataEntry("authorization", "Bearer t"), MetadataEntry("request-id", "r-\(id)")]
        request.payload = Data(payload)
        return .request(request)
    }

    /// Feeds `bytes` into a fresh channel and returns the frames it produced.
    private func decodeAll(_ chunks: [ByteBuffer], limits: WireLimits = WireLimits()) throws -> [ByteBuffer] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: limits)))
        for chunk in chunks {
            try channel.writeInbound(chunk)
        }
        var frames: [ByteBuffer] = []
        while let frame = try channel.readInbound(as: ByteBuffer.self) {
            frames.append(frame)
        }
        _ = try channel.finish()
        return frames
    }

    @Test func prefixIsBigEndianLengthOfTheEnvelope() throws {
        let envelope = sampleRequest(7)
        let encoded: [UInt8] = try envelope.serializedBytes()
        let buffer = try frame(envelope)
        #expect(buffer.readableBytes == 4 + encoded.count)
        #expect(buffer.getInteger(at: 0, endianness: .big, as: UInt32.self) == UInt32(encoded.count))
        #expect(buffer.getBytes(at: 4, length: encoded.count) == encoded)
    }

    @Test func roundTripsThroughTheDecoder() throws {
        let envelope = sampleRequest(42)
        let frames = try decodeAll([try frame(envelope)])
        #expect(frames.count == 1)
        #expect(try Envelope(frameBody: frames[0]) == envelope)
    }

    @Test func framesSplitByteByByteAndMergedDecodeTheSame() throws {
        let envelopes = (1...5).map { sampleRequest(UInt64($0), payload: Array(repeating: UInt8($0), count: $0 * 37)) }
        var stream = ByteBuffer()
        for envelope in envelopes {
            try stream.writeFrame(envelope)
        }
        // One byte at a time.
        let singles = stream.readableBytesView.map { ByteBuffer(bytes: [$0]) }
        let fromSingles = try decodeAll(singles).map { try Envelope(frameBody: $0) }
        #expect(fromSingles == envelopes)
        // All in one buffer.
        let fromMerged = try decodeAll([stream]).map { try Envelope(frameBody: $0) }
        #expect(fromMerged == envelopes)
        // Cut at awkward places: inside a prefix, at a boundary, inside a body.
        let bytes = Array(stream.readableBytesView)
        let cuts = [0, 2, 5, 40, 41, 200, bytes.count]
        let pieces = zip(cuts, cuts.dropFirst()).map { ByteBuffer(bytes: bytes[$0..<$1]) }
        let fromPieces = try decodeAll(pieces).map { try Envelope(frameBody: $0) }
        #expect(fromPieces == envelopes)
    }

    @Test func verifierAgreesOnSplitsAndMerges() throws {
        let first = try frame(sampleRequest(1))
        let second = try frame(.ping(99))
        var firstBody = first
        firstBody.moveReaderIndex(forwardBy: 4)
        var secondBody = second
        secondBody.moveReaderIndex(forwardBy: 4)
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(first, [firstBody]), (second, [secondBody])],
            decoderFactory: { FrameDecoder() }
        )
    }

    @Test func emptyBodyIsAFrameWithNoKind() throws {
        let frames = try decodeAll([ByteBuffer(bytes: [0, 0, 0, 0])])
        #expect(frames.count == 1)
        #expect(frames[0].readableBytes == 0)
        #expect(try Envelope(frameBody: frames[0]).kind == nil)
    }

    @Test func exactlyTheLimitIsAcceptedAndOneByteOverIsRefusedBeforeTheBody() throws {
        let limits = WireLimits(maxFrameLength: 100)
        var atLimit = ByteBuffer()
        atLimit.writeInteger(UInt32(100), endianness: .big)
        atLimit.writeBytes(Array(repeating: UInt8(0x41), count: 100))
        #expect(try decodeAll([atLimit], limits: limits).first?.readableBytes == 100)

        // Only the prefix of a 101-byte frame: refused with nothing of the body sent.
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: limits)))
        #expect(throws: FrameError.frameTooLarge(announced: 101, limit: 100)) {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 101]))
        }
        _ = try? channel.finish()
    }

    @Test func aLengthClaimingFourGibibytesIsRefusedAtOnce() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        #expect(throws: FrameError.frameTooLarge(announced: UInt32.max, limit: WireLimits.defaultMaxFrameLength)) {
            try channel.writeInbound(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]))
        }
        _ = try? channel.finish()
    }

    @Test func garbageBodiesDoNotDecodeAsEnvelopes() throws {
        // Field 0 is never valid; a length-delimited field that runs past the end; wire type 7.
        let garbage: [[UInt8]] = [[0x00, 0x01], [0x0A, 0x05, 0x01], [0x0F, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]]
        for bytes in garbage {
            #expect(throws: (any Error).self) { try Envelope(frameBody: ByteBuffer(bytes: bytes)) }
        }
    }

    @Test func connectionEndingInsideAFrameIsReported() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 10, 1, 2, 3]))
        #expect(throws: FrameError.truncatedFrame(bufferedBytes: 7)) {
            _ = try channel.finish()
        }
    }

    @Test func encoderRefusesAnOversizedEnvelopeAndWritesNothing() throws {
        var buffer = ByteBuffer()
        let big = sampleRequest(1, payload: Array(repeating: 7, count: 2_000))
        #expect(throws: FrameEncodingError.self) {
            try buffer.writeFrame(big, limits: WireLimits(maxFrameLength: 1_000))
        }
        #expect(buffer.readableBytes == 0)
    }

    @Test func decoderTellsWhenAFrameIsHalfRead() throws {
        let recorder = EventRecorder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(recorder)
        let whole = try frame(.ping(1))
        var firstPart = whole
        let head = firstPart.readSlice(length: 3)!
        try channel.writeInbound(head)
        try channel.writeInbound(firstPart)
        #expect(recorder.events == [.partialFrameBuffered, .frameBoundary])
        _ = try channel.finish()
    }
}

/// Collects the decoder's partial-frame events.
final class EventRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var events: [FrameDecoderEvent] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? FrameDecoderEvent { events.append(event) }
    }
}
