import ArgumentParser
import CRMRPC

/// The operator's tool: brings the system up, calls any method, checks health, restarts a service.
/// It is a client like any other: everything it does goes through the services' RPCs.
@main
struct CRMCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract: "Operate the brokerage CRM services.",
        subcommands: [UpCommand.self, DemoCommand.self, ReportCommand.self, CallCommand.self, AuditCommand.self, HealthCommand.self, ProbeCommand.self, RestartCommand.self, MethodsCommand.self, TopCommand.self, PartitionsCommand.self]
    )
}

/// Options every subcommand that talks to services shares.
struct ClusterOptions: ParsableArguments {
    @Option(help: "Topology file naming every service's endpoints.")
    var topology: String = "services/topology.json"

    @Option(help: "Bearer token (default: $CRM_TOKEN, else none with --tls-certificate, else the development admin token).")
    var token: String?

    @Option(help: "Folder holding the stores, logs and pid files of `crmctl up`.")
    var dataDir: String = "data"

    @Option(help: "CA certificate (PEM) the services' certificates must chain to (default: $CRM_TLS_CA, else <data-dir>/certs/ca.crt).")
    var tlsCa: String?

    @Option(help: "A client certificate (PEM) to present: mutual TLS, whose principal applies to calls sent without a token.")
    var tlsCertificate: String?

    @Option(help: "The private key (PEM) of --tls-certificate.")
    var tlsKey: String?

    @Flag(help: "Talk to services started with --plaintext (loopback only).")
    var plaintext = false

    func loadTopology() throws -> Topology {
        try Topology.load(path: topology)
    }

    /// TLS trusting the CA of `certs` (the development one by default), or plaintext if asked for.
    func clientSecurity(certs: String? = nil) throws -> ClientSecurity {
        if plaintext { return .plaintext() }
        let ca = tlsCa ?? ProcessEnvironment.value("CRM_TLS_CA") ?? "\(certs ?? "\(dataDir)/certs")/ca.crt"
        do {
            return .tls(try ClientTLSContext(TLSFiles(certificateChain: tlsCertificate, privateKey: tlsKey, trustRoots: ca)))
        } catch {
            throw CRMCtlError("\(error). The development certificates come from scripts/dev-certs.sh (crmctl up makes them); "
                + "give --tls-ca for another CA, or --plaintext for services run without TLS")
        }
    }

    /// The token to send: given, else $CRM_TOKEN, else none when a client certificate is presented
    /// (a call with a token runs as the token's principal, so sending the development token would
    /// hide the certificate's), else the development admin token.
    var effectiveToken: String? {
        token ?? ProcessEnvironment.value("CRM_TOKEN") ?? (tlsCertificate == nil ? Topology.developmentAdminToken : nil)
    }
}
