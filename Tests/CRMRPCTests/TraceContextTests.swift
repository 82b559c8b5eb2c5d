import CRMProtos
import CRMRPC
import CRMWire
import Testing

/// W3C trace context across two servers: a call that arrives with a `traceparent` is a span of that
/// trace, and what its handler calls carries the trace on with that span as parent.
@Suite struct TraceContextTests {
    static let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    /// Back answers with the `traceparent` it received; front asks back and answers with that.
    func withFrontAndBack(_ body: (RPCClient) async throws -> Void) async throws {
        var backRouter = Router()
        backRouter.unary(TestMethods.echo, policy: .roles("caller")) { _, context in
            Bench.with { $0.customerID = context.metadataValue("traceparent") ?? "none" }
        }
        let back = RPCServer(serviceName: "back", configuration: RPCServerConfiguration(security: TestTLS.server), router: backRouter,
                             credentials: ServerCredentials(tokens: TestTokens.authenticator))
        let backPort = try #require(try await back.start().port)
        let toBack = client(ports: [backPort])
        var frontRouter = Router()
        frontRouter.unary(TestMethods.echo, policy: .roles("caller")) { request, _ in
            try await toBack.unary(TestMethods.echo, request)
        }
        let front = RPCServer(serviceName: "front", configuration: RPCServerConfiguration(security: TestTLS.server), router: frontRouter,
                              credentials: ServerCredentials(tokens: TestTokens.authenticator))
        let frontPort = try #require(try await front.start().port)
        let caller = client(ports: [frontPort])
        do {
            try await body(caller)
        } catch {
            await caller.close(); await toBack.close(); await front.shutdown(); await back.shutdown()
            throw error
        }
        await caller.close(); await toBack.close(); await front.shutdown(); await back.shutdown()
    }

    @Test func theNextHopContinuesTheTraceAsAChildOfTheCallsSpan() async throws {
        try await withFrontAndBack { caller in
            let seen = try await caller.unary(TestMethods.echo, Bench(),
                                              options: CallOptions(metadata: [MetadataEntry("traceparent", Self.incoming)])).customerID
            let parsed = try #require(TraceContext(traceparent: seen))
            #expect(parsed.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(parsed.spanID != "00f067aa0ba902b7")
            #expect(parsed.flags == "01")
        }
    }

    @Test func aCallWithoutATraceOrWithAMalformedOneStartsNone() async throws {
        try await withFrontAndBack { caller in
            let plain = try await caller.unary(TestMethods.echo, Bench()).customerID
            #expect(plain == "none")
            let malformed = CallOptions(metadata: [MetadataEntry("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")])
            let ignored = try await caller.unary(TestMethods.echo, Bench(), options: malformed).customerID
            #expect(ignored == "none")
        }
    }

    @Test func aTaskLocalTraceIsSentByTheClient() async throws {
        try await withFrontAndBack { caller in
            let trace = TraceContext.newTrace()
            let seen = try await TraceContext.$current.withValue(trace) {
                try await caller.unary(TestMethods.echo, Bench()).customerID
            }
            #expect(TraceContext(traceparent: seen)?.traceID == trace.traceID)
        }
    }

    @Test func theSampledFlagIsTheLowBitOfTheFlags() {
        #expect(TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", flags: "01").isSampled)
        #expect(TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", flags: "0b").isSampled)
        #expect(!TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", flags: "00").isSampled)
        #expect(!TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", flags: "02").isSampled)
    }

    /// The usual 55-character header is read by offset; it must agree with the specification's rules.
    @Test func theShortcutForVersion00RefusesWhatTheRulesRefuse() {
        #expect(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g") == nil)  // not hex
        #expect(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736+00f067aa0ba902b7-01") == nil)  // separator
        #expect(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902B7-01") == nil)  // upper case
        #expect(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x") == nil)  // 00 has 4 parts
        let parsed = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
        #expect(parsed == TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", flags: "00"))
        #expect(parsed?.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
    }

    /// Span ids come from a counter mixed over 64 bits: valid (16 hex digits, not zero) and distinct.
    @Test func spanIDsAreValidAndDistinct() {
        let trace = TraceContext.newTrace()
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let child = trace.child()
            #expect(TraceContext(traceparent: child.traceparent) == child)
            seen.insert(child.spanID)
        }
        #expect(seen.count == 10_000)
    }

    @Test func parsingFollowsTheSpecification() {
        #expect(TraceContext(traceparent: Self.incoming)?.spanID == "00f067aa0ba902b7")
        #expect(TraceContext(traceparent: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01") == nil)  // upper case
        #expect(TraceContext(traceparent: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == nil)  // version ff
        #expect(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01") == nil)  // zero parent
        #expect(TraceContext(traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later") != nil)  // a later version
        #expect(TraceContext.newTrace().traceparent.utf8.count == 55)
    }
}
