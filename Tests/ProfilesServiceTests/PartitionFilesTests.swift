import CRMPartitions
@testable import CustomerDimensions
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import GRDB
import Logging
@testable import ProfilesService
import Testing

/// A profiles process keeping a file per partition (`partitions.storage = file-per-partition`,
/// docs/partitioning.md §2, §3) answers every call as the same process keeping them in one file:
/// customers go to their partition's file, batches are split by file and refused whole, calls
/// across customers merge the files' answers, every file's windows end on one business day, and
/// each file has its own change feed and event log, read by partition.
@Suite(.serialized) struct PartitionFilesTests {
    static let count = 8
    static let settings = ["partitions.count": "\(count)"]
    static let filesSettings = settings.merging(["partitions.storage": "file-per-partition"]) { $1 }

    /// A file-per-partition process and a one-file reference, stopped together. The files' process
    /// is told it counts on three cores (`cores`), so its files' updaters take two turns at once —
    /// what the process on its own would not do on a machine of two — and fold as the reference does.
    struct Pair: StoppableService {
        let files: ProfilesHarness
        let reference: ProfilesHarness

        static func start() async throws -> Pair {
            let files = try await ProfilesHarness.start(settings: PartitionFilesTests.filesSettings, cores: 3)
            do {
                return Pair(files: files, reference: try await ProfilesHarness.start(settings: PartitionFilesTests.settings))
            } catch {
                try? await files.stop()
                throw error
            }
        }

        func stop() async throws {
            try await files.stop()
            try await reference.stop()
        }
    }

    /// Twenty customers over every partition, trades on several June days (the newest day in one
    /// partition only, so the others' windows end on it only by adopting it), a contact and views.
    static func load(_ harness: ProfilesHarness) async throws -> [String] {
        let ids = (0..<20).map { String(format: "C%05d", 7 * $0 + 1) }
        for (place, id) in ids.enumerated() {
            try await harness.upsert(id, status: place % 7 == 6 ? .frozen : .normal, manager: place % 2 == 0 ? "M1" : "M2")
        }
        var trades: [Crm_Profiles_V1_TradeEvent] = []
        for (place, id) in ids.enumerated() where place % 7 != 6 {
            trades.append(ProfilesHarness.trade("\(id)-a", customer: id, amountFen: Int64(100_000 * (place + 1)), day: Int32(1 + place)))
            trades.append(ProfilesHarness.trade("\(id)-b", customer: id, amountFen: 250_000, day: 20))
        }
        trades.append(ProfilesHarness.trade("last", customer: ids[0], amountFen: 90_000, day: 27))
        let answer = try await harness.ingestTrades(trades)
        #expect(answer.accepted == UInt32(trades.count))
        _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestProductViews, Crm_Profiles_V1_IngestProductViewsRequest.with {
            $0.events = ids.prefix(6).enumerated().map { place, id in
                .with {
                    $0.idempotencyKey = "view-\(id)"; $0.customerID = id; $0.productCode = "F00\(place)"
                    $0.viewedAt = .with { $0.unixMillis = Int64(Days.day(year: 2026, month: 6, day: 22)) * Days.millisPerDay }
                }
            }
        })
        try await harness.service.service.updateDimensions()
        return ids
    }

    /// Waits until every file has folded everything on the business day `day`.
    static func settled(_ harness: ProfilesHarness, on day: String) async throws {
        try await waitUntil {
            let details = try await harness.office.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details
            return details["business_day"] == day && details["dimensions_pending"] == "0"
        }
    }

    static func withoutClock(_ view: Crm_Profiles_V1_Customer360) -> Crm_Profiles_V1_Customer360 {
        var view = view
        view.customer.clearUpdatedAt()
        view.statusHistory = view.statusHistory.map { var change = $0; change.clearChangedAt(); return change }
        return view
    }

    @Test func aProcessWithAFilePerPartitionAnswersAsOneFile() async throws {
        try await withService(try await Pair.start()) { pair in
            let ids = try await Self.load(pair.files)
            _ = try await Self.load(pair.reference)
            for harness in [pair.files, pair.reference] { try await Self.settled(harness, on: "2026-06-27") }
            let counted = try await pair.files.office.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details["cores"]
            #expect(counted == "3" && pair.files.service.service.cores.updaterTurns == 2)

            // The files: one per partition beside the store, and none of the customers in the store itself.
            let directory = ProfilesCores.directory(ofStore: pair.files.path)
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sqlite") }.sorted()
            #expect(names == (0..<Self.count).map { ProfilesCores.fileName(of: $0) })
            #expect(try await pair.files.service.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer") } == 0)
            let partitioning = try Partitioning(count: Self.count)
            for core in pair.files.service.service.cores.all {
                let held = try await core.database.read { db in try String.fetchAll(db, sql: "SELECT customer_id FROM customer") }
                #expect(held.allSatisfy { partitioning.partition(of: $0) == core.partition }, "partition \(core.partition ?? -1)")
            }
            #expect(Set(ids.map { partitioning.partition(of: $0) }).count == Self.count, "every file holds customers")

            // Each customer's view, window dimensions included: every file's windows end on the
            // newest day, which only one file's events reached.
            for id in ids {
                let request = Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = id; $0.recentLimit = 50 }
                let split = try await pair.files.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, request).view
                let whole = try await pair.reference.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, request).view
                #expect(Self.withoutClock(split) == Self.withoutClock(whole), "\(id)")
            }
            // Calls across customers: counts, figures, distributions, books, searches page by page.
            for rule in ["", "status = normal", "total_assets >= 1000000", "trade_count_30d > 1"] {
                let request = Crm_Profiles_V1_CountSegmentRequest.with { $0.rule = rule }
                #expect(try await pair.files.office.unary(Crm_Profiles_V1_Profiles.countSegment, request)
                    == pair.reference.office.unary(Crm_Profiles_V1_Profiles.countSegment, request), "\(rule)")
            }
            #expect(try await pair.files.office.unary(Crm_Profiles_V1_Profiles.getBranchFigures, .init())
                == pair.reference.office.unary(Crm_Profiles_V1_Profiles.getBranchFigures, .init()))
            let distribution = Crm_Profiles_V1_GetClassDistributionRequest.with { $0.scheme = "asset_tier" }
            #expect(try await pair.files.office.unary(Crm_Profiles_V1_Profiles.getClassDistribution, distribution)
                == pair.reference.office.unary(Crm_Profiles_V1_Profiles.getClassDistribution, distribution))
            let book = Crm_Profiles_V1_GetManagerBookRequest.with { $0.managerID = "M1"; $0.page.pageSize = 3 }
            #expect(try await pair.files.office.unary(Crm_Profiles_V1_Profiles.getManagerBook, book)
                == pair.reference.office.unary(Crm_Profiles_V1_Profiles.getManagerBook, book))
            for (orderBy, descending) in [("", false), ("total_assets", true), ("trade_count_90d", false)] {
                var token = ""
                var pages = 0
                repeat {
                    let request = Crm_Profiles_V1_SearchCustomersRequest.with {
                        $0.rule = "status = normal"; $0.orderBy = orderBy; $0.descending = descending; $0.page = .with { $0.pageSize = 4; $0.pageToken = token }
                    }
                    let whole = try await pair.reference.office.unary(Crm_Profiles_V1_Profiles.searchCustomers, request)
                    #expect(try await pair.files.office.unary(Crm_Profiles_V1_Profiles.searchCustomers, request) == whole, "\(orderBy) page \(pages)")
                    token = whole.page.nextPageToken
                    pages += 1
                } while !token.isEmpty && pages < 20
                #expect(pages >= 3, "\(orderBy)")
            }
            let streamed = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamCustomers, .with { $0.limit = 7 }).collect()
            #expect(streamed.map(\.customerID) == Array(ids.sorted().prefix(7)))
            let asOf = Crm_Profiles_V1_StreamDimensionsAsOfRequest.with { $0.asOf = .init(year: 2026, month: 6, day: 15); $0.positional = true }
            #expect(try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asOf).collect()
                == pair.reference.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asOf).collect())
            // A saved segment is the firm's: saved once, counted over every file.
            let segment = Crm_Profiles_V1_SaveSegmentRequest.with { $0.segment = .with { $0.name = "active"; $0.rule = "trade_count_30d > 1" } }
            #expect(try await pair.files.office.unary(Crm_Profiles_V1_Profiles.saveSegment, segment).segment.name == "active")
            _ = try await pair.reference.office.unary(Crm_Profiles_V1_Profiles.saveSegment, segment)
            let members = Crm_Profiles_V1_ListSegmentMembersRequest.with { $0.name = "active"; $0.page.pageSize = 50 }
            #expect(try await pair.files.office.unary(Crm_Profiles_V1_Profiles.listSegmentMembers, members)
                == pair.reference.office.unary(Crm_Profiles_V1_Profiles.listSegmentMembers, members))
            #expect(try await pair.files.office.unary(Crm_Profiles_V1_Profiles.listSegments, .init()).segments.count == 1)
        }
    }

    /// A month-end page naming partitions (matching's TrainModel asks one partition a call of a
    /// profiles keeping files) is the one-file answer for those partitions, and reads only their
    /// files: with another partition drained, the call still answers while a call across every
    /// partition is UNAVAILABLE.
    @Test func aDimensionsPageNamingPartitionsReadsOnlyTheirFiles() async throws {
        try await withService(try await Pair.start()) { pair in
            let ids = try await Self.load(pair.files)
            _ = try await Self.load(pair.reference)
            let partitioning = try Partitioning(count: Self.count)
            let days: [Crm_Common_V1_Date] = [.init(year: 2026, month: 6, day: 10), .init(year: 2026, month: 6, day: 27)]
            func asking(_ partitions: [Int], limit: UInt32 = 0) -> Crm_Profiles_V1_StreamDimensionsAsOfRequest {
                .with { $0.asOfDays = days; $0.partitions = partitions.map(UInt32.init); $0.positional = true; $0.limit = limit }
            }
            var seen: Set<String> = []
            for partition in 0..<Self.count {
                let files = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asking([partition])).collect()
                let reference = try await pair.reference.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asking([partition])).collect()
                #expect(files == reference, "partition \(partition)")
                #expect(files.allSatisfy { partitioning.partition(of: $0.customerID) == partition }, "partition \(partition)")
                #expect(files.count == 2 * Set(files.map(\.customerID)).count, "both days of each customer")
                seen.formUnion(files.map(\.customerID))
            }
            #expect(seen == Set(ids))
            // Two partitions, a page of 3 customers: the first three of theirs in id order.
            let pair2 = Array(Set(ids.map { partitioning.partition(of: $0) }).sorted().prefix(2))
            let page = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asking(pair2, limit: 3)).collect()
            #expect(page.map(\.customerID) == ids.filter { pair2.contains(partitioning.partition(of: $0)) }.sorted().prefix(3).flatMap { [$0, $0] })

            let outside = await statusOf {
                _ = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asking([1, Self.count])).collect()
            }
            #expect(outside?.code == .invalidArgument && outside?.fieldViolations.first?.field == "partitions[1]", "\(String(describing: outside))")

            // Drain one partition holding customers (the harness runs no updater): only calls reading it are refused.
            let cores = pair.files.service.service.cores
            let drained = try #require(ids.map { partitioning.partition(of: $0) }.first)
            let other = try #require(ids.map { partitioning.partition(of: $0) }.first { $0 != drained })
            try #require(cores.core(for: drained)).updaterStopped.signal()
            _ = try await cores.drain(drained, to: "profiles-9")
            let answered = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asking([other])).collect()
            let expected = try await pair.reference.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asking([other])).collect()
            #expect(!answered.isEmpty && answered == expected)
            let across = await statusOf {
                _ = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asking([])).collect()
            }
            #expect(across?.code == .unavailable, "\(String(describing: across))")
            let naming = await statusOf {
                _ = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, asking([other, drained])).collect()
            }
            #expect(naming?.code == .unavailable, "\(String(describing: naming))")
        }
    }

    @Test func eachFileHasItsOwnFeedReadByPartition() async throws {
        try await withService(try await Pair.start()) { pair in
            let ids = try await Self.load(pair.files)
            _ = try await Self.load(pair.reference)
            let partitioning = try Partitioning(count: Self.count)
            let map = try await pair.files.office.unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init())
            #expect(map.feedsPerPartition && map.count == UInt32(Self.count))
            #expect(try await pair.reference.office.unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init()).feedsPerPartition == false)

            // Without a partition: refused, naming the field.
            let refused = await statusOf { _ = try await pair.files.changes(after: 0) }
            #expect(refused?.code == .failedPrecondition && refused?.fieldViolations.first?.field == "partition")
            let eventsRefused = await statusOf {
                _ = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .init()).collect()
            }
            #expect(eventsRefused?.code == .failedPrecondition)

            // Per partition: each feed and log holds its own customers only, numbered from 1, and
            // together they hold what the one file's feed and log hold.
            var changed: [String: Int] = [:]
            var logged: [String] = []
            for partition in 0..<Self.count {
                let changes = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamChanges, .with {
                    $0.partition = .with { $0.number = UInt32(partition) }
                }).collect()
                let numbered: [UInt64] = (0..<changes.count).map { UInt64($0) + 1 }
                #expect(changes.map(\.sequence) == numbered, "partition \(partition)")
                #expect(changes.allSatisfy { partitioning.partition(of: $0.customerID) == partition })
                // Dimension changes depend on when each file folded (a file that adopted the day
                // later recomputed its customers once more); the records' changes do not.
                for change in changes where change.kind != .dimensionsChanged { changed[change.customerID, default: 0] += 1 }
                let events = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                    $0.partition = .with { $0.number = UInt32(partition) }
                }).collect()
                #expect(events.allSatisfy { partitioning.partition(of: Self.identity($0).customer) == partition })
                logged += events.map { Self.identity($0).key }
            }
            let whole = try await pair.reference.changes(after: 0)
            #expect(changed == Dictionary(whole.filter { $0.kind != .dimensionsChanged }.map { ($0.customerID, 1) }, uniquingKeysWith: +))
            let wholeLog = try await pair.reference.office.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .init()).collect()
            #expect(logged.sorted() == wholeLog.map { Self.identity($0).key }.sorted())
            #expect(logged.count == 37 + 6)
            #expect(Set(ids).isSubset(of: Set(changed.keys)))
            let unknown = await statusOf {
                _ = try await pair.files.office.serverStreaming(Crm_Profiles_V1_Profiles.streamChanges, .with { $0.partition = .with { $0.number = 99 } }).collect()
            }
            #expect(unknown?.code == .failedPrecondition && unknown?.fieldViolations.first?.field == "partition.number")
        }
    }

    /// The customer and idempotency key of a logged trade or view (the kinds these tests send).
    static func identity(_ event: Crm_Profiles_V1_LoggedEvent) -> (customer: String, key: String) {
        switch event.body {
        case .trade(let trade)?: (trade.customerID, trade.idempotencyKey)
        case .productView(let view)?: (view.customerID, view.idempotencyKey)
        default: ("", "")
        }
    }

    @Test func aBatchWithAnUnknownCustomerWritesNothingInAnyFile() async throws {
        try await withService(try await Pair.start()) { pair in
            let ids = try await Self.load(pair.files)
            _ = try await Self.load(pair.reference)
            func stored(_ harness: ProfilesHarness) async throws -> Int {
                var total = 0
                for core in harness.service.service.cores.all {
                    total += try await core.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0 }
                }
                return total
            }
            let before = try await stored(pair.files)
            // Good events of several files around an unknown customer and a frozen one (place 6).
            var batch = ids.prefix(5).map { ProfilesHarness.trade("new-\($0)", customer: $0, day: 26) }
            batch.insert(ProfilesHarness.trade("new-ghost", customer: "NOBODY", day: 26), at: 3)
            let split = await statusOf { _ = try await pair.files.ingestTrades(batch) }
            let whole = await statusOf { _ = try await pair.reference.ingestTrades(batch) }
            #expect(split?.code == .notFound && split?.fieldViolations.map(\.field) == ["events[3].customer_id"])
            #expect(split?.code == whole?.code && split?.fieldViolations == whole?.fieldViolations)
            var frozen = batch
            frozen[3] = ProfilesHarness.trade("new-frozen", customer: ids[6], day: 26)
            let refused = await statusOf { _ = try await pair.files.ingestTrades(frozen) }
            #expect(refused?.code == .failedPrecondition && refused?.fieldViolations.map(\.field) == ["events[3].customer_id"])
            #expect(try await stored(pair.files) == before)
            // Sent without them: every event stored once, then counted as duplicates.
            batch.remove(at: 3)
            #expect(try await pair.files.ingestTrades(batch) == pair.reference.ingestTrades(batch))
            #expect(try await stored(pair.files) == before + batch.count)
            let again = try await pair.files.ingestTrades(batch)
            #expect(again.accepted == 0 && again.duplicates == UInt32(batch.count))
        }
    }

    @Test func theStorageIsCheckedAtStartAndTheFilesReopened() async throws {
        let path = TestFiles.sqlitePath("profiles")
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(at: ProfilesCores.directory(ofStore: path))
        }
        let first = try await ProfilesHarness.start(path: path, settings: Self.filesSettings)
        let ids = try await Self.load(first)
        try await Self.settled(first, on: "2026-06-27")
        let view = Self.withoutClock(try await first.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = ids[4] }).view)
        try await first.stop()

        // The same store with one-file storage would not see its customers: refused, naming the setting.
        await #expect { try await ProfilesHarness.start(path: path, settings: Self.settings) } throws: { error in
            "\(error)".contains("partitions.storage is one-file") && "\(error)".contains("file-per-partition")
        }
        // Reopened as it was: the same customer, the same view.
        try await withService(try await ProfilesHarness.start(path: path, settings: Self.filesSettings)) { again in
            try await Self.settled(again, on: "2026-06-27")
            let reopened = Self.withoutClock(try await again.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = ids[4] }).view)
            #expect(reopened == view)
        }
        // A one-file store holding customers refuses file-per-partition storage.
        let single = try await ProfilesHarness.start(settings: Self.settings)
        defer { try? FileManager.default.removeItem(atPath: single.path) }
        try await single.upsert("C00001")
        try await single.stop()
        await #expect { try await ProfilesHarness.start(path: single.path, settings: Self.filesSettings) } throws: { error in
            "\(error)".contains("holds customers")
        }
    }
}

/// Without `partitions.storage` a process keeps its store's layout and a new store gets a file per
/// partition (``PartitionStorage/resolve(_:store:storePath:)``, docs/partitioning.md §3 "The default").
/// An empty setting is how an in-process test asks for the default (``InProcessService`` gives
/// profiles `one-file` otherwise).
@Suite(.serialized) struct PartitionStorageDefaultTests {
    static let unset = PartitionFilesTests.settings.merging(["partitions.storage": ""]) { $1 }

    static func storage(_ harness: ProfilesHarness) async throws -> String? {
        try await harness.office.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details["partitions_storage"]
    }

    static func files(besides path: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: ProfilesCores.directory(ofStore: path).path)) ?? []
        return names.filter { $0.hasSuffix(".sqlite") }.sorted()
    }

    /// Runs `body` with a new store's path, removing the store and its partition files after.
    static func withNewStore(_ body: (String) async throws -> Void) async throws {
        let path = TestFiles.sqlitePath("profiles")
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(at: ProfilesCores.directory(ofStore: path))
        }
        try await body(path)
    }

    @Test func aNewStoreGetsAFilePerPartitionAndKeepsItsCustomersThereAcrossRestarts() async throws {
        try await Self.withNewStore { path in
            try await withService(try await ProfilesHarness.start(path: path, settings: Self.unset)) { first in
                #expect(try await Self.storage(first) == "file-per-partition")
                try await first.upsert("C00001")
            }
            #expect(Self.files(besides: path) == (0..<PartitionFilesTests.count).map { ProfilesCores.fileName(of: $0) })
            let inStore = try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer") ?? -1 }
            #expect(inStore == 0, "the customer is in its partition's file, not the process's store")
            // Restarted without the setting: the files are the store's layout.
            try await withService(try await ProfilesHarness.start(path: path, settings: Self.unset)) { again in
                #expect(try await Self.storage(again) == "file-per-partition")
                let view = try await again.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = "C00001" }).view
                #expect(view.customer.customerID == "C00001")
            }
        }
    }

    @Test func aStoreHoldingItsCustomersStaysOneFileAndANewStoreMayAskForOne() async throws {
        // Made before the default changed: customers in the process's store.
        try await Self.withNewStore { path in
            try await withService(try await ProfilesHarness.start(path: path, settings: PartitionFilesTests.settings)) { old in
                #expect(try await Self.storage(old) == "one-file")
                try await old.upsert("C00001")
            }
            try await withService(try await ProfilesHarness.start(path: path, settings: Self.unset)) { again in
                #expect(try await Self.storage(again) == "one-file")
                let view = try await again.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = "C00001" }).view
                #expect(view.customer.customerID == "C00001")
            }
            #expect(Self.files(besides: path).isEmpty, "no partition files made beside a one-file store")
        }
        // A new store told one-file stays one file.
        try await Self.withNewStore { path in
            let oneFile = PartitionFilesTests.settings.merging(["partitions.storage": "one-file"]) { $1 }
            let storage = try await withService(try await ProfilesHarness.start(path: path, settings: oneFile)) { service in try await Self.storage(service) }
            #expect(storage == "one-file")
            #expect(Self.files(besides: path).isEmpty, "no partition files made for a new store told one-file")
        }
    }
}

/// `crm-profiles split-partitions` (``PartitionSplit``): a one-file store becomes a file per
/// partition that answers exactly as the store did, with every event under its id.
@Suite(.serialized) struct PartitionSplitTests {
    @Test func aSplitStoreAnswersAsTheOneFileDidWithTheSameEventIds() async throws {
        let path = TestFiles.sqlitePath("profiles")
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(at: ProfilesCores.directory(ofStore: path))
        }
        let single = try await ProfilesHarness.start(path: path, settings: PartitionFilesTests.settings)
        let ids = try await PartitionFilesTests.load(single)
        try await PartitionFilesTests.settled(single, on: "2026-06-27")
        func answers(_ harness: ProfilesHarness) async throws -> [String] {
            var texts: [String] = []
            for id in ids {
                let view = try await harness.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = id; $0.recentLimit = 50 }).view
                texts.append("\(view)")
            }
            let search = Crm_Profiles_V1_SearchCustomersRequest.with { $0.orderBy = "total_assets"; $0.page.pageSize = 100 }
            texts.append("\(try await harness.office.unary(Crm_Profiles_V1_Profiles.searchCustomers, search))")
            texts.append("\(try await harness.office.unary(Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = "trade_count_30d > 1" }))")
            return texts
        }
        let before = try await answers(single)
        let log = try await single.office.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .init()).collect()
        try await single.stop()

        // The service stopped, the store is split; a second split is refused.
        let partitioning = try Partitioning(count: PartitionFilesTests.count)
        let report = try PartitionSplit.split(storePath: path, logger: Logger(label: "test"))
        #expect(report.rows["customer"] == ids.count && report.rows["event"] == log.count)
        #expect(report.files == Set(ids.map { partitioning.partition(of: $0) }).count)
        #expect { try PartitionSplit.split(storePath: path, logger: Logger(label: "test")) } throws: { "\($0)".contains("split already") }

        try await withService(try await ProfilesHarness.start(path: path, settings: PartitionFilesTests.filesSettings)) { split in
            try await PartitionFilesTests.settled(split, on: "2026-06-27")
            // The same answers, clocks included: the rows moved as they were.
            #expect(try await answers(split) == before)
            // Every event in its partition's log under its id.
            var ids: [UInt64] = []
            for partition in 0..<PartitionFilesTests.count {
                let events = try await split.office.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                    $0.partition = .with { $0.number = UInt32(partition) }
                }).collect()
                ids += events.map(\.eventID)
            }
            #expect(ids.sorted() == log.map(\.eventID))
        }
    }
}
