/// W3C trace context (`traceparent: 00-<trace id>-<parent id>-<flags>`) carried across services.
///
/// The server reads an incoming `traceparent`, gives the call a span id of its own and runs the
/// handler with it as ``current`` (a task-local); every call the handler makes through an
/// ``RPCClient`` sends `traceparent` with the same trace id and that span id as parent. So an
/// order placed with a `traceparent` is one trace in products' and matching's logs (`trace_id`).
/// A call that arrives without one starts no trace: the runtime pays nothing for it.
///
/// This is the path of a server without a tracer, and of tools (`crmctl`) that start a trace. A
/// server given a tracer records spans instead (CallTracing.swift) and carries the trace through
/// swift-distributed-tracing's `InstrumentationContext`; a client sends whichever is current.
public struct TraceContext: Sendable, Equatable {
    /// 32 lower-case hex digits, not all zero.
    public let traceID: String
    /// This call's span: 16 lower-case hex digits, not all zero.
    public let spanID: String
    /// The trace flags, two hex digits (`01`: sampled).
    public let flags: String

    @TaskLocal public static var current: TraceContext?

    public init(traceID: String, spanID: String, flags: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// The `traceparent` value this context sends on outgoing calls.
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(flags)" }

    /// A parsed `traceparent` (version 00, or a later version read as 00 as the specification
    /// asks), or nil when it is malformed: an invalid header is ignored, never refused.
    public init?(traceparent: String) {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].utf8.count == 2, parts[0] != "ff",
              parts[0] != "00" || parts.count == 4,
              Self.isHex(parts[0], count: 2), Self.isHex(parts[1], count: 32), Self.isHex(parts[2], count: 16),
              Self.isHex(parts[3], count: 2),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }) else { return nil }
        self.init(traceID: String(parts[1]), spanID: String(parts[2]), flags: String(parts[3]))
    }

    /// The same trace with a new span: what a server gives the call it runs.
    public func child() -> TraceContext {
        TraceContext(traceID: traceID, spanID: Self.newSpanID(), flags: flags)
    }

    /// A new trace (a tool starting one, e.g. `crmctl call`).
    public static func newTrace(sampled: Bool = true) -> TraceContext {
        let high = UInt64.random(in: 1...UInt64.max), low = UInt64.random(in: 0...UInt64.max)
        return TraceContext(traceID: hex(high) + hex(low), spanID: newSpanID(), flags: sampled ? "01" : "00")
    }

    static func newSpanID() -> String {
        hex(UInt64.random(in: 1...UInt64.max))
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func isHex(_ text: Substring, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
