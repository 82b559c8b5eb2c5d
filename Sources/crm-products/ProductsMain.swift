import ArgumentParser
import CRMServiceHost
import ProductsService

/// The products service executable: configuration in, service run. See `--help`.
@main
struct ProductsMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-products",
        abstract: "The CRM products service: the product library, e-contracts, orders behind the suitability gate, the change feed."
    )

    @OptionGroup var options: HostOptions

    func run() async throws {
        try await ServiceHost.run(ProductsService.self, options: options)
    }
}
