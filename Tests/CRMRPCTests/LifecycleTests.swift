import CRMRPC
import CRMTestSupport
import Foundation
import NIOCore
import Testing

/// Shutdown, reconnection and replicas.
@Suite struct LifecycleTests {
    @Test func gracefulShutdownFinishesInFlightCallsAndRefusesNewOnes() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let peer = try await RawPeer.connect(port: port)
        let frames = try await peer.channel.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            try await outbound.write(RawPeer.frame(RawPeer.request(1, "/crm.test.v1.Test/Block", .with { $0.value = 1 })))
            await service.probe.until { $0.started == 1 }

            let shutdown = Task { await server.shutdown() }
            var seen: [Envelope] = []
            // First the GoAway, naming the last call the server will still finish.
            if let body = try await iterator.next() { seen.append(try Envelope(frameBody: body)) }
            // A call sent after it is refused, not run.
            try await outbound.write(RawPeer.frame(RawPeer.request(2, "/crm.test.v1.Test/Echo")))
            if let body = try await iterator.next() { seen.append(try Envelope(frameBody: body)) }
            // Health still answers on the draining connection, as NOT_SERVING.
            var health = WireRequest()
            health.callID = 3
            health.method = "/crm.rpc.v1.Health/Check"
            try await outbound.write(RawPeer.frame(.request(health)))
            if let body = try await iterator.next() { seen.append(try Envelope(frameBody: body)) }
            // New connections are no longer accepted.
            await #expect(throws: (any Error).self) { _ = try await RawPeer.connect(port: port) }
            // The call in flight is let through and answered; then the server closes.
            await service.gate.open()
            while let body = try? await iterator.next() { seen.append(try Envelope(frameBody: body)) }
            await shutdown.value
            return seen
        }
        #expect(frames.count == 4)
        #expect(frames[0].goAway.lastCallID == 1)
        #expect(frames[1].response.callID == 2)
        #expect(frames[1].response.status.code == .unavailable)
        #expect(frames[2].response.callID == 3)
        let health = try HealthCheckResponse(serializedBytes: frames[2].response.payload)
        #expect(health.status == .notServing)
        #expect(frames[3].response.callID == 1)
        #expect(frames[3].response.status.code == .ok)
        #expect(await service.probe.counts.finished == 1)
    }

    @Test func callsStillRunningAfterTheGracePeriodAreAnsweredUnavailable() async throws {
        let service = TestService()
        let (server, port) = try await service.start(RPCServerConfiguration(shutdownGracePeriod: .milliseconds(100), security: TestTLS.server))
        let rpc = client(ports: [port])
        let call = Task { try await rpc.unary(TestMethods.block, Bench()) }
        await service.probe.until { $0.started == 1 }
        await server.shutdown()
        guard case let .failure(error as RPCError) = await call.result else {
            Issue.record("expected an RPCError")
            return
        }
        #expect(error.code == .unavailable)
        await service.probe.until { $0.cancelled == 1 }
        await rpc.close()
    }

    @Test func theClientReconnectsByItselfAfterTheServerRestarts() async throws {
        let first = TestService(name: "first")
        let (server, port) = try await first.start()
        let rpc = client(ports: [port])
        #expect(try await rpc.unary(TestMethods.echo, Bench()).tags == ["first"])
        await server.shutdown()

        let restarted = try await TestService(name: "second").restart(on: port)
        #expect(try await rpc.unary(TestMethods.echo, Bench()).tags == ["second"])
        await rpc.close()
        await restarted.shutdown()
    }

    @Test func callsGoRoundRobinOverReplicasAndSkipADeadOne() async throws {
        let (serverA, portA) = try await TestService(name: "a").start()
        let (serverB, portB) = try await TestService(name: "b").start()
        let rpc = client(ports: [portA, portB])
        var seen: [String: Int] = [:]
        for _ in 0..<10 {
            let name = try await rpc.unary(TestMethods.echo, Bench()).tags.last ?? "?"
            seen[name, default: 0] += 1
        }
        #expect(seen == ["a": 5, "b": 5])

        await serverB.shutdown()
        for _ in 0..<6 {
            let name = try await rpc.unary(TestMethods.echo, Bench()).tags.last
            #expect(name == "a")
        }
        await rpc.close()
        await serverA.shutdown()
    }

    /// A client told not to wait for ready (profiles' forwarding hop) fails each call while its
    /// endpoint is down at once — with no deadline at all, a waiting client would wait for ever —
    /// and reaches the endpoint again once it is back.
    @Test func aClientThatDoesNotWaitForReadyFailsAtOnceAndReconnectsWhenTheServerIsBack() async throws {
        // A reserved port, not a stopped server's: another suite's server could take a freed port.
        let reserved = try ReservedPort()
        let port = reserved.port
        let rpc = RPCClient(configuration: ClientConfiguration(
            endpoints: [Endpoint(host: "127.0.0.1", port: port)], security: TestTLS.client, token: TestTokens.caller,
            defaultDeadline: nil, initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(200), waitsForReady: false))
        for attempt in 0..<3 {
            do {
                _ = try await rpc.unary(TestMethods.echo, Bench())
                Issue.record("attempt \(attempt): expected UNAVAILABLE")
            } catch let error as RPCError {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("reachable now"), "\(error.message)")
            }
        }
        reserved.release()
        let restarted = try await TestService(name: "second").restart(on: port)
        var answered: [String] = []
        try await waitUntil {
            answered = (try? await rpc.unary(TestMethods.echo, Bench()).tags) ?? []
            return !answered.isEmpty
        }
        #expect(answered == ["second"])
        await rpc.close()
        await restarted.shutdown()
    }

    /// The endpoint is a reserved port nothing listens on (a stopped server's port could be taken
    /// by another suite's server meanwhile: a CI run's call reached one and timed out instead).
    @Test func aCallFailsWithUnavailableWhenNoEndpointComesBackBeforeItsDeadline() async throws {
        let reserved = try ReservedPort()
        defer { reserved.release() }
        let rpc = client(ports: [reserved.port], deadline: .milliseconds(300))
        do {
            _ = try await rpc.unary(TestMethods.echo, Bench())
            Issue.record("expected UNAVAILABLE")
        } catch let error as RPCError {
            #expect(error.code == .unavailable)
        }
        await rpc.close()
    }
}
