import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A stand-in for an OpenTelemetry collector: an HTTP/1.1 server on 127.0.0.1 and a free port that
/// takes OTLP/HTTP JSON exports (`POST /v1/traces`, what a service sends with
/// `--otlp-protocol http/json`) and keeps the spans, for tests of what services export.
public final class OTLPReceiver: Sendable {
    /// One exported span, its ids in lower-case hex (as in a `traceparent`).
    public struct Span: Sendable, Equatable {
        /// The exporting process's `service.name` resource attribute.
        public var service: String
        public var name: String
        /// OTLP's span kind: 2 server, 3 client.
        public var kind: Int
        public var traceID: String
        public var spanID: String
        /// Empty for a trace's root.
        public var parentSpanID: String
        /// String-valued attributes.
        public var attributes: [String: String]
    }

    public let port: Int
    private let channel: any Channel
    private let received: NIOLockedValueBox<[Span]>

    private init(channel: any Channel, port: Int, received: NIOLockedValueBox<[Span]>) {
        self.channel = channel
        self.port = port
        self.received = received
    }

    /// The endpoint to give a service (`--otlp-endpoint`).
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Every span received so far.
    public var spans: [Span] { received.withLockedValue { $0 } }

    public static func start() async throws -> OTLPReceiver {
        let received = NIOLockedValueBox<[Span]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(OTLPHTTPHandler(received: received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return OTLPReceiver(channel: channel, port: channel.localAddress?.port ?? 0, received: received)
    }

    public func stop() async throws {
        try await channel.close()
    }

    /// The spans of an OTLP/JSON `ExportTraceServiceRequest`.
    static func spans(inExport body: Data) -> [Span] {
        guard let root = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return [] }
        var spans: [Span] = []
        for resourceSpans in root["resourceSpans"] as? [[String: Any]] ?? [] {
            let resource = attributes((resourceSpans["resource"] as? [String: Any])?["attributes"])
            for scope in resourceSpans["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] {
                    spans.append(Span(
                        service: resource["service.name"] ?? "",
                        name: span["name"] as? String ?? "",
                        kind: (span["kind"] as? NSNumber)?.intValue ?? 0,
                        traceID: hex(span["traceId"]),
                        spanID: hex(span["spanId"]),
                        parentSpanID: hex(span["parentSpanId"]),
                        attributes: attributes(span["attributes"])
                    ))
                }
            }
        }
        return spans
    }

    private static func attributes(_ value: Any?) -> [String: String] {
        var result: [String: String] = [:]
        for entry in value as? [[String: Any]] ?? [] {
            guard let key = entry["key"] as? String, let value = entry["value"] as? [String: Any] else { continue }
            if let text = value["stringValue"] as? String { result[key] = text }
        }
        return result
    }

    /// Ids as hex: OTLP/JSON writes them in hex, protobuf's JSON mapping of `bytes` in base64; both
    /// are accepted.
    private static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.utf8.count == 32 || text.utf8.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let bytes = Data(base64Encoded: text) else { return text }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// One connection of the receiver: collects a request's body and answers `{}`.
final class OTLPHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let received: NIOLockedValueBox<[OTLPReceiver.Span]>
    private var head: HTTPRequestHead?
    private var body = Data()

    init(received: NIOLockedValueBox<[OTLPReceiver.Span]>) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
            body = Data()
        case var .body(buffer):
            if let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
        case .end:
            guard let request = head else { return }
            head = nil
            let found = request.method == .POST && request.uri.hasPrefix("/v1/traces") ? OTLPReceiver.spans(inExport: body) : []
            // Stored before the answer leaves: once the exporter has its answer, the spans are here.
            received.withLockedValue { $0.append(contentsOf: found) }
            let status: HTTPResponseStatus = request.uri.hasPrefix("/v1/traces") ? .ok : .notFound
            let answer = Array("{}".utf8)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(answer.count)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: answer.count)
            buffer.writeBytes(answer)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
