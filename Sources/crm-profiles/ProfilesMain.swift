import ArgumentParser
import CRMServiceHost
import ProfilesService

/// The profiles service executable: configuration in, service run. See `--help`.
@main
struct ProfilesMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-profiles",
        abstract: "The CRM profiles service: customers, events, dimensions, segments, change feed."
    )

    @OptionGroup var options: HostOptions

    func run() async throws {
        try await ServiceHost.run(ProfilesService.self, options: options)
    }
}
