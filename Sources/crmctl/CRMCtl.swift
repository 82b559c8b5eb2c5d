import ArgumentParser

/// The operator's tool: brings the system up, calls any method, checks health, restarts a service.
/// It is a client like any other: everything it does goes through the services' RPCs.
@main
struct CRMCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract: "Operate the brokerage CRM services.",
        subcommands: [UpCommand.self, DemoCommand.self, ReportCommand.self, CallCommand.self, HealthCommand.self, RestartCommand.self, MethodsCommand.self]
    )
}

/// Options every subcommand that talks to services shares.
struct ClusterOptions: ParsableArguments {
    @Option(help: "Topology file naming every service's endpoints.")
    var topology: String = "services/topology.json"

    @Option(help: "Bearer token (default: $CRM_TOKEN, else the development admin token).")
    var token: String?

    @Option(help: "Folder holding the stores, logs and pid files of `crmctl up`.")
    var dataDir: String = "data"

    func loadTopology() throws -> Topology {
        try Topology.load(path: topology)
    }

    var effectiveToken: String {
        token ?? ProcessEnvironment.value("CRM_TOKEN") ?? Topology.developmentAdminToken
    }
}
