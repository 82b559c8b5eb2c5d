import CRMWire
import Tracing

/// Spans of calls, through swift-distributed-tracing: what the runtime does when a server is given
/// a tracer (``RPCServerConfiguration/tracer``), e.g. swift-otel's OTLP exporter.
///
/// - The server continues the caller's `traceparent` (the tracer's propagator extracts it): each
///   call is a `server` span of that trace, the caller's span as parent, with the attributes
///   `rpc.system`, `rpc.service`, `rpc.method` and the final `rpc.crm.status_code`. A call without
///   one starts a trace.
/// - The handler runs with the span's context as `InstrumentationContext.current` and the tracer as
///   the task's tracer (`withTracer`), so every call it makes through an ``RPCClient`` is a `client`
///   span under it, and that client span's context is what travels in `traceparent`.
///
/// Without a tracer the server starts no span and the runtime pays nothing more than before: a
/// `traceparent` is still carried on (``TraceContext``), so logs keep one trace id across services.
/// With one, only sampled calls pay for spans: an unsampled call is carried on the same way as
/// without a tracer (``serverTrace(_:followsCallerSampling:method:metadata:)``).
enum CallTracing {
    /// The `rpc.system` of this runtime's spans.
    static let system = "crm"

    /// The name and `rpc.*` attributes of a call to `method` (`/package.Service/Method`): OpenTelemetry's
    /// RPC conventions name a span `package.Service/Method`.
    static func describe(_ span: any Span, method: String) {
        let path = method.hasPrefix("/") ? method.dropFirst() : Substring(method)
        let slash = path.lastIndex(of: "/")
        span.updateAttributes { attributes in
            attributes["rpc.system"] = system
            attributes["rpc.service"] = slash.map { String(path[..<$0]) } ?? String(path)
            attributes["rpc.method"] = slash.map { String(path[path.index(after: $0)...]) } ?? String(path)
        }
    }

    static func spanName(_ method: String) -> String {
        method.hasPrefix("/") ? String(method.dropFirst()) : method
    }

    /// How the server traces a call that arrived with `metadata`, decided before anything else is
    /// done for it (head sampling):
    /// - no tracer: the caller's trace, if any, is carried on (``TraceContext``);
    /// - a caller's `traceparent` that is not sampled, and a sampler that follows the caller
    ///   (`followsCallerSampling`, OpenTelemetry's parent-based samplers): carried on the same way,
    ///   and the tracer is not asked at all — no span, no ids from it, no attributes, no clock
    ///   reads, nothing queued for export;
    /// - otherwise the tracer starts the span; a span its sampler drops (a root call, or a sampler
    ///   that decides on its own) is let go at once and only its context is carried on.
    static func serverTrace(_ tracer: (any Tracer)?, followsCallerSampling: Bool, method: String,
                            metadata: [MetadataEntry]) -> ServerCallTrace {
        let incoming = metadata.first { $0.key == MetadataKeys.traceparent }.flatMap { TraceContext(traceparent: $0.value) }
        guard let tracer else { return incoming.map { .propagated($0.child()) } ?? .untraced }
        if let incoming, followsCallerSampling, !incoming.isSampled {
            return .propagated(incoming.child())
        }
        var parent = InstrumentationContext.topLevel
        tracer.extract(metadata, into: &parent, using: MetadataExtractor())
        let span = tracer.startSpan(spanName(method), context: parent, ofKind: .server)
        guard span.isRecording else {
            // Dropped by the sampler: the next hops hear "not sampled" and record nothing either.
            return traceparent(of: span.context, tracer: tracer).flatMap(TraceContext.init(traceparent:)).map { .propagated($0) } ?? .untraced
        }
        describe(span, method: method)
        return .recorded(span, tracer)
    }

    /// Ends a call's span (server or client) with its status: OK, or an error with the status's message.
    static func end(_ span: any Span, code: StatusCode, message: String = "") {
        span.attributes["rpc.crm.status_code"] = code.canonicalName
        if code != .ok {
            span.setStatus(SpanStatus(code: .error, message: message.isEmpty ? code.canonicalName : "\(code.canonicalName): \(message)"))
        }
        span.end()
    }

    /// The `traceparent` the tracer's propagator writes for `context` (nil when it writes none).
    static func traceparent(of context: InstrumentationContext, tracer: any Tracer) -> String? {
        var carrier: [MetadataEntry] = []
        tracer.inject(context, into: &carrier, using: MetadataInjector())
        return carrier.first { $0.key == MetadataKeys.traceparent }?.value
    }

    /// A client span for a call made inside a traced call (an `InstrumentationContext` is current
    /// and the task has a tracer), and `metadata` with that span's `traceparent`; nil otherwise, and
    /// then the call goes as before (``TraceContext`` carries an untraced `traceparent` on).
    ///
    /// A `traceparent` the caller put in `metadata` itself is the parent of the span and is replaced.
    static func startClientSpan(method: String, metadata: [MetadataEntry]) -> (span: any Span, metadata: [MetadataEntry])? {
        guard var context = InstrumentationContext.current else { return nil }
        let tracer = InstrumentationSystem.tracer
        // None configured for this task: the call carries what it did before.
        if tracer is NoOpTracer { return nil }
        var metadata = metadata
        if let given = metadata.firstIndex(where: { $0.key == MetadataKeys.traceparent }) {
            tracer.extract([metadata[given]], into: &context, using: MetadataExtractor())
            metadata.remove(at: given)
        }
        let span = tracer.startSpan(spanName(method), context: context, ofKind: .client)
        describe(span, method: method)
        tracer.inject(span.context, into: &metadata, using: MetadataInjector())
        return (span, metadata)
    }
}

/// What a server does for one call's trace (``CallTracing/serverTrace(_:followsCallerSampling:method:metadata:)``).
enum ServerCallTrace: Sendable {
    /// No trace: the call came without one and the server has no tracer.
    case untraced
    /// Not recorded: the handler runs with this context current, so its calls carry the trace on.
    case propagated(TraceContext)
    /// A recorded server span: the handler runs inside it, with the tracer as the task's tracer.
    case recorded(any Span, any Tracer)

    /// The span to end when the call ends (only a recorded call has one).
    var span: (any Span)? {
        if case let .recorded(span, _) = self { return span }
        return nil
    }

    /// The trace id, for the call's log line.
    var traceID: String? {
        switch self {
        case .untraced: return nil
        case let .propagated(context): return context.traceID
        case let .recorded(span, tracer): return CallTracing.traceparent(of: span.context, tracer: tracer).flatMap(TraceContext.init(traceparent:))?.traceID
        }
    }
}

/// Reads trace headers from a request's metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: [MetadataEntry]) -> String? {
        carrier.first { $0.key == key }?.value
    }
}

/// Writes trace headers into a request's metadata (replacing one already there).
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [MetadataEntry]) {
        carrier.removeAll { $0.key == key }
        carrier.append(MetadataEntry(key, value))
    }
}
