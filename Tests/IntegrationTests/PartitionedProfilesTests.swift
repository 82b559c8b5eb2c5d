import CRMPartitions
import CRMProfilesClient
import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMWorld
import CRMWorldLoader
import Foundation
import SwiftProtobuf
import Testing

/// Two real profiles executables splitting 8 partitions between them (owners named profiles-0 and
/// profiles-1 in a topology file, their endpoints added once the OS has given them ports), beside
/// one process holding everything: the same customers and events sent through one endpoint give
/// the same answers from either endpoint as from the single process, and a killed owner makes only
/// its partitions unavailable.
@Suite(.serialized) struct PartitionedProfilesTests {
    static let count = 8

    private func client(_ process: ServiceProcess) -> RPCClient {
        process.adminClient()
    }

    /// The same call to the partitioned entry process and to the reference, answers compared by the caller.
    private struct Pair {
        let entry: RPCClient
        let reference: RPCClient

        func both<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
            _ method: UnaryMethod<Request, Response>, _ request: Request
        ) async throws -> (Response, Response) {
            (try await entry.unary(method, request), try await reference.unary(method, request))
        }
    }

    /// What a view holds that the service sets from its own clock: the two processes stored the
    /// same calls at different instants.
    private func withoutClock(_ view: Crm_Profiles_V1_Customer360) -> Crm_Profiles_V1_Customer360 {
        var view = view
        view.customer.clearUpdatedAt()
        view.statusHistory = view.statusHistory.map { var change = $0; change.clearChangedAt(); return change }
        return view
    }

    @Test func twoOwnersAnswerAsOneProcessAndAKilledOwnerTakesOnlyItsPartitions() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-parts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let topology = try OwnersTopology(in: workDir, count: Self.count)
        // Owners first, endpoints once known: the map names owners, not ports. The owners ask each
        // other's business day often, so the test's wait for them to agree is short.
        let single = ServiceProcess(service: "profiles", workDir: workDir, name: "profiles-single")
        // profiles-0, the entry process, keeps a file per partition: what it owns is routed among
        // its files, what it does not forwarded, and the answers merged across both.
        let owners = try await topology.startOwners(in: workDir, extra: ["--setting", "partitions.business_day_interval_ms=100"]) { ordinal in
            ordinal == 0 ? OwnersTopology.files : OwnersTopology.oneFile
        }
        defer { for process in owners + [single] { process.terminate() } }
        try await single.start(arguments: ["--setting", "partitions.count=\(Self.count)"])

        let first = client(owners[0]), second = client(owners[1]), reference = client(single)
        let pair = Pair(entry: first, reference: reference)

        // The map, from either process.
        let map = try await second.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest())
        #expect(map.count == UInt32(Self.count) && map.epoch == 1 && map.hash == "fnv1a64" && map.answeredBy == "profiles-1")
        #expect(map.owners.map(\.name) == ["profiles-0", "profiles-1"])
        #expect(map.owners.map(\.partitions) == ["0-3", "4-7"])
        #expect(map.owners.map(\.endpoint) == owners.map { "127.0.0.1:\($0.port)" })
        let alone = try await reference.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest())
        #expect(alone.owners.count == 1 && alone.owners[0].partitions == "0-7" && alone.epoch == 0)

        // The same customers and events through one endpoint of each side, as the loader sends them.
        let world = World(WorldConfiguration(customers: 40, seed: 20_261_205))
        let customers = Array(world.customers(0..<40))
        let partitioning = try Partitioning(count: Self.count)
        #expect(Set(customers.map { partitioning.partition(of: $0.id) < 4 }).count == 2, "both owners hold customers")
        for customer in customers {
            try await customer.create(through: pair.entry)
            try await customer.create(through: pair.reference)
        }
        let events = customers.map(\.events)
        // Every kind but the product views through one endpoint of each side (those go through the
        // map-aware client below).
        for call in IngestionCall.batches(of: events, batchSize: 1_000) {
            if case .productViews = call { continue }
            let (split, whole) = (try await call.send(through: pair.entry), try await call.send(through: pair.reference))
            #expect(split == whole)
        }
        for customer in customers {
            for change in customer.statusChanges.dropFirst(customer.statusChangesBeforeEvents) {
                _ = try await pair.both(Crm_Profiles_V1_Profiles.changeAccountStatus, change)
            }
            _ = try await pair.both(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with { $0.customer = customer.record })
        }
        // The product views go through the map-aware client: each part straight to its owner.
        let routed = try await PartitionedProfilesClient.connect(through: first)
        #expect(routed.map.owner(of: 5) == "profiles-1")
        for case let .productViews(batch) in IngestionCall.batches(of: events, batchSize: 1_000) {
            let split = try await routed.ingest(Crm_Profiles_V1_Profiles.ingestProductViews, batch)
            let whole = try await reference.unary(Crm_Profiles_V1_Profiles.ingestProductViews, batch)
            #expect(split == whole)
        }

        // Every process has folded everything it stores into dimensions, on the firm's business day:
        // the single process's (the newest event day of all), which each owner has either seen in
        // its own customers' events or adopted from the other (docs/partitioning.md §2).
        var firmDay = ""
        try await waitUntil {
            let health = try await reference.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest())
            firmDay = health.details["business_day"] ?? ""
            return health.details["dimensions_pending"] == "0"
        }
        // The world's newest event day (its calendar ends before its fixed "today", 2026-11-29), never the clock's.
        #expect(firmDay.hasPrefix("2026-") && firmDay < "2026-11-29", "\(firmDay)")
        var sources: [String] = []
        for process in [first, second] {
            try await waitUntil {
                let health = try await process.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest())
                guard health.details["business_day"] == firmDay && health.details["dimensions_pending"] == "0" else { return false }
                sources.append(health.details["business_day_source"] ?? "")
                return true
            }
        }
        #expect(sources.allSatisfy { $0 == "own events" || $0.hasPrefix("adopted from profiles-") }, "\(sources)")
        let published = try await first.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest())
        #expect(published.businessDay.isoString == firmDay)

        // Each customer: stored only by its owner, the same 360° view from either endpoint and the
        // map-aware client as from the single process.
        for customer in customers {
            let request = Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = customer.id; $0.recentLimit = 50 }
            let expected = withoutClock(try await reference.unary(Crm_Profiles_V1_Profiles.getCustomer360, request).view)
            var views = [Crm_Profiles_V1_Customer360]()
            for entry in [first, second] {
                views.append(withoutClock(try await entry.unary(Crm_Profiles_V1_Profiles.getCustomer360, request).view))
            }
            views.append(withoutClock(try await routed.unary(Crm_Profiles_V1_Profiles.getCustomer360, request, customer: customer.id).view))
            for view in views {
                // What was stored is the same everywhere.
                #expect(view.customer == expected.customer && view.statusHistory == expected.statusHistory, "\(customer.id)")
                #expect(view.assessmentHistory == expected.assessmentHistory && view.recentTrades == expected.recentTrades, "\(customer.id)")
                // Everything, exactly: the derived dimensions too, window dimensions included, since
                // both owners compute them for the firm's business day.
                #expect(view == expected, "\(customer.id)")
            }
        }

        // Counts, distributions, branch figures and books add up to the single process's.
        for rule in ["", "status = normal", "status in (prospect, closed) or cash >= 5000000", "total_assets >= 1000000"] {
            let (split, whole) = try await pair.both(Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = rule })
            #expect(split == whole, "\(rule)")
            #expect(try await second.unary(Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = rule }) == whole)
        }
        let (figures, wholeFigures) = try await pair.both(Crm_Profiles_V1_Profiles.getBranchFigures, Crm_Profiles_V1_GetBranchFiguresRequest())
        #expect(figures == wholeFigures)
        for scheme in ["lifecycle_stage", "asset_tier"] {
            let (split, whole) = try await pair.both(Crm_Profiles_V1_Profiles.getClassDistribution, .with { $0.scheme = scheme })
            #expect(split == whole, "\(scheme)")
        }
        let manager = try #require(customers.first { !$0.record.managerID.isEmpty }?.record.managerID)
        let (book, wholeBook) = try await pair.both(Crm_Profiles_V1_Profiles.getManagerBook, .with { $0.managerID = manager; $0.page.pageSize = 2 })
        #expect(book == wholeBook)

        // Search pages, every page with its token, equal to the single process's, tokens included.
        for rule in ["", "status = normal"] {
            var token = ""
            var pages = 0
            repeat {
                let request = Crm_Profiles_V1_SearchCustomersRequest.with { $0.rule = rule; $0.page = .with { $0.pageSize = 7; $0.pageToken = token } }
                let (split, whole) = try await pair.both(Crm_Profiles_V1_Profiles.searchCustomers, request)
                let other = try await second.unary(Crm_Profiles_V1_Profiles.searchCustomers, request)
                for answer in [split, other] {
                    // The same customers on the same pages, the same tokens and totals.
                    #expect(answer.customers.map(\.customerID) == whole.customers.map(\.customerID) && answer.page == whole.page, "\(rule) page \(pages)")
                    // The rows exactly, the 90-day average assets (a window figure) included.
                    #expect(answer == whole, "\(rule) page \(pages)")
                }
                token = whole.page.nextPageToken
                pages += 1
            } while !token.isEmpty
            #expect(pages >= 2)
        }
        // Searches sorted by a dimension, window dimensions (on the firm's business day) included:
        // every page, its rows, token and values, equal to the single process's, from either endpoint.
        for (dimension, descending) in [("total_assets", true), ("cash", false), ("position_ratio", true), ("avg_assets_90d", true), ("trade_count_90d", false)] {
            var token = ""
            var pages = 0
            repeat {
                let request = Crm_Profiles_V1_SearchCustomersRequest.with {
                    $0.orderBy = dimension; $0.descending = descending; $0.page = .with { $0.pageSize = 6; $0.pageToken = token }
                }
                let (split, whole) = try await pair.both(Crm_Profiles_V1_Profiles.searchCustomers, request)
                let other = try await second.unary(Crm_Profiles_V1_Profiles.searchCustomers, request)
                for answer in [split, other] {
                    #expect(answer.customers.map(\.customerID) == whole.customers.map(\.customerID), "\(dimension) page \(pages)")
                    #expect(answer.sortValues == whole.sortValues && answer.page == whole.page, "\(dimension) page \(pages)")
                    #expect(answer == whole, "\(dimension) page \(pages)")
                }
                token = whole.page.nextPageToken
                pages += 1
            } while !token.isEmpty && pages < 100
            #expect(pages >= 2, "\(dimension)")
        }

        // An operator's rebuild through one process rebuilds every owner's customers (each of
        // profiles-0's files, and profiles-1's store), as the one process rebuilds all of its own.
        let (rebuilt, wholeRebuilt) = try await pair.both(Crm_Profiles_V1_Profiles.rebuildDimensions, Crm_Profiles_V1_RebuildDimensionsRequest())
        #expect(rebuilt.customers == wholeRebuilt.customers && rebuilt.customers > 0, "\(rebuilt) against \(wholeRebuilt)")

        // A caller that is not a service may not claim to forward for someone else.
        let claimed = await statusOf {
            _ = try await first.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customers[0].id }, options: CallOptions(metadata: [
                MetadataEntry(ForwardedPrincipal.metadataKey, ForwardedPrincipal.encode(Principal(name: "x", roles: ["head-office"]))),
            ]))
        }
        #expect(claimed?.code == .permissionDenied)

        // profiles-1 killed: its customers are UNAVAILABLE naming their partition, the others served.
        owners[1].kill9()
        let lost = try #require(customers.first { partitioning.partition(of: $0.id) >= 4 })
        let kept = try #require(customers.first { partitioning.partition(of: $0.id) < 4 })
        let failure = await statusOf {
            _ = try await first.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = lost.id })
        }
        #expect(failure?.code == .unavailable)
        #expect(failure?.message.contains("partition \(partitioning.partition(of: lost.id))") == true, "\(String(describing: failure))")
        let served = try await first.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = kept.id; $0.recentLimit = 50 })
        #expect(served.view.customer.customerID == kept.id)
        let countAfter = await statusOf { _ = try await first.unary(Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = "" }) }
        #expect(countAfter?.code == .unavailable)
        await routed.close()
        for client in [first, second, reference] { await client.close() }
    }

    /// A forwarded call carries the forwarder's business day, and an owner that hears a newer one
    /// adopts it at once: with gossip rounds an hour apart, profiles-1 learns the day profiles-0's
    /// own customers' trades moved on to from the first call profiles-0 forwards to it.
    @Test func anOwnerAdoptsTheNewerBusinessDayAForwardedCallCarries() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-parts-day-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let topology = try OwnersTopology(in: workDir, count: Self.count)
        let owners = try await topology.startOwners(in: workDir, extra: ["--setting", "partitions.business_day_interval_ms=3600000"] + OwnersTopology.oneFile)
        defer { for process in owners { process.terminate() } }
        let first = client(owners[0]), second = client(owners[1])
        let partitioning = try Partitioning(count: Self.count)
        let ids = (0..<64).map { "DAY-\($0)" }
        let own = try #require(ids.first { partitioning.partition(of: $0) < Self.count / 2 })
        let theirs = try #require(ids.first { partitioning.partition(of: $0) >= Self.count / 2 })
        for id in [own, theirs] {
            _ = try await first.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
                $0.customer = .with {
                    $0.customerID = id; $0.kind = .individual; $0.name = "Day \(id)"; $0.branchID = "B01"; $0.status = .normal
                    $0.openDate = .init(year: 2020, month: 1, day: 2)
                }
            })
        }
        // profiles-0's own customer trades on 20 Nov 2026 (10:00 in Beijing): its day moves on.
        _ = try await first.unary(Crm_Profiles_V1_Profiles.ingestTrades, .with {
            $0.events = [.with {
                $0.idempotencyKey = "day-1"; $0.customerID = own; $0.account = .cash; $0.side = .buy; $0.instrument = "600519"
                $0.instrumentType = .stock; $0.quantity = 100; $0.price = "10.00"; $0.amount = .with { $0.minorUnits = 100_000 }
                $0.tradedAt = .with { $0.unixMillis = 1_795_140_000_000 }
            }]
        })
        func health(_ client: RPCClient) async throws -> [String: String] {
            try await client.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details
        }
        try await waitUntil { try await health(first)["business_day"] == "2026-11-20" }
        #expect(try await health(first)["business_day_source"] == "own events")
        // The gossip rounds at start found no day anywhere, and the next is an hour away.
        #expect(try await health(second)["business_day"] != "2026-11-20")

        // One call forwarded by profiles-0 for profiles-1's customer carries the day.
        let forwarded = try await first.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = theirs })
        #expect(forwarded.customer.customerID == theirs)
        try await waitUntil { try await health(second)["business_day"] == "2026-11-20" }
        #expect(try await health(second)["business_day_source"] == "adopted from profiles-0 (a forwarded call)")
        for client in [first, second] { await client.close() }
    }
}
