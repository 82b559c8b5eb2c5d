import CRMRPC
import CRMTestSupport
import Foundation
import GRDB
import Synchronization
import Testing
@testable import ProfilesService

/// The drain of a partition for a move (docs/partitioning.md §8), on the cores themselves: it
/// refuses new calls at once and waits for the ones in flight before it closes the file, so a call
/// admitted before the drain still finds its file open. The integration tests cannot show the
/// wait: a call between its admission and its write is too short a window to hit.
@Suite struct PartitionDrainTests {
    @Test func aDrainRefusesNewCallsAndWaitsForTheOnesInFlightBeforeClosingTheFile() async throws {
        try await withService(await ProfilesHarness.start(settings: PartitionFilesTests.filesSettings)) { harness in
            let cores = harness.service.service.cores
            let partition = try #require(cores.all.first?.partition)
            _ = try await harness.upsert(try #require((0..<200).map { "D\($0)" }.first { harness.service.service.routing.partition(of: $0) == partition }))
            // The harness runs no updater: as if this core's had stopped.
            try #require(cores.core(for: partition)).updaterStopped.signal()

            let entered = OneTimeSignal(), release = OneTimeSignal()
            let held = Task {
                try await cores.using(partition) { core, _ in
                    entered.signal()
                    await release.wait()
                    return try await core.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer") ?? -1 }
                }
            }
            await entered.wait()
            let finished = Finished()
            let drain = Task {
                defer { finished.set() }
                return try await cores.drain(partition, to: "profiles-9")
            }
            // Until the drain waits for the held call — or, were it not to wait, has finished.
            try await waitUntil { cores.isWaitingForCalls(on: partition) || finished.isSet }
            #expect(!finished.isSet, "the drain finished while a call admitted before it was still running")

            let refused = await statusOf { _ = try await cores.using(partition) { _, _ in 0 } }
            #expect(refused?.code == .unavailable && refused?.message.contains("being moved to profiles-9") == true, "\(String(describing: refused))")
            let across = await statusOf { _ = try await cores.usingEvery { _ in 0 } }
            #expect(across?.code == .unavailable, "a call across customers would lack the drained partition")

            release.signal()
            #expect(try await held.value == 1, "the call admitted before the drain read its file open")
            let drained = try await drain.value
            #expect(drained.customers == 1)
            #expect(FileManager.default.fileExists(atPath: drained.path.path))
            #expect(cores.drained[partition] == "profiles-9")
            #expect(cores.core(for: partition) == nil)
        }
    }
}

private final class Finished: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}
