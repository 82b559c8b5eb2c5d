import CRMRPC
import CRMWire
import NIOCore
import NIOPosix

/// The limit of this design: a SwiftNIO server that sends every frame straight back — no envelope
/// decoding, no routing, no handler task — and a client that keeps N frames in flight from its
/// event loop. The RPC stack is measured against it with the same frame sizes.
enum BareEcho {
    /// Echoes frames as they arrive.
    final class EchoHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let body = unwrapInboundIn(data)
            var frame = context.channel.allocator.buffer(capacity: body.readableBytes + 4)
            frame.writeInteger(UInt32(body.readableBytes), endianness: .big)
            frame.writeImmutableBuffer(body)
            context.write(wrapOutboundOut(frame), promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }
    }

    static func startServer(group: any EventLoopGroup) async throws -> (any Channel, Int) {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(EchoHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return (channel, channel.localAddress?.port ?? 0)
    }

    /// Keeps `inFlight` frames outstanding until `until`, recording each round trip.
    final class LoadHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let frame: ByteBuffer
        private let inFlight: Int
        private let until: NIODeadline
        private var sentAt: [NIODeadline] = []
        private var head = 0
        private(set) var latencies: [Int64] = []
        let done: EventLoopPromise<[Int64]>

        init(frame: ByteBuffer, inFlight: Int, until: NIODeadline, done: EventLoopPromise<[Int64]>) {
            self.frame = frame
            self.inFlight = inFlight
            self.until = until
            self.done = done
            latencies.reserveCapacity(1 << 20)
        }

        func channelActive(context: ChannelHandlerContext) {
            for _ in 0..<inFlight { send(context) }
            context.flush()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let now = NIODeadline.now()
            latencies.append(Int64(now.uptimeNanoseconds - sentAt[head].uptimeNanoseconds))
            head += 1
            if now < until {
                send(context)
            } else if head == sentAt.count {
                done.succeed(latencies)
                context.close(promise: nil)
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }

        private func send(_ context: ChannelHandlerContext) {
            sentAt.append(.now())
            context.write(wrapOutboundOut(frame), promise: nil)
        }
    }

    /// Runs one connection's load and returns its latencies in nanoseconds.
    static func load(port: Int, group: any EventLoopGroup, frame: ByteBuffer, inFlight: Int, duration: TimeAmount) async throws -> [Int64] {
        let loop = group.next()
        let done = loop.makePromise(of: [Int64].self)
        let until = NIODeadline.now() + duration
        _ = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(LoadHandler(frame: frame, inFlight: inFlight, until: until, done: done))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return try await done.futureResult.get()
    }
}

extension BareEcho {
    /// Hands each response to the oldest waiting caller (an echo answers in order).
    final class AwaitingHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        var waiting: [EventLoopPromise<Void>] = []
        var head = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let promise = waiting[head]
            head += 1
            if head > 1_024 {
                waiting.removeFirst(head)
                head = 0
            }
            promise.succeed()
        }

        func send(_ frame: ByteBuffer, promise: EventLoopPromise<Void>, context: ChannelHandlerContext) {
            waiting.append(promise)
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        }
    }

    /// The bare echo driven the way the RPC client is: one Swift task per call in flight, on the
    /// connection's event loop, awaiting a promise for each answer. The difference from the RPC
    /// figures is then the envelope, routing, auth and handler task alone.
    static func asyncLoad(port: Int, group: any EventLoopGroup, frame: ByteBuffer, inFlight: Int, duration: TimeAmount) async throws -> [Int64] {
        let loop = group.next()
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(AwaitingHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let context = try await loop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.context(handlerType: AwaitingHandler.self), eventLoop: loop)
        }.get()
        let handler = try await loop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: AwaitingHandler.self), eventLoop: loop)
        }.get()
        let executor = EventLoopTaskExecutor(eventLoop: loop)
        let until = NIODeadline.now() + duration
        let latencies = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for _ in 0..<inFlight {
                group.addTask(executorPreference: executor) {
                    var latencies: [Int64] = []
                    latencies.reserveCapacity(1 << 16)
                    while true {
                        let start = NIODeadline.now()
                        guard start < until else { break }
                        let promise = loop.makePromise(of: Void.self)
                        handler.value.send(frame, promise: promise, context: context.value)
                        try await promise.futureResult.get()
                        latencies.append(Int64(NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds))
                    }
                    return latencies
                }
            }
            var all: [Int64] = []
            for try await part in group { all += part }
            return all
        }
        try await channel.close()
        return latencies
    }
}
