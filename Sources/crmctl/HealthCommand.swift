import ArgumentParser
import CRMRPC
import Foundation
import NIOCore

/// `crmctl health`: every endpoint of the topology, SERVING or not.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check every service's health; exits non-zero if any endpoint is not serving."
    )

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let topology = try cluster.loadTopology()
        var allServing = true
        for service in topology.services {
            for endpoint in try topology.endpoints(of: service) {
                let status = await HealthProbe.check(endpoint)
                allServing = allServing && status.serving
                print("\(service.padding(toLength: 13, withPad: " ", startingAt: 0)) \(endpoint.description.padding(toLength: 22, withPad: " ", startingAt: 0)) \(status.text)")
            }
        }
        if !allServing { throw ExitCode(1) }
    }
}

/// One health check against one endpoint, with a short deadline.
enum HealthProbe {
    struct Status {
        var serving: Bool
        var text: String
    }

    static func check(_ endpoint: Endpoint, timeout: TimeAmount = .seconds(2)) async -> Status {
        let client = RPCClient(configuration: ClientConfiguration(endpoints: [endpoint], defaultDeadline: timeout, initialBackoff: .milliseconds(20)))
        defer { Task { await client.close() } }
        do {
            let response = try await client.unary("/crm.rpc.v1.Health/Check", HealthCheckRequest(), as: HealthCheckResponse.self)
            let details = response.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let serving = response.status == .serving
            return Status(serving: serving, text: "\(serving ? "SERVING" : "NOT_SERVING")  \(details)")
        } catch {
            return Status(serving: false, text: "DOWN  \(error)")
        }
    }
}
