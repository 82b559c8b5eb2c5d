import Synchronization

/// W3C trace context (`traceparent: 00-<trace id>-<parent id>-<flags>`) carried across services.
///
/// The server reads an incoming `traceparent`, gives the call a span id of its own and runs the
/// handler with it as ``current`` (a task-local); every call the handler makes through an
/// ``RPCClient`` sends `traceparent` with the same trace id and that span id as parent. So an
/// order placed with a `traceparent` is one trace in products' and matching's logs (`trace_id`).
/// A call that arrives without one starts no trace: the runtime pays nothing for it.
///
/// This is the path of a server without a tracer, of a traced server's calls that are not sampled
/// (they carry the trace on and record nothing), and of tools (`crmctl`) that start a trace. A
/// server given a tracer records spans of sampled calls instead (CallTracing.swift) and carries the
/// trace through swift-distributed-tracing's `InstrumentationContext`; a client sends whichever is
/// current. Every unsampled call reads a `traceparent` and makes a span id, so both cost no
/// allocation: the context keeps the header it was read from, the usual 55-character form is
/// checked by offset, and a child's span id is a number from a counter (not a syscall), written out
/// only if the handler calls on.
public struct TraceContext: Sendable, Equatable {
    /// A `traceparent` of this trace (`00-<trace id>-<span id>-<flags>`): the one read, or made.
    private let header: String
    /// This context's span id when it is not the header's (a child): formatted only when sent.
    private let span: UInt64?

    /// 32 lower-case hex digits, not all zero.
    public var traceID: String { component(1) }
    /// This call's span: 16 lower-case hex digits, not all zero.
    public var spanID: String { span.map(Self.hex) ?? component(2) }
    /// The trace flags, two hex digits (`01`: sampled).
    public var flags: String { component(3) }

    @TaskLocal public static var current: TraceContext?

    public init(traceID: String, spanID: String, flags: String) {
        self.init(header: "00-\(traceID)-\(spanID)-\(flags)", span: nil)
    }

    private init(header: String, span: UInt64?) {
        self.header = header
        self.span = span
    }

    /// The `traceparent` value this context sends on outgoing calls.
    public var traceparent: String {
        guard let span else { return header }
        return "00-\(traceID)-\(Self.hex(span))-\(flags)"
    }

    /// Whether the trace's caller recorded it (the `sampled` bit of the flags): what a parent-based
    /// sampler follows.
    public var isSampled: Bool {
        guard let last = header.utf8.last else { return false }
        // The low bit of the last hex digit: '1', '3', '5', '7', '9', 'b', 'd', 'f' are odd.
        let value = last >= 97 ? last - 87 : last &- 48
        return value & 1 == 1
    }

    public static func == (lhs: TraceContext, rhs: TraceContext) -> Bool {
        lhs.traceID == rhs.traceID && lhs.spanID == rhs.spanID && lhs.flags == rhs.flags
    }

    private func component(_ index: Int) -> String {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count > index ? String(parts[index]) : ""
    }

    /// A parsed `traceparent` (version 00, or a later version read as 00 as the specification
    /// asks), or nil when it is malformed: an invalid header is ignored, never refused.
    public init?(traceparent: String) {
        // The usual form (version 00, 55 characters), checked by offset and kept as it is.
        var text = traceparent
        if let valid = text.withUTF8({ Self.checkVersion00($0) }) {
            guard valid else { return nil }
            self.init(header: traceparent, span: nil)
            return
        }
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].utf8.count == 2, parts[0] != "ff",
              parts[0] != "00" || parts.count == 4,
              Self.isHex(parts[0], count: 2), Self.isHex(parts[1], count: 32), Self.isHex(parts[2], count: 16),
              Self.isHex(parts[3], count: 2),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }) else { return nil }
        self.init(traceID: String(parts[1]), spanID: String(parts[2]), flags: String(parts[3]))
    }

    /// Whether a `traceparent` of the 55-character version-00 form is valid: nil when the header has
    /// another shape (the general parser decides).
    private static func checkVersion00(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard bytes.count == 55, bytes[0] == 48, bytes[1] == 48, bytes[2] == 45, bytes[35] == 45, bytes[52] == 45 else { return nil }
        func isHex(_ range: Range<Int>) -> Bool {
            range.allSatisfy { (bytes[$0] >= 48 && bytes[$0] <= 57) || (bytes[$0] >= 97 && bytes[$0] <= 102) }
        }
        func notZero(_ range: Range<Int>) -> Bool { range.contains { bytes[$0] != 48 } }
        return isHex(3..<35) && isHex(36..<52) && isHex(53..<55) && notZero(3..<35) && notZero(36..<52)
    }

    /// The same trace with a new span: what a server gives the call it runs.
    public func child() -> TraceContext {
        TraceContext(header: header, span: Self.newSpanNumber())
    }

    /// A new trace (a tool starting one, e.g. `crmctl call`).
    public static func newTrace(sampled: Bool = true) -> TraceContext {
        let high = UInt64.random(in: 1...UInt64.max), low = UInt64.random(in: 0...UInt64.max)
        return TraceContext(traceID: hex(high) + hex(low), spanID: newSpanID(), flags: sampled ? "01" : "00")
    }

    /// A span id unique in this process and spread over the 64 bits: a random start, a counter and
    /// SplitMix64's mixing (a bijection, so distinct counts give distinct ids). Span ids need to be
    /// unique, not secret, and this costs an atomic add where the system generator costs a syscall.
    static func newSpanID() -> String {
        hex(newSpanNumber())
    }

    private static func newSpanNumber() -> UInt64 {
        while true {
            var mixed = spanCounter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            mixed ^= mixed >> 31
            if mixed != 0 { return mixed }  // all-zero is not a valid span id
        }
    }

    private static let spanCounter = Atomic<UInt64>(UInt64.random(in: 0...UInt64.max))

    /// 16 lower-case hex digits, zero-padded.
    private static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { digits in
                for index in 0..<16 {
                    buffer[index] = digits[Int((value >> UInt64(60 - 4 * index)) & 0xF)]
                }
            }
            return 16
        }
    }

    private static func isHex(_ text: Substring, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
