import ArgumentParser
import CRMServiceHost
import MatchingService

/// The matching service executable: configuration in, service run. See `--help`.
@main
struct MatchingMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-matching",
        abstract: "The CRM matching service: suitability, target customers, recommendations, campaigns."
    )

    @OptionGroup var options: HostOptions

    func run() async throws {
        try await ServiceHost.run(MatchingService.self, options: options)
    }
}
