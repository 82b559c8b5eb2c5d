import CRMProtos
import CRMRPC
import Foundation
import NIOCore
import NIOPosix
import Tracing

/// The RPC stack under the same load as ``BareEcho``: a real ``RPCServer`` with one echo method
/// and ``RPCClient``s whose calling tasks run on their connection's event loop.
enum RPCLoad {
    static let method = Crm_Bench_V1_Bench.echo
    static let token = "bench-token"

    static func startServer(group: any EventLoopGroup, security: ServerSecurity = .plaintext(),
                            metrics: RPCServerMetrics? = nil, tracer: (any Tracer)? = nil,
                            followsCallerSampling: Bool = true) async throws -> (RPCServer, Int) {
        var router = Router()
        router.unary(method, policy: .roles("bench")) { request, _ in
            request
        }
        let server = RPCServer(
            serviceName: "bench",
            configuration: RPCServerConfiguration(security: security, tracer: tracer, followsCallerSampling: followsCallerSampling),
            router: router,
            authenticator: TokenAuthenticator(entries: [
                .init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["bench"])),
            ]),
            group: group,
            metrics: metrics
        )
        let address = try await server.start()
        return (server, address.port ?? 0)
    }

    /// One client (one connection) with `inFlight` calling loops until `duration` is over. Each loop
    /// sends the entries of `metadata` in turn, one per call (starting at its own offset), so a
    /// share of the calls can carry something else (a sampled `traceparent` among unsampled ones).
    static func load(port: Int, group: any EventLoopGroup, message: Crm_Bench_V1_BenchMessage, inFlight: Int, duration: TimeAmount,
                     security: ClientSecurity = .plaintext(), metrics: RPCClientMetrics? = nil,
                     metadata: [[MetadataEntry]] = [[]]) async throws -> [Int64] {
        let options = metadata.map { CallOptions(metadata: $0) }
        let loop = group.next()
        let client = RPCClient(
            configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], security: security, token: token,
                                               defaultDeadline: .seconds(10), metrics: metrics),
            group: loop
        )
        defer { Task { await client.close() } }
        _ = try await client.unary(method, message)  // connect
        let executor = EventLoopTaskExecutor(eventLoop: loop)
        let until = NIODeadline.now() + duration
        return try await withThrowingTaskGroup(of: [Int64].self) { group in
            for loop in 0..<inFlight {
                group.addTask(executorPreference: executor) {
                    var latencies: [Int64] = []
                    latencies.reserveCapacity(1 << 16)
                    var turn = loop % options.count
                    while true {
                        let start = NIODeadline.now()
                        guard start < until else { break }
                        _ = try await client.unary(method, message, options: options[turn])
                        turn = turn + 1 == options.count ? 0 : turn + 1
                        latencies.append(Int64(NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds))
                    }
                    return latencies
                }
            }
            var all: [Int64] = []
            for try await part in group { all += part }
            return all
        }
    }
}
