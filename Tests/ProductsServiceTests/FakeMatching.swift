import CRMProtos
import CRMRPC
import NIOCore
import Synchronization

/// A stand-in for the matching service's DecideSuitability on 127.0.0.1 and a free port: the real
/// runtime and wire, a deterministic answer. (The real matching service is tested against products
/// with the matching issue.)
final class FakeMatching: Sendable {
    let server: RPCServer
    let port: Int
    private let asked = Mutex<[Crm_Matching_V1_DecideSuitabilityRequest]>([])
    /// The time each request had left when it arrived (nil: it came without a deadline).
    private let timeLeft = Mutex<[TimeAmount?]>([])

    private init(server: RPCServer, port: Int) {
        self.server = server
        self.port = port
    }

    static func start(
        _ decide: @escaping @Sendable (Crm_Matching_V1_DecideSuitabilityRequest) -> Crm_Matching_V1_DecideSuitabilityResponse
    ) async throws -> FakeMatching {
        let box = Mutex<FakeMatching?>(nil)
        var router = Router()
        router.unary(Crm_Matching_V1_Matching.decideSuitability, policy: .roles("service")) { request, context in
            let fake = box.withLock { $0 }
            fake?.asked.withLock { $0.append(request) }
            fake?.timeLeft.withLock { $0.append(context.deadline.map { $0 - .now() }) }
            return decide(request)
        }
        let server = RPCServer(
            serviceName: "matching",
            configuration: RPCServerConfiguration(port: 0),
            router: router,
            authenticator: TokenAuthenticator(entries: [
                .init(sha256: TokenAuthenticator.hash(token: "peer"), principal: Principal(name: "crm-services", roles: ["service"])),
            ])
        )
        let address = try await server.start()
        let fake = FakeMatching(server: server, port: address.port ?? 0)
        box.withLock { $0 = fake }
        return fake
    }

    var requests: [Crm_Matching_V1_DecideSuitabilityRequest] { asked.withLock { $0 } }
    var deadlinesLeft: [TimeAmount?] { timeLeft.withLock { $0 } }

    /// The client the products service uses for its `matching` peer.
    func client() -> RPCClient {
        RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], token: "peer", defaultDeadline: .seconds(5)))
    }

    func stop() async {
        await server.shutdown()
    }
}
