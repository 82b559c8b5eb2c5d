import ArgumentParser
import CRMReport
import Foundation

/// `crmctl report --html FILE`: the head-office report, one self-contained HTML file with SVG charts.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the head-office report: one self-contained HTML file with inline SVG charts.",
        discussion: """
        Reads the figures over RPC — customers per class and per branch (profiles), assets per tier,
        the campaigns `crmctl demo` created (recorded in its state file; matching has no call that
        lists campaigns) beside their baselines, the current model's held-out evaluation, and the
        best paid client managers of the last month compensation settled — and writes one HTML file
        that needs nothing from the network.
        """
    )

    @Option(help: "Where to write the HTML report.")
    var html: String

    @Option(help: "Also write the gathered figures as JSON here.")
    var figures: String?

    @Option(help: "The demo's state file, for its campaigns and the brokerage's branch names (default: <data-dir>/demo-state.json).")
    var state: String?

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let statePath = state ?? "\(cluster.dataDir)/demo-state.json"
        let demoState = try DemoState.load(path: statePath)
        let clients = try await DemoClients.connect(topology: try cluster.loadTopology(), security: try cluster.clientSecurity(), token: cluster.effectiveToken,
                                                    preferredMatching: demoState?.matchingEndpoint)
        defer { Task { await clients.close() } }
        let gathered = try await ReportCollector(clients: clients, state: demoState).collect()
        let page = HTMLReport.render(gathered)
        try Data(page.utf8).write(to: URL(fileURLWithPath: html), options: .atomic)
        if let figures {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(gathered).write(to: URL(fileURLWithPath: figures), options: .atomic)
        }
        print("wrote \(html) (\(Format.count(page.utf8.count / 1_024)) KB, \(HTMLReport.chartIDs(gathered).count) charts): "
              + "\(Format.count(gathered.totalCustomers)) customers, \(gathered.branches.count) branches, "
              + "\(gathered.campaigns.count) campaigns, model \(gathered.model?.version ?? "not trained"), "
              + (gathered.compensation.map { "pay of \($0.month)" } ?? "no month settled"))
    }
}
