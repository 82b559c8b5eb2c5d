import CRMRPC
import Foundation
import NIOCore
import Testing

/// Peers that break the protocol: each loses its own connection and nobody else notices.
@Suite struct WireAbuseTests {
    @Test func anOversizedFrameIsRefusedWithResourceExhaustedAndTheConnectionCloses() async throws {
        let (server, port) = try await TestService().start(RPCServerConfiguration(limits: WireLimits(maxFrameLength: 1024), security: TestTLS.server))
        let peer = try await RawPeer.connect(port: port)
        let received = try await peer.channel.executeThenClose { inbound, outbound in
            // Only the prefix: the server must answer without waiting for the body.
            try await outbound.write(ByteBuffer(bytes: [0x00, 0x00, 0x04, 0x01]))
            return await readUntilClosed(inbound)
        }
        #expect(received.count == 1)
        #expect(received.first?.response.callID == 0)
        #expect(received.first?.response.status.code == .resourceExhausted)
        await server.shutdown()
    }

    @Test func aLengthClaimingFourGibibytesIsRefusedToo() async throws {
        let (server, port) = try await TestService().start()
        let peer = try await RawPeer.connect(port: port)
        let received = try await peer.channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]))
            return await readUntilClosed(inbound)
        }
        #expect(received.first?.response.status.code == .resourceExhausted)
        await server.shutdown()
    }

    @Test func garbageBytesCloseOnlyThatConnection() async throws {
        let (server, port) = try await TestService().start()
        let bystander = client(ports: [port])
        _ = try await bystander.unary(TestMethods.echo, Bench.with { $0.value = 1 })

        let peer = try await RawPeer.connect(port: port)
        let received = try await peer.channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x03, 0x0F, 0xFF, 0xFF]))
            return await readUntilClosed(inbound)
        }
        #expect(received.isEmpty)

        // An envelope kind a client must never send also closes only its own connection.
        let second = try await RawPeer.connect(port: port)
        let secondReceived = try await second.channel.executeThenClose { inbound, outbound in
            try await outbound.write(RawPeer.frame(.goAway(lastCallID: 0, reason: "not yours to send")))
            return await readUntilClosed(inbound)
        }
        #expect(secondReceived.isEmpty)

        let echo = try await bystander.unary(TestMethods.echo, Bench.with { $0.value = 5 })
        #expect(echo.value == 10)
        await bystander.close()
        await server.shutdown()
    }

    @Test func aPeerThatStallsMidFrameIsDropped() async throws {
        let (server, port) = try await TestService().start(RPCServerConfiguration(stalledFrameTimeout: .milliseconds(200), security: TestTLS.server))
        let peer = try await RawPeer.connect(port: port)
        let received = try await peer.channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x40, 0x0A]))
            return await readUntilClosed(inbound)
        }
        #expect(received.isEmpty)
        await server.shutdown()
    }

    @Test func reusingAnOpenCallIDClosesTheConnection() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let peer = try await RawPeer.connect(port: port)
        let received = try await peer.channel.executeThenClose { inbound, outbound in
            try await outbound.write(RawPeer.frame(RawPeer.request(3, "/crm.test.v1.Test/Block")))
            await service.probe.until { $0.started == 1 }
            try await outbound.write(RawPeer.frame(RawPeer.request(3, "/crm.test.v1.Test/Echo")))
            return await readUntilClosed(inbound)
        }
        #expect(received.isEmpty)
        await service.probe.until { $0.cancelled == 1 }
        await server.shutdown()
    }

    @Test func aCancelFrameEndsTheCallWithCancelled() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let peer = try await RawPeer.connect(port: port)
        let answer = try await peer.channel.executeThenClose { inbound, outbound in
            try await outbound.write(RawPeer.frame(RawPeer.request(9, "/crm.test.v1.Test/Block")))
            await service.probe.until { $0.started == 1 }
            try await outbound.write(RawPeer.frame(.cancel(callID: 9)))
            var iterator = inbound.makeAsyncIterator()
            return try await iterator.next().map { try Envelope(frameBody: $0) }
        }
        #expect(answer?.response.callID == 9)
        #expect(answer?.response.status.code == .cancelled)
        await service.probe.until { $0.cancelled == 1 }
        await server.shutdown()
    }
}

@Suite struct ReservedCallIDTests {
    @Test func aRequestWithCallIDZeroClosesTheConnectionWithoutRunning() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let peer = try await RawPeer.connect(port: port)
        let received = try await peer.channel.executeThenClose { inbound, outbound in
            try await outbound.write(RawPeer.frame(RawPeer.request(0, "/crm.test.v1.Test/Block")))
            return await readUntilClosed(inbound)
        }
        #expect(received.isEmpty)
        #expect(await service.probe.counts.started == 0)
        await server.shutdown()
    }
}
