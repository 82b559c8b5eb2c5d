@testable import CRMRPC
import CRMWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Prometheus
import Testing

/// A client that bounds its streams' backlog (``ClientConfiguration/streamBacklogLimit``): the
/// connection stops reading while its callers have more than the limit still to take, reads again
/// once they have taken most of it, and a stream abandoned part way gives its share back.
@Suite struct StreamBacklogTests {
    /// Counts the reads that reach the socket's end of the pipeline.
    final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// One handler on an embedded channel, with a read counter between it and the socket.
    struct Connection {
        let channel: EmbeddedChannel
        let handler: ClientConnectionHandler
        let counter = ReadCounter()
        let backlog: StreamBacklog

        init(limit: Int) throws {
            backlog = StreamBacklog(limit: limit)
            handler = ClientConnectionHandler(endpoint: Endpoint(host: "127.0.0.1", port: 1), logger: Logger(label: "test"),
                                              backlog: backlog, onGoAway: {})
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(counter)
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
            try channel.pipeline.syncOperations.addHandler(handler)
        }

        /// Starts streaming call `callID`; its consumption's resumptions run on the embedded loop.
        func startStream(_ callID: UInt64) -> (AsyncThrowingStream<Data, any Error>, StreamConsumption) {
            let (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self, throwing: (any Error).self)
            let loop = channel.embeddedEventLoop
            let bound = NIOLoopBound(handler, eventLoop: loop)
            let consumption = StreamConsumption(backlog: backlog) { loop.execute { bound.value.resumeReading() } }
            handler.start(callID: callID, frame: ByteBuffer(), call: .streaming(continuation, consumption), timeout: nil)
            return (stream, consumption)
        }

        /// The server sends call `callID` a message of `bytes` bytes.
        func message(_ callID: UInt64, bytes: Int) throws {
            var frame = ByteBuffer()
            try frame.writeFrame(.response(callID: callID, payload: Data(repeating: 7, count: bytes), status: nil))
            try channel.writeInbound(frame)
        }

        /// Asks the channel to read, as autoRead does after each read; true when it reached the socket.
        func readReachesTheSocket() -> Bool {
            let before = counter.reads
            channel.read()
            return counter.reads > before
        }
    }

    @Test func readsStopAboveTheLimitAndResumeOnceTheCallerHasTakenThreeQuarters() throws {
        let connection = try Connection(limit: 1_000)
        let (stream, consumption) = connection.startStream(1)
        #expect(connection.readReachesTheSocket())
        try connection.message(1, bytes: 400)
        try connection.message(1, bytes: 400)
        #expect(connection.readReachesTheSocket(), "800 bytes held: under the limit")
        try connection.message(1, bytes: 400)
        #expect(connection.backlog.current == 1_200)
        #expect(!connection.readReachesTheSocket(), "1,200 bytes held: over the limit of 1,000")
        consumption.taken(400)
        consumption.taken(400)
        connection.channel.embeddedEventLoop.run()
        #expect(connection.counter.reads == 2, "400 bytes still held: above the 250 reads resume at")
        consumption.taken(400)
        connection.channel.embeddedEventLoop.run()
        #expect(connection.counter.reads == 3, "the read asked for while held goes out once the caller took the rest")
        #expect(connection.readReachesTheSocket())
        withExtendedLifetime(stream) {}
        _ = try connection.channel.finish()
    }

    @Test func aStreamAbandonedWithMessagesUnreadGivesThemBack() throws {
        let connection = try Connection(limit: 1_000)
        var call: (AsyncThrowingStream<Data, any Error>, StreamConsumption)? = connection.startStream(1)
        for _ in 0..<5 { try connection.message(1, bytes: 300) }
        #expect(!connection.readReachesTheSocket())
        call?.1.taken(300)
        // The caller drops its stream (the client cancels the call) with 1,200 bytes unread.
        call = nil
        connection.handler.cancel(callID: 1)
        connection.channel.embeddedEventLoop.run()
        #expect(connection.backlog.current == 0)
        #expect(connection.counter.reads == 1, "the held read goes out once the abandoned stream's share is gone")
        // A message for the cancelled call that was already on its way is not counted.
        try connection.message(1, bytes: 5_000)
        #expect(connection.backlog.current == 0)
        #expect(connection.readReachesTheSocket())
        _ = try connection.channel.finish()
    }

    @Test func aMessageForAStreamItsCallerDroppedIsNotHeld() throws {
        let connection = try Connection(limit: 1_000)
        var call: (AsyncThrowingStream<Data, any Error>, StreamConsumption)? = connection.startStream(1)
        try connection.message(1, bytes: 600)
        #expect(connection.backlog.current == 600)
        // The caller drops the stream before the client's cancel reaches the handler: the stream
        // refuses what still arrives, which is neither held nor a reason to stop reading.
        let consumption = call?.1
        call = nil
        try connection.message(1, bytes: 2_000)
        #expect(connection.backlog.current == 600, "a refused message is not added")
        #expect(connection.readReachesTheSocket())
        withExtendedLifetime(consumption) {}
        _ = try connection.channel.finish()
    }

    /// Over a real server: every message of a stream four times the backlog's limit arrives in
    /// order through a bounded client that takes them slowly, and the connection never holds more
    /// than the limit and one socket read beyond it.
    @Test func aBoundedClientGetsEveryMessageInOrderAndHoldsNoMoreThanItsLimit() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let base = client(ports: [port])
        let limit = 256 << 10
        let bounded = base.forBulkStreams(backlogLimit: limit)
        let other = client(ports: [port])
        var values: [Int64] = []
        var highest = 0
        for try await message in try await bounded.serverStreaming(TestMethods.count, Bench.with { $0.value = 64; $0.customerID = "padded-16384" }) {
            highest = max(highest, bounded.streamBacklogBytes)
            values.append(message.value)
            #expect(message.customerID.utf8.count == 16_384)
            // A round trip on another connection lets the server run ahead of this reader.
            _ = try await other.unary(TestMethods.echo, Bench.with { $0.value = 1 })
        }
        #expect(values == Array(0..<64))
        #expect(highest <= limit + (256 << 10), "held \(highest) bytes against a limit of \(limit)")
        #expect(bounded.streamBacklogBytes == 0)
        // The same connection serves calls after the stream.
        #expect(try await bounded.unary(TestMethods.echo, Bench.with { $0.value = 21 }).value == 42)
        await bounded.close()
        await other.close()
        await base.close()
        await server.shutdown()
    }

    /// A caller that stops reading a bounded stream part way, while its connection's reads are
    /// held, leaves the connection serving: the stream's unread messages are given back when it
    /// goes, and the next call on the same connection is answered.
    @Test func aBoundedConnectionServesOnAfterAStreamIsAbandonedWhileItsReadsAreHeld() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let registry = PrometheusCollectorRegistry()
        var configuration = client(ports: [port]).configuration
        configuration.metrics = RPCClientMetrics(client: "bulk-test", factory: PrometheusMetricsFactory(registry: registry))
        let base = RPCClient(configuration: configuration)
        let limit = 64 << 10
        let bounded = base.forBulkStreams(backlogLimit: limit)
        do {
            var taken = 0
            for try await _ in try await bounded.serverStreaming(TestMethods.count, Bench.with { $0.value = 1_000; $0.customerID = "padded-16384" }) {
                taken += 1
                // Wait, without reading, until the connection holds more than the limit.
                while bounded.streamBacklogBytes <= limit { try await Task.sleep(for: .milliseconds(2)) }
                break
            }
            #expect(taken == 1)
        }
        #expect(try await bounded.unary(TestMethods.echo, Bench.with { $0.value = 4 }, options: .timeout(.seconds(120))).value == 8)
        #expect(bounded.streamBacklogBytes == 0)
        // The connection stopped reading once (the backlog went over the limit and stayed there).
        let series = "crm_rpc_client_stream_reads_held_total{client=\"bulk-test\"} "
        let held = String(decoding: registry.emitToBuffer(), as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix(series) }.flatMap { Double($0.dropFirst(series.count)) }
        #expect(held == 1)
        await bounded.close()
        await base.close()
        await server.shutdown()
    }
}
