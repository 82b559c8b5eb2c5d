@testable import CRMRPC
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing
import CRMTestSupport

/// What the server writes to its log: one line per finished call naming the method, the caller's
/// request id, the principal and the status; and repeated warnings about one peer held back.
@Suite struct LoggingTests {
    /// A log handler that keeps what it is given.
    final class Recorder: LogHandler, @unchecked Sendable {
        struct Entry: Sendable {
            let level: Logger.Level
            let message: String
            let metadata: [String: String]
        }

        private let entries = Mutex<[Entry]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            entries.withLock { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" })) }
        }

        var recorded: [Entry] { entries.withLock { $0 } }
    }

    /// A logger writing into `recorder` (the handler is a class: copies of the logger share it).
    static func logger(_ recorder: Recorder) -> Logger {
        Logger(label: "crm.rpc.server") { _ in recorder }
    }

    @Test func everyFinishedCallLogsItsMethodRequestIDPrincipalAndStatus() async throws {
        let recorder = Recorder()
        let (server, port) = try await TestService().start(logger: Self.logger(recorder))
        let caller = client(ports: [port])
        _ = try await caller.unary(TestMethods.echo, Bench.with { $0.value = 1 },
                                   options: CallOptions(metadata: [MetadataEntry("request-id", "order-7731")]))
        _ = await statusOf { _ = try await caller.unary(TestMethods.nope, Bench(),
                                                             options: CallOptions(metadata: [MetadataEntry("request-id", "lost-1")])) }
        _ = await statusOf { _ = try await caller.unary(TestMethods.opsOnly, Bench(),
                                                             options: CallOptions(metadata: [MetadataEntry("request-id", "denied-1")])) }
        await caller.close()
        await server.shutdown()

        let calls = recorder.recorded.filter { $0.message == "call finished" }
        let echo = calls.first { $0.metadata["request-id"] == "order-7731" }
        #expect(echo?.metadata["method"] == "/crm.test.v1.Test/Echo")
        #expect(echo?.metadata["principal"] == "caller")
        #expect(echo?.metadata["status"] == "OK")
        #expect(echo?.metadata["duration-ms"] != nil)
        #expect(echo?.level == .debug)
        let unknown = calls.first { $0.metadata["request-id"] == "lost-1" }
        #expect(unknown?.metadata["status"] == "UNIMPLEMENTED")
        let denied = calls.first { $0.metadata["request-id"] == "denied-1" }
        #expect(denied?.metadata["status"] == "PERMISSION_DENIED")
        #expect(denied?.metadata["principal"] == "caller")
    }

    @Test func atInfoNoCallIsLogged() async throws {
        let recorder = Recorder()
        recorder.logLevel = .info
        let (server, port) = try await TestService().start(logger: Self.logger(recorder))
        let caller = client(ports: [port])
        _ = try await caller.unary(TestMethods.echo, Bench.with { $0.value = 1 })
        await caller.close()
        await server.shutdown()
        #expect(!recorder.recorded.contains { $0.message == "call finished" })
    }

    @Test func repeatedWarningsAboutOnePeerAreHeldBack() async throws {
        let recorder = Recorder()
        let (server, port) = try await TestService().start(logger: Self.logger(recorder))
        // Twenty connections that each send an envelope a client must never send.
        for _ in 0..<20 {
            let peer = try await RawPeer.connect(port: port)
            _ = try await peer.channel.executeThenClose { inbound, outbound in
                try await outbound.write(RawPeer.frame(.goAway(lastCallID: 0, reason: "not yours to send")))
                return await readUntilClosed(inbound)
            }
        }
        await server.shutdown()
        let warnings = recorder.recorded.filter { $0.level == .warning && $0.message.contains("the peer sent") }
        #expect(warnings.count == 5, "\(warnings.map(\.message))")
    }

    @Test func theLimiterLetsABurstThroughPerWindowAndCountsTheRest() {
        let limiter = PeerWarningLimiter(burst: 2, window: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        typealias D = PeerWarningLimiter.Decision
        #expect(limiter.admit(host: "10.0.0.1", now: start) == D(log: true, suppressed: 0))
        #expect(limiter.admit(host: "10.0.0.1", now: start + .seconds(1)) == D(log: true, suppressed: 0))
        #expect(limiter.admit(host: "10.0.0.1", now: start + .seconds(2)) == D(log: false, suppressed: 1))
        #expect(limiter.admit(host: "10.0.0.1", now: start + .seconds(3)) == D(log: false, suppressed: 2))
        // Another host has its own share.
        #expect(limiter.admit(host: "10.0.0.2", now: start + .seconds(3)) == D(log: true, suppressed: 0))
        // A new window: let through, saying how many were held back.
        #expect(limiter.admit(host: "10.0.0.1", now: start + .seconds(61)) == D(log: true, suppressed: 2))
        #expect(limiter.admit(host: "10.0.0.1", now: start + .seconds(62)) == D(log: true, suppressed: 0))
        // A bounded memory of hosts.
        let small = PeerWarningLimiter(burst: 1, window: .seconds(60), capacity: 3)
        for host in 0..<10 { _ = small.admit(host: "10.0.1.\(host)", now: start) }
        #expect(small.hostCount <= 3)
    }
}
