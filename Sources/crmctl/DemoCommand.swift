import ArgumentParser
import Foundation

/// `crmctl demo`: a generated brokerage loaded into the running services through their RPCs, the
/// model trained, and a walkthrough of what the system does with it.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Load a generated brokerage into the running services, train the model and walk through the system.",
        discussion: """
        Loads customers a chunk at a time with a progress bar on standard error and records finished
        chunks in the state file: after Ctrl-C, the same command resumes where it stopped. Then loads
        the organisation, assignments and commission schemes into compensation, waits until matching
        holds every customer and product, trains the propensity model, waits until compensation has
        recorded every income event, settles the generated months (those not closed yet), and prints
        the walkthrough on standard output. Start the services first (crmctl up), or use crmctl up --demo.
        """
    )

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var demo: DemoOptions

    func validate() throws {
        try demo.validate()
    }

    func run() async throws {
        let runner = try DemoRunner(options: demo, cluster: cluster)
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM])
        do {
            try await Interruption.run(until: signals) { try await runner.run() }
        } catch is Interruption {
            FileHandle.standardError.write(Data("\n\(runner.interruptionNote())\n".utf8))
            throw ExitCode(130)
        }
    }
}

/// What `crmctl demo` and `crmctl up --demo` share.
struct DemoOptions: ParsableArguments {
    @Option(help: "Customers in the generated brokerage (100 to 1,000,000).")
    var customers: Int = DemoOptions.defaultCustomers

    @Option(help: "Seed of the generated brokerage: the same seed and size give the same firm.")
    var seed: UInt64 = 20_261_129

    @Option(help: "State file recording what was loaded, so that a rerun resumes (default: <data-dir>/demo-state.json).")
    var state: String?

    @Option(help: "Customers per chunk (default: 2% of the customers, 20 to 1,000).")
    var chunkSize: Int?

    @Option(help: "Trees of the propensity model (default: the matching service's, up to 1,500 with early stopping).")
    var trees: Int?

    @Flag(help: "Train a new model even when the current one was trained after the last load.")
    var retrain = false

    @Option(help: "Stop loading once this many chunks of this run are recorded, and wait for Ctrl-C (to load a firm in stages; a rerun resumes).")
    var pauseAfterChunks: Int?

    /// Small enough that loading, training and the walkthrough finish in a few minutes on 2 cores.
    static let defaultCustomers = 2_000

    func validate() throws {
        guard (100...1_000_000).contains(customers) else { throw ValidationError("--customers must be 100 to 1,000,000") }
        if let chunkSize, !(1...10_000).contains(chunkSize) { throw ValidationError("--chunk-size must be 1 to 10,000") }
        if let trees, !(1...1_000).contains(trees) { throw ValidationError("--trees must be 1 to 1,000") }
        if let pauseAfterChunks, pauseAfterChunks < 1 { throw ValidationError("--pause-after-chunks must be at least 1") }
    }

    var effectiveChunkSize: Int { chunkSize ?? min(1_000, max(20, customers / 50)) }

    func statePath(dataDir: String) -> String { state ?? "\(dataDir)/demo-state.json" }
}

/// Thrown by ``Interruption/run(until:_:)`` when a signal arrived before the work finished.
struct Interruption: Error {
    /// Runs `work` until it finishes or a signal arrives; on a signal the work is cancelled (its
    /// RPCs with it) and `Interruption` is thrown.
    static func run<T: Sendable>(until signals: SignalWatcher, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                await signals.next()
                if Task.isCancelled { return nil }
                throw Interruption()
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw Interruption()
        }
    }
}
