@testable import CRMRPC
import MetricsTestKit
import Testing

/// What the server counts, read through swift-metrics' test factory: what it keeps between scrapes
/// (calls in flight, bytes) must be what a scrape then publishes.
@Suite struct ServerMetricsTests {
    @Test func callsInFlightAndBytesArePublishedWhenSampled() async throws {
        let factory = TestMetrics()
        let metrics = RPCServerMetrics(service: "test", factory: factory)
        let service = TestService()
        let (server, port) = try await service.start(metrics: metrics)
        let rpc = client(ports: [port])
        let inFlight = try factory.expectMeter(RPCMetricNames.serverInFlight, [("service", "test")])
        let received = try factory.expectCounter(RPCMetricNames.serverReceivedBytes, [("service", "test")])
        let sent = try factory.expectCounter(RPCMetricNames.serverSentBytes, [("service", "test")])

        let calls = (1...3).map { value in Task { try await rpc.unary(TestMethods.block, .with { $0.value = Int64(value) }) } }
        await service.probe.until { $0.started == 3 }
        metrics.sample()
        let whileBlocked = inFlight.lastValue
        let receivedWhileBlocked = received.totalValue
        await service.gate.open()
        for call in calls { _ = try await call.value }
        metrics.sample()
        let afterwards = inFlight.lastValue
        let sentAfterwards = sent.totalValue
        await rpc.close()
        await server.shutdown()

        #expect(whileBlocked == 3)
        #expect(afterwards == 0)
        // Three requests were read before their handlers ran; three answers left before the calls returned.
        #expect(receivedWhileBlocked >= 3 * 4)
        #expect(sentAfterwards >= 3 * 4)
        let ok = try factory.expectCounter(RPCMetricNames.serverCalls,
                                           [("service", "test"), ("method", TestMethods.block.path), ("status", "OK")])
        #expect(ok.totalValue == 3)
    }
}
