import ArgumentParser
import CRMServiceHost
import Logging
import ProfilesService

/// The profiles service executable: configuration in, service run (the default command), or a
/// store's partitions split into files of their own. See `--help`.
@main
struct ProfilesMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-profiles",
        abstract: "The CRM profiles service: customers, events, dimensions, segments, change feed.",
        subcommands: [Serve.self, SplitPartitions.self],
        defaultSubcommand: Serve.self
    )

    /// Runs the service (what `crm-profiles` with no command does).
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the profiles service (the default command).")

        @OptionGroup var options: HostOptions

        func run() async throws {
            try await ServiceHost.run(ProfilesService.self, options: options)
        }
    }

    /// Splits a store that keeps every partition in one file into a file per partition, which the
    /// service then opens (its layout, unless `partitions.storage` says one-file; docs/partitioning.md §3).
    struct SplitPartitions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "split-partitions",
            abstract: "Split a stopped profiles store into a file per partition (<store>.partitions/p0007.sqlite).",
            discussion: """
            Stop the service first. Every customer's rows move to its partition's file with the same event ids and \
            change sequences; the store keeps the firm's records (partition count, saved segments, audit trail). \
            Then start the service as before (without partitions.storage=one-file): it finds the files. Consumers (matching, \
            compensation) read the new per-partition feeds from their start and recognise what they applied before.
            """
        )

        @Option(help: "The profiles store to split (the service's --database).")
        var database: String

        func run() async throws {
            let logger = Logger(label: "crm.profiles.split")
            let report = try PartitionSplit.split(storePath: database, logger: logger)
            print("split \(database): \(report)")
        }
    }
}
