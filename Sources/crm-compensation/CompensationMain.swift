import ArgumentParser
import CRMServiceHost
import CompensationService

/// The compensation service executable: configuration in, service run. See `--help`.
@main
struct CompensationMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-compensation",
        abstract: "The CRM compensation service: client managers, assignments, commission, settlement."
    )

    @OptionGroup var options: HostOptions

    func run() async throws {
        try await ServiceHost.run(CompensationService.self, options: options)
    }
}
