import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMWire
import InMemoryTracing
import Testing
import Tracing

/// Spans through swift-distributed-tracing across two servers given a tracer: each call is a server
/// span, the handler's call to the next server a client span under it, and the next server's span a
/// child of that client span, all in one trace. (The W3C `traceparent` form with swift-otel's
/// propagator is tested end to end in IntegrationTests.)
@Suite struct CallTracingTests {
    /// Back answers, or fails when asked for customer "fail"; front asks back. Both servers share one
    /// in-memory tracer, so the test sees every span.
    /// Back answers with the `traceparent` it received when asked for customer "traceparent".
    func withFrontAndBack(_ tracer: InMemoryTracer, followsCallerSampling: Bool = true,
                          _ body: (RPCClient) async throws -> Void) async throws {
        var backRouter = Router()
        backRouter.unary(TestMethods.echo, policy: .roles("caller")) { request, context in
            if request.customerID == "fail" { throw RPCError(.failedPrecondition, "back refuses") }
            if request.customerID == "traceparent" { return Bench.with { $0.customerID = context.metadataValue("traceparent") ?? "none" } }
            return request
        }
        let configuration = RPCServerConfiguration(security: TestTLS.server, tracer: tracer, followsCallerSampling: followsCallerSampling)
        let back = RPCServer(serviceName: "back", configuration: configuration,
                             router: backRouter, credentials: ServerCredentials(tokens: TestTokens.authenticator))
        let backPort = try #require(try await back.start().port)
        let toBack = client(ports: [backPort])
        var frontRouter = Router()
        frontRouter.unary(TestMethods.echo, policy: .roles("caller")) { request, _ in
            try await toBack.unary(TestMethods.echo, request)
        }
        let front = RPCServer(serviceName: "front", configuration: configuration,
                              router: frontRouter, credentials: ServerCredentials(tokens: TestTokens.authenticator))
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

    @Test func aCallIsAServerSpanAndItsCallToAPeerAClientSpanWhoseChildIsThePeersServerSpan() async throws {
        let tracer = InMemoryTracer()
        try await withFrontAndBack(tracer) { caller in
            _ = try await caller.unary(TestMethods.echo, Bench.with { $0.customerID = "C1" })
            // Both servers end a call's span before its answer is flushed: all three are finished.
            let spans = tracer.finishedSpans
            let servers = spans.filter { $0.kind == .server }
            let clients = spans.filter { $0.kind == .client }
            try #require(servers.count == 2 && clients.count == 1)
            let frontSpan = try #require(servers.first { $0.parentSpanID == nil })
            let backSpan = try #require(servers.first { $0.parentSpanID != nil })
            let clientSpan = clients[0]
            #expect(clientSpan.parentSpanID == frontSpan.spanID)
            #expect(backSpan.parentSpanID == clientSpan.spanID)
            #expect(Set(spans.map(\.traceID)).count == 1)
            for span in spans {
                #expect(span.operationName == "crm.test.v1.Test/Echo")
                #expect(span.attributes.get("rpc.system") == .string("crm"))
                #expect(span.attributes.get("rpc.service") == .string("crm.test.v1.Test"))
                #expect(span.attributes.get("rpc.method") == .string("Echo"))
                #expect(span.attributes.get("rpc.crm.status_code") == .string("OK"))
                #expect(span.status == nil)
            }
        }
    }

    @Test func aFailedCallEndsItsSpansWithAnErrorStatus() async throws {
        let tracer = InMemoryTracer()
        try await withFrontAndBack(tracer) { caller in
            let refusal = await statusOf { _ = try await caller.unary(TestMethods.echo, Bench.with { $0.customerID = "fail" }) }
            #expect(refusal?.code == .failedPrecondition)
            let spans = tracer.finishedSpans
            try #require(spans.count == 3)
            for span in spans {
                #expect(span.attributes.get("rpc.crm.status_code") == .string("FAILED_PRECONDITION"))
                #expect(span.status?.code == .error)
            }
            #expect(spans.contains { $0.kind == .server && $0.status?.message?.contains("back refuses") == true })
        }
    }

    /// Head sampling: a call whose caller did not sample its trace starts no span anywhere (the
    /// tracer is not even asked to read the header), yet the next hop still hears the trace, as a
    /// child with the flag off, so it records nothing either.
    @Test func aCallArrivingNotSampledRecordsNothingAndCarriesTheTraceOn() async throws {
        let tracer = InMemoryTracer(recordExtractions: true)
        try await withFrontAndBack(tracer) { caller in
            let unsampled = CallOptions(metadata: [MetadataEntry("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")])
            let seen = try await caller.unary(TestMethods.echo, Bench.with { $0.customerID = "traceparent" }, options: unsampled).customerID
            let parsed = try #require(TraceContext(traceparent: seen))
            #expect(parsed.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(parsed.spanID != "00f067aa0ba902b7")
            #expect(parsed.flags == "00")
            #expect(tracer.finishedSpans.isEmpty)
            #expect(tracer.activeSpans.isEmpty)
            #expect(tracer.performedContextExtractions.isEmpty)
            // The same call arriving sampled is recorded: the front's and back's server spans and the client span.
            let sampled = CallOptions(metadata: [MetadataEntry("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])
            _ = try await caller.unary(TestMethods.echo, Bench.with { $0.customerID = "C1" }, options: sampled)
            #expect(tracer.finishedSpans.count == 3)
        }
    }

    /// A sampler that decides by itself (`always_on`, `traceidratio`) is asked about every call.
    @Test func aSamplerThatIgnoresTheCallerIsAskedAboutUnsampledCalls() async throws {
        let tracer = InMemoryTracer()
        try await withFrontAndBack(tracer, followsCallerSampling: false) { caller in
            let unsampled = CallOptions(metadata: [MetadataEntry("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")])
            _ = try await caller.unary(TestMethods.echo, Bench.with { $0.customerID = "C1" }, options: unsampled)
            // InMemoryTracer records every span it is asked for.
            #expect(tracer.finishedSpans.count == 3)
        }
    }

    @Test func withoutATracerTheHandlerSeesNoSpanContext() async throws {
        var router = Router()
        router.unary(TestMethods.echo, policy: .roles("caller")) { _, _ in
            Bench.with { $0.customerID = InstrumentationContext.current == nil ? "none" : "some" }
        }
        let server = RPCServer(serviceName: "plain", configuration: RPCServerConfiguration(security: TestTLS.server), router: router,
                               credentials: ServerCredentials(tokens: TestTokens.authenticator))
        let port = try #require(try await server.start().port)
        let caller = client(ports: [port])
        let seen = try await caller.unary(TestMethods.echo, Bench()).customerID
        await caller.close()
        await server.shutdown()
        #expect(seen == "none")
    }
}
