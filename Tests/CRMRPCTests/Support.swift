import CRMProtos
import CRMRPC
import Foundation
import Logging
import CRMTestSupport
import NIOCore
import NIOPosix
import NIOSSL

typealias Bench = Crm_Bench_V1_BenchMessage

/// Tokens the test servers accept.
enum TestTokens {
    static let caller = "caller-token"
    static let ops = "ops-token"
    static let admin = "admin-token"

    static var authenticator: TokenAuthenticator {
        TokenAuthenticator(entries: [
            .init(sha256: TokenAuthenticator.hash(token: caller), principal: Principal(name: "caller", roles: ["caller"])),
            .init(sha256: TokenAuthenticator.hash(token: ops), principal: Principal(name: "ops", roles: ["ops"])),
            .init(sha256: TokenAuthenticator.hash(token: admin), principal: Principal(name: "root", roles: [Principal.adminRole])),
        ])
    }
}

/// The certificates every runtime test speaks TLS with, made once per test process: the wire tests
/// run over TLS as the services do; tests of plaintext say so.
enum TestTLS {
    static let pki: TestPKI = {
        do {
            return try TestPKI(directory: TestPKI.temporaryDirectory())
        } catch {
            fatalError("cannot make the test certificates: \(error)")
        }
    }()

    static let serverContext: ServerTLSContext = {
        do {
            return try ServerTLSContext(pki.serverFiles(try pki.issue("test-server")))
        } catch {
            fatalError("cannot make the test server's TLS context: \(error)")
        }
    }()

    static let clientContext: ClientTLSContext = {
        do {
            return try ClientTLSContext(pki.clientFiles())
        } catch {
            fatalError("cannot make the test client's TLS context: \(error)")
        }
    }()

    static var server: ServerSecurity { .tls(serverContext) }
    static var client: ClientSecurity { .tls(clientContext) }
}

/// A gate handlers wait at until the test opens it; waiting honours task cancellation.
actor Gate {
    private var isOpen = false
    private var waiters: [UUID: CheckedContinuation<Void, any Error>] = [:]

    func wait() async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if isOpen {
                    continuation.resume()
                } else if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    func open() {
        isOpen = true
        for waiter in waiters.values { waiter.resume() }
        waiters.removeAll()
    }

    private func cancel(_ id: UUID) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }
}

/// What handlers report, and a way for tests to wait for a condition on it without sleeping.
actor Probe {
    struct Counts: Sendable {
        var started = 0
        var finished = 0
        var cancelled = 0
        var active = 0
        var maxActive = 0
        var completionOrder: [Int64] = []
    }

    private(set) var counts = Counts()
    private var watchers: [(predicate: @Sendable (Counts) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

    func started() { update { $0.started += 1; $0.active += 1; $0.maxActive = max($0.maxActive, $0.active) } }
    func finished(_ value: Int64) { update { $0.finished += 1; $0.active -= 1; $0.completionOrder.append(value) } }
    func cancelled() { update { $0.cancelled += 1; $0.active -= 1 } }

    /// Returns once `predicate` holds.
    func until(_ predicate: @escaping @Sendable (Counts) -> Bool) async {
        if predicate(counts) { return }
        await withCheckedContinuation { watchers.append((predicate, $0)) }
    }

    private func update(_ change: (inout Counts) -> Void) {
        change(&counts)
        var remaining: [(predicate: @Sendable (Counts) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
        for watcher in watchers {
            if watcher.predicate(counts) { watcher.continuation.resume() } else { remaining.append(watcher) }
        }
        watchers = remaining
    }
}

/// Releases calls one at a time in a chosen order: the call holding `turn` goes next.
actor Turnstile {
    private var turn: Int64?
    private var waiters: [Int64: CheckedContinuation<Void, Never>] = [:]

    func wait(for value: Int64) async {
        if turn == value { return }
        await withCheckedContinuation { waiters[value] = $0 }
    }

    func pass(to value: Int64) {
        turn = value
        waiters.removeValue(forKey: value)?.resume()
    }
}

/// The methods the runtime tests call.
struct TestService: Sendable {
    let gate = Gate()
    let probe = Probe()
    let turnstile = Turnstile()
    let name: String

    init(name: String = "test") {
        self.name = name
    }

    var router: Router {
        var router = Router()
        let probe = probe, gate = gate, turnstile = turnstile, name = name
        router.unary(TestMethods.echo, policy: .roles("caller")) { request, _ in
            var response = request
            response.value = request.value * 2
            response.tags.append(name)
            return response
        }
        // Finishes in the order the turnstile dictates, to prove answers go out as calls finish.
        router.unary(TestMethods.ordered, policy: .roles("caller")) { request, _ in
            await probe.started()
            await turnstile.wait(for: request.value)
            await probe.finished(request.value)
            await turnstile.pass(to: request.value - 1)
            return request
        }
        // Waits at the gate; reports whether it was let through or cancelled.
        router.unary(TestMethods.block, policy: .roles("caller")) { request, _ in
            await probe.started()
            do {
                try await gate.wait()
            } catch {
                await probe.cancelled()
                throw error
            }
            await probe.finished(request.value)
            return request
        }
        router.serverStreaming(TestMethods.count, policy: .roles("caller")) { request, writer, _ in
            // "batches-of-N…": the same messages sent N at a time with write(contentsOf:), the last
            // batch holding the rest (one message or none takes the single-message path).
            if request.customerID.hasPrefix("batches-of-"), let size = Int(request.customerID.dropFirst(11).prefix { $0.isNumber }) {
                var batch: [Bench] = []
                for index in 0..<request.value {
                    batch.append(.with { $0.value = index })
                    if batch.count == size {
                        try await writer.write(contentsOf: batch)
                        batch.removeAll()
                    }
                }
                try await writer.write(contentsOf: batch)
            } else {
                // "padded-N": each message carries N bytes besides its value.
                let padding = request.customerID.hasPrefix("padded-")
                    ? String(repeating: "x", count: Int(request.customerID.dropFirst(7)) ?? 0) : ""
                for index in 0..<request.value {
                    try await writer.write(.with { $0.value = index; $0.customerID = padding })
                }
            }
            if request.customerID.hasSuffix("fail") {
                throw RPCError(.failedPrecondition, "failed after \(request.value) messages")
            }
        }
        router.unary(TestMethods.opsOnly, policy: .roles("ops")) { request, context in
            var response = request
            response.customerID = context.principal?.name ?? "-"
            return response
        }
        router.unary(TestMethods.crash, policy: .roles("caller")) { _, _ -> Bench in
            struct Unexpected: Error {}
            throw Unexpected()
        }
        return router
    }

    func start(_ configuration: RPCServerConfiguration = RPCServerConfiguration(security: TestTLS.server),
               logger: Logger = Logger(label: "crm.rpc.server"),
               credentials: ServerCredentials = ServerCredentials(tokens: TestTokens.authenticator),
               metrics: RPCServerMetrics? = nil) async throws -> (RPCServer, Int) {
        let server = RPCServer(serviceName: name, configuration: configuration, router: router, credentials: credentials,
                               logger: logger, metrics: metrics)
        let address = try await server.start()
        guard let port = address.port else { throw RPCError(.internal, "no port") }
        return (server, port)
    }

    /// Starts on `port` again — the port of a server of this test that stopped, or a reserved
    /// port just released — retrying while the port is in use: with every suite running at once,
    /// another suite's client may for a moment hold the freed port as the local port of one of
    /// its connections (a CI run's restart failed with EADDRINUSE that way). Gives up after 250
    /// attempts (another server listening there for good).
    func restart(on port: Int) async throws -> RPCServer {
        var attempt = 0
        while true {
            do {
                return try await start(RPCServerConfiguration(port: port, security: TestTLS.server)).0
            } catch let error as IOError where error.errnoCode == EADDRINUSE && attempt < 250 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

/// A client of the test servers, with no default deadline: every suite starts at once on two cores,
/// and on a machine busy with other builds any fixed budget can run out (a 10-second one expired
/// before a stream's first frame left the client on 29 Nov). Tests of deadlines pass their own.
func client(ports: [Int], token: String? = TestTokens.caller, deadline: TimeAmount? = nil,
            security: ClientSecurity = TestTLS.client) -> RPCClient {
    RPCClient(configuration: ClientConfiguration(
        endpoints: ports.map { Endpoint(host: "127.0.0.1", port: $0) },
        security: security,
        token: token,
        defaultDeadline: deadline,
        initialBackoff: .milliseconds(10),
        maximumBackoff: .milliseconds(200)
    ))
}

/// A bare peer that speaks frames by hand, for what a well-behaved client never sends: over TLS
/// (trusting the test CA) unless `tls` is false.
struct RawPeer {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(port: Int, tls: Bool = true) async throws -> RawPeer {
        let context: NIOSSLContext? = tls ? try NIOSSLContext(configuration: {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv13
            configuration.trustRoots = .file(TestTLS.pki.ca.certificate)
            return configuration
        }()) : nil
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawPeer(channel: channel)
    }

    static func frame(_ envelope: Envelope) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try buffer.writeFrame(envelope)
        return buffer
    }

    static func request(_ id: UInt64, _ method: String, _ message: Bench = Bench(), token: String = TestTokens.caller, deadlineMs: UInt32 = 0) throws -> Envelope {
        var request = WireRequest()
        request.callID = id
        request.method = method
        request.deadlineMs = deadlineMs
        request.metadata = [MetadataEntry("authorization", "Bearer \(token)")]
        request.payload = try message.serializedData()
        return .request(request)
    }
}

/// Reads envelopes until the peer closes; connection resets count as closing.
func readUntilClosed(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) async -> [Envelope] {
    var envelopes: [Envelope] = []
    do {
        for try await body in inbound {
            if let envelope = try? Envelope(frameBody: body) { envelopes.append(envelope) }
        }
    } catch {}
    return envelopes
}

/// The test service's methods, as the generated descriptors of the contract's services are.
enum TestMethods {
    static let service = "crm.test.v1.Test"
    static let echo = UnaryMethod<Bench, Bench>(service: service, name: "Echo")
    static let ordered = UnaryMethod<Bench, Bench>(service: service, name: "Ordered")
    static let block = UnaryMethod<Bench, Bench>(service: service, name: "Block")
    static let opsOnly = UnaryMethod<Bench, Bench>(service: service, name: "OpsOnly")
    static let crash = UnaryMethod<Bench, Bench>(service: service, name: "Crash")
    static let count = ServerStreamingMethod<Bench, Bench>(service: service, name: "Count")
    /// Not registered: what an unknown method gets.
    static let nope = UnaryMethod<Bench, Bench>(service: service, name: "Nope")
    static let noSuchMethod = UnaryMethod<Bench, Bench>(service: service, name: "NoSuchMethod")
}
