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
        let security = try cluster.clientSecurity()
        var allServing = true
        for service in topology.services {
            for endpoint in try topology.endpoints(of: service) {
                let status = await HealthProbe.check(endpoint, security: security)
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
        /// Why an answering service is not serving yet (`not_serving_reason`, e.g. a matching
        /// replica catching up); nil when it serves, is down, or is draining.
        var startingReason: String? = nil
    }

    static func check(_ endpoint: Endpoint, security: ClientSecurity, timeout: TimeAmount = .seconds(2)) async -> Status {
        let client = RPCClient(configuration: ClientConfiguration(endpoints: [endpoint], security: security, defaultDeadline: timeout,
                                                                  initialBackoff: .milliseconds(20)))
        defer { Task { await client.close() } }
        do {
            let response = try await client.unary(Crm_Rpc_V1_Health.check, HealthCheckRequest())
            let details = response.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let serving = response.status == .serving
            let reason = response.details["not_serving_reason"]
            let starting = serving || reason == nil || reason == "draining before shutdown" ? nil : reason
            return Status(serving: serving, text: "\(serving ? "SERVING" : "NOT_SERVING")  \(details)", startingReason: starting)
        } catch {
            return Status(serving: false, text: "DOWN  \(error)")
        }
    }
}

extension HealthProbe {
    /// Waits until `endpoint` serves. A service still starting (answering NOT_SERVING with a
    /// reason, e.g. a matching replica whose copy is catching up with a large book) is waited for
    /// as long as it takes, its reason shown every few seconds; one that does not answer at all
    /// for `downLimit`, or is draining, is an error. `alive` is asked between probes (a process
    /// that exited will never serve).
    static func waitUntilServing(_ endpoint: Endpoint, name: String, security: ClientSecurity, downLimit: Duration = .seconds(30),
                                 alive: () -> String? = { nil }) async throws {
        let clock = ContinuousClock()
        var lastAnswer = clock.now
        var lastNote = clock.now
        while true {
            if let exited = alive() { throw CRMCtlError(exited) }
            let status = await check(endpoint, security: security, timeout: .milliseconds(500))
            if status.serving { return }
            if let reason = status.startingReason {
                lastAnswer = clock.now
                if clock.now - lastNote >= .seconds(5) {
                    Console.note("\(name) on \(endpoint) is starting: \(reason)")
                    lastNote = clock.now
                }
            } else if clock.now - lastAnswer >= downLimit {
                throw CRMCtlError("\(name) on \(endpoint) did not serve within \(downLimit): \(status.text)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
