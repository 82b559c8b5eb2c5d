import ArgumentParser
import CRMRPC
import NIOCore

/// `crmctl probe HOST:PORT`: one endpoint's Health as an exit code, for Kubernetes readiness and
/// liveness probes (an exec probe inside the service's own container).
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Check one endpoint's health: exits 0 when it is serving (with --live, when it answers at all), 1 otherwise.",
        discussion: """
            Readiness: `crmctl probe localhost:7103 --tls-ca /etc/crm/tls/ca.crt` succeeds only once the service serves \
            (a matching replica only once its copy is loaded). Liveness: `--live` also accepts NOT_SERVING (starting or \
            draining), so a replica catching up is not restarted. Prints the answer on one line.
            """
    )

    @Argument(help: "The endpoint, HOST:PORT (its certificate must name HOST).")
    var endpoint: String

    @Flag(help: "Succeed when the service answers at all, serving or not.")
    var live = false

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Int = 2

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        guard let target = Endpoint(endpoint) else { throw ValidationError("\(endpoint) is not HOST:PORT") }
        let status = await HealthProbe.check(target, security: try cluster.clientSecurity(), timeout: .seconds(Int64(max(timeout, 1))))
        print(status.text)
        if !(status.serving || (live && status.answered)) { throw ExitCode(1) }
    }
}
