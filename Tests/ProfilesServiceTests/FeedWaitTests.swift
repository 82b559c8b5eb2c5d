import CRMProtos
import CRMRPC
@testable import CRMServiceHost
import CRMTestSupport
import Foundation
import GRDB
import Synchronization
import Testing
@testable import ProfilesService

/// Feed reads that wait for an entry (`wait_ms`, proto/README.md "Following a feed"): the store's
/// commits end a held read, nothing is missed between a reader's look and its wait, a drain or a
/// shutdown does not wait a held read out, and a follower asks with a wait only once caught up.
@Suite struct FeedWaitTests {
    // MARK: The commits

    @Test func aCommitBetweenTheLookAndTheWaitEndsTheWaitAtOnce() async {
        let commits = FeedCommits(tables: ["change_log"])
        let seen = commits.generation
        commits.signal()
        // Were the generation not compared, this would wait an hour.
        #expect(await commits.wait(beyond: seen, timeout: .seconds(3_600)))
        #expect(commits.waiting == 0)
    }

    @Test func aHeldWaitEndsOnACommitAndAnotherRunsOut() async throws {
        let commits = FeedCommits(tables: ["change_log"])
        #expect(await commits.wait(beyond: commits.generation, timeout: .milliseconds(5)) == false)
        let seen = commits.generation
        let held = Task { await commits.wait(beyond: seen, timeout: .seconds(3_600)) }
        try await waitUntil { commits.waiting == 1 }
        commits.signal()
        #expect(await held.value)
        #expect(commits.waiting == 0)
    }

    @Test func closingEndsHeldWaitsAndEveryLaterOne() async throws {
        let commits = FeedCommits(tables: ["change_log"])
        let seen = commits.generation
        let held = Task { await commits.wait(beyond: seen, timeout: .seconds(3_600)) }
        try await waitUntil { commits.waiting == 1 }
        commits.close()
        _ = await held.value
        let later = commits.generation
        #expect(await commits.wait(beyond: later, timeout: .seconds(3_600)) == false)
        #expect(commits.waiting == 0)
    }

    @Test func cancellingAHeldWaitEndsIt() async throws {
        let commits = FeedCommits(tables: ["change_log"])
        let seen = commits.generation
        let held = Task { await commits.wait(beyond: seen, timeout: .seconds(3_600)) }
        try await waitUntil { commits.waiting == 1 }
        held.cancel()
        #expect(await held.value == false)
        #expect(commits.waiting == 0)
    }

    @Test func onlyCommittedInsertsIntoTheFeedsTablesCount() async throws {
        let database = try DatabaseQueue()
        try await database.write { db in
            try db.execute(sql: "CREATE TABLE change_log (sequence INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB)")
            try db.execute(sql: "CREATE TABLE other (id INTEGER PRIMARY KEY)")
        }
        let commits = FeedCommits(tables: ["change_log"])
        commits.observe(database)
        try await database.write { db in try db.execute(sql: "INSERT INTO other (id) VALUES (1)") }
        #expect(commits.generation == 0)
        // A transaction of many entries is one commit.
        try await database.write { db in
            for _ in 0..<3 { try db.execute(sql: "INSERT INTO change_log (body) VALUES (x'00')") }
        }
        #expect(commits.generation == 1)
        struct Abandon: Error {}
        _ = try? await database.write { db in
            try db.execute(sql: "INSERT INTO change_log (body) VALUES (x'01')")
            throw Abandon()
        }
        try await database.write { db in try db.execute(sql: "DELETE FROM change_log") }
        #expect(commits.generation == 1)
    }

    // MARK: The service

    /// A read of the change feed; a held one (60 s) is given a 30 s deadline, so a read that is not
    /// answered by the commit it waits for fails rather than being answered when its wait runs out.
    static func changes(_ harness: ProfilesHarness, after: UInt64, waitMs: UInt32) async throws -> [Crm_Profiles_V1_ChangeEvent] {
        try await harness.office.serverStreaming(
            Crm_Profiles_V1_Profiles.streamChanges,
            Crm_Profiles_V1_StreamChangesRequest.with { $0.afterSequence = after; $0.waitMs = waitMs },
            options: .timeout(.seconds(30))
        ).collect()
    }

    @Test func aHeldReadAnswersTheChangeCommittedWhileItWaits() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1")
            let first = try await Self.changes(harness, after: 0, waitMs: 0)
            let last = try #require(first.last?.sequence)
            let commits = try #require(harness.service.service.cores.all.first).feedCommits

            let held = Task { try await Self.changes(harness, after: last, waitMs: 60_000) }
            try await waitUntil { commits.waiting == 1 }
            try await harness.upsert("C2")
            let answered = try await held.value
            #expect(answered.map(\.customerID) == ["C2"])
            #expect(answered.first?.sequence == last + 1)

            // Something after the cursor already: answered at once, whatever the wait.
            #expect(try await Self.changes(harness, after: last, waitMs: 60_000).map(\.customerID) == ["C2"])
            // A wait that runs out ends the stream with nothing.
            #expect(try await Self.changes(harness, after: last + 1, waitMs: 20).isEmpty)
            #expect(commits.waiting == 0)
        }
    }

    @Test func aHeldEventReadAnswersTheEventIngestedWhileItWaits() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1")
            let commits = try #require(harness.service.service.cores.all.first).feedCommits
            let held = Task {
                try await harness.office.serverStreaming(
                    Crm_Profiles_V1_Profiles.streamEvents,
                    Crm_Profiles_V1_StreamEventsRequest.with { $0.afterEventID = 0; $0.waitMs = 60_000 },
                    options: .timeout(.seconds(30))
                ).collect()
            }
            try await waitUntil { commits.waiting == 1 }
            _ = try await harness.ingestTrades([ProfilesHarness.trade("t1", customer: "C1")])
            #expect(try await held.value.map(\.trade.idempotencyKey) == ["t1"])
        }
    }

    @Test func aDrainEndsTheReadsHeldOnItsPartition() async throws {
        try await withService(await ProfilesHarness.start(settings: PartitionFilesTests.filesSettings)) { harness in
            let cores = harness.service.service.cores
            let core = try #require(cores.all.first)
            let partition = try #require(core.partition)
            core.updaterStopped.signal()
            let held = Task {
                try await harness.office.serverStreaming(
                    Crm_Profiles_V1_Profiles.streamChanges,
                    Crm_Profiles_V1_StreamChangesRequest.with {
                        $0.partition = .with { $0.number = UInt32(partition) }
                        $0.waitMs = 60_000
                    },
                    options: .timeout(.seconds(30))
                ).collect()
            }
            try await waitUntil { core.feedCommits.waiting == 1 }
            // The drain waits for the calls in flight: the held read must end, not wait its minute out.
            _ = try await cores.drain(partition, to: "profiles-9")
            #expect(try await held.value.isEmpty)
            #expect(core.feedCommits.waiting == 0)
        }
    }

    // MARK: The follower

    /// Which step a follower took, and what it was answered, in order.
    final class Script: Sendable {
        let answers: [Int]
        let taken = Mutex<[String]>([])
        init(_ answers: [Int]) { self.answers = answers }

        func take(_ kind: String) async throws -> FeedFollower.Step {
            let place = taken.withLock { taken -> Int in
                taken.append(kind)
                return taken.count - 1
            }
            guard place < answers.count else {
                try await Task.sleep(for: .seconds(3_600))
                return FeedFollower.Step(received: 0, position: 0)
            }
            return FeedFollower.Step(received: answers[place], position: UInt64(place))
        }
    }

    @Test func aFollowerWaitsOnlyOnceCaughtUpAndPausesAfterNothing() async throws {
        // Pages of 10: full, short, nothing (a wait run out), short, full, short.
        let script = Script([10, 3, 0, 2, 10, 4])
        let follower = FeedFollower(name: "test", batch: 10, pollInterval: .milliseconds(1), wait: .seconds(10), logger: .init(label: "test"),
                                    step: { _, wait in try await script.take(wait == nil ? "ask" : "wait") })
        let running = Task { try await follower.run() }
        try await waitUntil { script.taken.withLock { $0.count } > 6 }
        // The seventh step is a waiting read held open: the follower counts as current meanwhile.
        #expect(follower.isHoldingRead)
        running.cancel()
        _ = try? await running.value
        let taken = script.taken.withLock { $0 }
        #expect(Array(taken.prefix(7)) == ["ask", "ask", "wait", "wait", "wait", "ask", "wait"])
        #expect(!follower.isHoldingRead)
    }

    /// The lag operators alert on (`crm_feed_lag_seconds`): time since the follower was last
    /// caught up, except while a waiting read is held (profiles answers it as soon as anything
    /// commits, so nothing is waiting to be read).
    @Test func aHeldReadCountsAsCurrent() {
        let now = ContinuousClock.now
        var status = FeedFollower.Status()
        #expect(status.lag(at: now) == nil)
        status.caughtUpAt = now - .seconds(8)
        #expect(status.lag(at: now) == .seconds(8))
        status.held = true
        #expect(status.lag(at: now) == .zero)
    }
}
