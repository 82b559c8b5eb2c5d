import CRMRPC
import CRMTestSupport
import Foundation
import GRDB
import Testing
@testable import ProfilesService

/// A partition's file pinned for a move copied while it serves (``PartitionPins``), on the cores
/// themselves: the main part stays byte for byte what was pinned while writes and checkpoints go
/// on, and the main part as copied plus the tail the drain keeps is the drained file.
@Suite struct PartitionPinTests {
    @Test func thePinnedMainPartStaysAsPinnedAndWithTheTailMakesTheDrainedFile() async throws {
        try await withPartition { harness, cores, partition, ids in
            let core = try #require(cores.core(for: partition))
            let directory = try #require(cores.directory)
            let file = ProfilesCores.file(of: partition, in: directory)
            for id in ids[0..<20] { _ = try await harness.upsert(id) }
            let pin = try await cores.pins.pin(partition, database: core.database, path: file, for: "profiles-9")
            #expect(cores.pins.pinned == [partition: "profiles-9"])

            for id in ids[20..<70] { _ = try await harness.upsert(id) }
            // Checkpoints asked for anyway — by the writer, and by another connection (an operator's
            // sqlite3) — copy nothing into the main part while the pin lasts.
            _ = try await core.database.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            let other = try DatabaseQueue(path: file.path)
            _ = try? await other.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            try other.close()
            #expect(try PartitionFileCopy.fingerprint(of: file).sha256 == pin.sha256, "the pinned main part changed")

            // The new owner's copy of the main part, made while the partition serves.
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("crm-pin-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let prepared = scratch.appendingPathComponent("p.prepared")
            #expect(try PartitionFileCopy.copy(file, to: prepared).sha256 == pin.sha256)
            for id in ids[70..<100] { _ = try await harness.upsert(id) }

            let drained = try await cores.drain(partition, to: "profiles-9", keepingTail: true)
            let tail = try #require(drained.tail, "a drain after a pin that held keeps the tail")
            #expect(tail.preparedSHA256 == pin.sha256 && tail.preparedSize == pin.size)
            #expect(tail.size > 0, "100 customers' writes since the pin are in the tail")
            #expect(cores.pins.pinned.isEmpty)
            let tailFile = ProfilesCores.tailFile(of: partition, in: directory)
            #expect(try PartitionFileCopy.fingerprint(of: tailFile).sha256 == tail.sha256)

            let received = scratch.appendingPathComponent("p.tail")
            _ = try PartitionFileCopy.copy(tailFile, to: received)
            let staged = scratch.appendingPathComponent("p.sqlite")
            try PartitionFileCopy.assemble(prepared: prepared, tail: received, into: staged)
            #expect(!FileManager.default.fileExists(atPath: prepared.path) && !FileManager.default.fileExists(atPath: staged.path + "-wal"))
            let expected = try Self.contents(of: drained.path)
            #expect(expected.customers.count == 100)
            #expect(try Self.contents(of: staged) == expected, "the main part and the tail make another file than the drained one")
        }
    }

    @Test func aMainFileChangedSinceThePinKeepsNoTailAndResumeEndsAPin() async throws {
        try await withPartition { harness, cores, partition, ids in
            let core = try #require(cores.core(for: partition))
            let file = ProfilesCores.file(of: partition, in: try #require(cores.directory))
            _ = try await harness.upsert(ids[0])
            _ = try await cores.pins.pin(partition, database: core.database, path: file, for: "profiles-9")
            #expect(try await core.database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") } == 0)
            try await cores.resume(partition)
            #expect(cores.pins.pinned.isEmpty)
            #expect(cores.drained.isEmpty && cores.core(for: partition) != nil, "resuming a pin leaves the partition served")
            #expect(try await core.database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") } == 1_000)

            _ = try await cores.pins.pin(partition, database: core.database, path: file, for: "profiles-9")
            _ = try await harness.upsert(ids[1])
            // Written behind the pin's back (its modification time is what the drain checks).
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(60)], ofItemAtPath: file.path)
            let drained = try await cores.drain(partition, to: "profiles-9", keepingTail: true)
            #expect(drained.tail == nil, "a main file changed since the pin is copied whole")
            #expect(drained.customers == 2)
        }
    }

    /// A harness keeping a file per partition, the first partition's core with its updater marked
    /// stopped (the harness runs none, and a drain waits for it), and 100 customer ids of it.
    private func withPartition(_ body: (ProfilesHarness, ProfilesCores, Int, [String]) async throws -> Void) async throws {
        try await withService(await ProfilesHarness.start(settings: PartitionFilesTests.filesSettings)) { harness in
            let cores = harness.service.service.cores
            let partition = try #require(cores.all.first?.partition)
            let routing = harness.service.service.routing
            let ids = (0..<20_000).lazy.map { "PIN\($0)" }.filter { routing.partition(of: $0) == partition }.prefix(100)
            try #require(ids.count == 100)
            try #require(cores.core(for: partition)).updaterStopped.signal()
            try await body(harness, cores, partition, Array(ids))
        }
    }

    /// What a partition file holds that a move must carry: its customers and its change feed.
    private struct Contents: Equatable {
        let customers: [String]
        let feed: [Int64]
    }

    private static func contents(of file: URL) throws -> Contents {
        let database = try DatabaseQueue(path: file.path)
        defer { try? database.close() }
        return try database.read { db in
            Contents(customers: try String.fetchAll(db, sql: "SELECT customer_id FROM customer ORDER BY customer_id"),
                     feed: try Int64.fetchAll(db, sql: "SELECT sequence FROM change_log ORDER BY sequence"))
        }
    }
}
