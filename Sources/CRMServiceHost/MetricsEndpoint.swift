import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Serves `GET /metrics` (Prometheus text exposition) on its own port, apart from the RPC port, so
/// a scraper needs no token and no TLS; bind it to loopback, or to an address only the monitoring
/// network reaches. Anything else gets 404.
public final class MetricsEndpoint: Service, Sendable {
    public let host: String
    public let port: Int
    private let metrics: ServiceMetrics
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    public init(host: String, port: Int, metrics: ServiceMetrics, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.group = group
        self.logger = logger
    }

    /// The bound address once started.
    public var localAddress: SocketAddress? { channel.withLockedValue { $0?.localAddress } }

    /// Binds and starts answering. Returns the bound address (the real port when given 0).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let metrics = self.metrics
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
            .bind(host: host, port: port).get()
        channel.withLockedValue { $0 = bound }
        guard let address = bound.localAddress else { throw ConfigurationError("the metrics endpoint has no local address") }
        logger.info("metrics endpoint listening", metadata: ["address": "\(address)"])
        return address
    }

    /// Serves until graceful shutdown, then closes the listener.
    public func run() async throws {
        if channel.withLockedValue({ $0 == nil }) {
            try await start()
        }
        try? await gracefulShutdown()
        await stop()
    }

    public func stop() async {
        let open = channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? await open?.close()
    }
}

/// One HTTP/1.1 connection of the metrics endpoint.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ServiceMetrics
    private var head: HTTPRequestHead?

    init(metrics: ServiceMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
            guard request.method == .GET || request.method == .HEAD, path == "/metrics" else {
                respond(context: context, request: request, status: .notFound, contentType: "text/plain; charset=utf-8",
                        body: Array("only GET /metrics is served here\n".utf8))
                return
            }
            let metrics = self.metrics
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask {
                await metrics.exposition()
            }.whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case let .success(body):
                    handler.respond(context: context, request: request, status: .ok,
                                    contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
                case .failure:
                    handler.respond(context: context, request: request, status: .internalServerError,
                                    contentType: "text/plain; charset=utf-8", body: [])
                }
            }
        }
    }

    private func respond(context: ChannelHandlerContext, request: HTTPRequestHead, status: HTTPResponseStatus, contentType: String, body: [UInt8]) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
