import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import GRDB
import Synchronization
import Testing
@testable import MatchingService

/// With profiles keeping a file per partition, TrainModel fetches month-ends a partition at a
/// time, several calls at once (each reads one file where a page across the book reads them
/// all): the rows stored are the ones the pages across the book store, whatever the number of
/// calls at once, and a group's replica gets only its partitions' customers.
@Suite(.serialized) struct SnapshotByPartitionTests {
    static let partitions = 8

    @Test func monthEndsFetchedAPartitionAtATimeAreTheRowsPagesAcrossTheBookStore() async throws {
        let settings = ["partitions.count": "\(Self.partitions)", "partitions.storage": "file-per-partition"]
        try await withService(await MatchingHarness.start(profilesSettings: settings)) { harness in
            let customers = 60
            let days = try await SnapshotFallbackTests.loadWorld(harness, customers: customers)
            let database = harness.replicas[0].database
            let profiles = harness.profiles.client(token: "service")
            let partitioning = try #require(await ModelTrainer.filePartitioning(of: profiles))
            #expect(partitioning.count == Self.partitions)

            // Pages of 4 across the book: fifteen pages, each reading every file.
            let acrossTheBook = try await SnapshotStore.fetch(days: days, from: profiles, into: database, page: 4)
            #expect(acrossTheBook == Dictionary(uniqueKeysWithValues: days.map { ($0, customers) }))
            let reference = try await SnapshotFallbackTests.stored(database, days: days)
            #expect(reference.allSatisfy { $0.count == customers })

            for calls in [1, 3] {
                let reports = Reports()
                // Pages of 4 within a partition too: a partition of more customers than a page
                // is paged through.
                let byPartition = try await SnapshotStore.fetch(days: days, from: profiles, into: database, page: 4, byPartition: partitioning,
                                                                calls: calls, progress: { reports.add($0) })
                #expect(byPartition == acrossTheBook, "\(calls) calls at once")
                #expect(try await SnapshotFallbackTests.stored(database, days: days) == reference, "\(calls) calls at once")
                let seen = reports.values
                #expect(seen.last == customers && seen == seen.sorted() && seen.count <= Self.partitions, "\(seen)")
            }

            // A group's partitions: only their customers, each stored as across the book.
            let group: [UInt32] = [1, 6]
            let own = try await SnapshotStore.fetch(days: days, from: profiles, into: database, page: 4, byPartition: partitioning,
                                                    partitions: group, calls: 2)
            let rows = try await SnapshotFallbackTests.stored(database, days: days)
            let expected = reference.map { day in day.filter { group.contains(UInt32(partitioning.partition(of: $0.key))) } }
            #expect(rows == expected)
            #expect(own == Dictionary(uniqueKeysWithValues: days.map { ($0, expected[0].count) }))
            #expect(expected[0].count > 0 && expected[0].count < customers)
            await profiles.close()
        }
    }

    @Test func aProfilesKeepingOneFileIsPagedAcrossTheBook() async throws {
        try await withService(await MatchingHarness.start()) { harness in
            let profiles = harness.profiles.client(token: "service")
            #expect(await ModelTrainer.filePartitioning(of: profiles)?.count == nil, "one file: pages across the book")
            await profiles.close()
        }
    }
}

/// The progress reports of a fetch, in order.
private final class Reports: Sendable {
    private let list = Mutex<[Int]>([])
    var values: [Int] { list.withLock { $0 } }
    func add(_ value: Int) { list.withLock { $0.append(value) } }
}
