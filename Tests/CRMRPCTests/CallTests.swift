import CRMRPC
import Foundation
import NIOCore
import Testing

/// One connection, many calls: multiplexing, deadlines, cancellation, streams, error mapping.
@Suite struct CallTests {
    @Test func twoHundredConcurrentCallsOnOneConnectionAreAnsweredAsTheyFinish() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let rpc = client(ports: [port])
        let count: Int64 = 200
        let results = try await withThrowingTaskGroup(of: Int64.self) { group in
            for value in 1...count {
                group.addTask {
                    let response = try await rpc.unary(TestMethods.ordered, Bench.with { $0.value = value })
                    return response.value
                }
            }
            // Every call is in flight before any may finish; then they finish last-sent first.
            await service.probe.until { $0.started == Int(count) }
            await service.turnstile.pass(to: count)
            var received: [Int64] = []
            for try await value in group { received.append(value) }
            return received
        }
        #expect(results.sorted() == Array(1...count))
        let order = await service.probe.counts.completionOrder
        #expect(order == Array((1...count).reversed()))
        await rpc.close()
        await server.shutdown()
    }

    @Test func anExpiredDeadlineAnswersDeadlineExceededAndCancelsTheHandler() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let rpc = client(ports: [port])
        await #expect(throws: RPCError.self) {
            do {
                _ = try await rpc.unary(TestMethods.block, Bench(), options: .timeout(.milliseconds(150)))
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
                throw error
            }
        }
        await service.probe.until { $0.cancelled == 1 }
        #expect(await service.probe.counts.finished == 0)
        // The connection still serves.
        let echo = try await rpc.unary(TestMethods.echo, Bench.with { $0.value = 4 })
        #expect(echo.value == 8)
        await rpc.close()
        await server.shutdown()
    }

    @Test func theServerEnforcesTheDeadlineItReceives() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let peer = try await RawPeer.connect(port: port)
        let envelopes = try await peer.channel.executeThenClose { inbound, outbound in
            try await outbound.write(RawPeer.frame(RawPeer.request(1, "/crm.test.v1.Test/Block", deadlineMs: 100)))
            var iterator = inbound.makeAsyncIterator()
            guard let body = try await iterator.next() else { return [Envelope]() }
            return [try Envelope(frameBody: body)]
        }
        #expect(envelopes.first?.response.status.code == .deadlineExceeded)
        #expect(envelopes.first?.response.callID == 1)
        await service.probe.until { $0.cancelled == 1 }
        await server.shutdown()
    }

    @Test func cancellingTheCallingTaskCancelsTheCallOnTheServer() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let rpc = client(ports: [port])
        let call = Task {
            try await rpc.unary(TestMethods.block, Bench())
        }
        await service.probe.until { $0.started == 1 }
        call.cancel()
        let outcome = await call.result
        guard case let .failure(error as RPCError) = outcome else {
            Issue.record("expected an RPCError, got \(outcome)")
            return
        }
        #expect(error.code == .cancelled)
        await service.probe.until { $0.cancelled == 1 }
        await rpc.close()
        await server.shutdown()
    }

    @Test func aServerStreamDeliversEveryMessageInOrderThenTheStatus() async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let rpc = client(ports: [port])
        let messages = try await rpc.serverStreaming(TestMethods.count, Bench.with { $0.value = 500 }).collect()
        #expect(messages.map(\.value) == Array(0..<500))

        var received: [Int64] = []
        await #expect(throws: RPCError.self) {
            for try await message in try await rpc.serverStreaming(TestMethods.count, Bench.with { $0.value = 3; $0.customerID = "fail" }) {
                received.append(message.value)
            }
        }
        #expect(received == [0, 1, 2])
        await rpc.close()
        await server.shutdown()
    }

    /// A handler that sends its messages in batches (`write(contentsOf:)`, one trip to the event loop
    /// per batch) delivers the same messages in the same order as one by one, whatever the batch
    /// size against the count (full batches, a remainder of one, an empty last batch), and a failure
    /// after the batches still reaches the caller after every message it sent.
    @Test(arguments: [1, 7, 64, 500, 1000])
    func aStreamSentInBatchesDeliversEveryMessageInOrder(batchSize: Int) async throws {
        let service = TestService()
        let (server, port) = try await service.start()
        let rpc = client(ports: [port])
        for count: Int64 in [0, 1, 8, 500] {
            let messages = try await rpc.serverStreaming(TestMethods.count, Bench.with { $0.value = count; $0.customerID = "batches-of-\(batchSize)" }).collect()
            #expect(messages.map(\.value) == Array(0..<count), "\(count) messages in batches of \(batchSize)")
        }
        var received: [Int64] = []
        await #expect(throws: RPCError.self) {
            for try await message in try await rpc.serverStreaming(TestMethods.count, Bench.with { $0.value = 15; $0.customerID = "batches-of-\(batchSize)-fail" }) {
                received.append(message.value)
            }
        }
        #expect(received == Array(0..<15))
        await rpc.close()
        await server.shutdown()
    }

    @Test func unknownMethodsAnswerUnimplemented() async throws {
        let (server, port) = try await TestService().start()
        let rpc = client(ports: [port])
        do {
            _ = try await rpc.unary(TestMethods.noSuchMethod, Bench())
            Issue.record("expected UNIMPLEMENTED")
        } catch let error as RPCError {
            #expect(error.code == .unimplemented)
            #expect(error.message.contains("/crm.test.v1.Test/NoSuchMethod"))
        }
        await rpc.close()
        await server.shutdown()
    }

    @Test func aMalformedPayloadGetsInvalidArgumentAndTheConnectionKeepsServing() async throws {
        let (server, port) = try await TestService().start()
        let rpc = client(ports: [port])
        do {
            _ = try await rpc.unaryRaw("/crm.test.v1.Test/Echo", payload: Data([0x0A, 0x09, 0x41]))
            Issue.record("expected INVALID_ARGUMENT")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(error.fieldViolations.map(\.field) == ["payload"])
        }
        let echo = try await rpc.unary(TestMethods.echo, Bench.with { $0.value = 21 })
        #expect(echo.value == 42)
        await rpc.close()
        await server.shutdown()
    }

    @Test func anUnmappedHandlerErrorIsInternalWithoutDetails() async throws {
        let (server, port) = try await TestService().start()
        let rpc = client(ports: [port])
        do {
            _ = try await rpc.unary(TestMethods.crash, Bench())
            Issue.record("expected INTERNAL")
        } catch let error as RPCError {
            #expect(error.code == .internal)
            #expect(!error.message.contains("Unexpected"))
        }
        await rpc.close()
        await server.shutdown()
    }

    @Test func callsBeyondTheConcurrencyLimitWaitInsteadOfRunning() async throws {
        let service = TestService()
        let (server, port) = try await service.start(RPCServerConfiguration(maxConcurrentCallsPerConnection: 4, security: TestTLS.server))
        let rpc = client(ports: [port])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for value in 1...12 {
                group.addTask { _ = try await rpc.unary(TestMethods.block, Bench.with { $0.value = Int64(value) }) }
            }
            await service.probe.until { $0.started == 4 }
            await service.gate.open()
            try await group.waitForAll()
        }
        let counts = await service.probe.counts
        #expect(counts.finished == 12)
        #expect(counts.maxActive == 4)
        await rpc.close()
        await server.shutdown()
    }

    @Test func pingsAreAnswered() async throws {
        let (server, port) = try await TestService().start()
        let rpc = client(ports: [port])
        let roundTrip = try await rpc.ping()
        #expect(roundTrip > .zero)
        await rpc.close()
        await server.shutdown()
    }
}
