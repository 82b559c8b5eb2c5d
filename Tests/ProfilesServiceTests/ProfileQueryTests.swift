import CRMProtos
import CRMRPC
import CRMTestSupport
@testable import CustomerDimensions
import Synchronization
import Testing
@testable import ProfilesService

/// From ingested events to dimensions, classes, the 360° view, segments and the head-office figures.
@Suite struct ProfileQueryTests {
    static let day = Days.day(year: 2026, month: 6, day: 30)

    private func position(_ key: String, customer: String, cashFen: Int64, stockFen: Int64) -> Crm_Profiles_V1_DailyPositionEvent {
        let civil = Days.civil(Self.day)
        return .with {
            $0.idempotencyKey = key
            $0.customerID = customer
            $0.tradingDay = .init(year: civil.year, month: civil.month, day: civil.day)
            $0.cash = .with { $0.minorUnits = cashFen }
            if stockFen > 0 {
                $0.holdings = [.with {
                    $0.instrument = "600519"; $0.instrumentType = .stock; $0.sector = "consumer"; $0.quantity = 100
                    $0.marketValue = .with { $0.minorUnits = stockFen }; $0.cost = .with { $0.minorUnits = stockFen - 10_000 }
                }]
            }
        }
    }

    /// Three customers: a rich active trader (M1), a cash-only customer (M1), a prospect (M2).
    private func populate(_ harness: ProfilesHarness) async throws {
        try await harness.upsert("RICH", manager: "M1")
        try await harness.upsert("CASH", manager: "M1")
        try await harness.upsert("LEAD", status: .prospect, manager: "M2")
        _ = try await harness.ingestTrades((1...12).map { ProfilesHarness.trade("T\($0)", customer: "RICH", amountFen: 2_000_000, day: Int32(10 + $0)) })
        _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, Crm_Profiles_V1_IngestDailyPositionsRequest.with {
            $0.events = [
                position("P1", customer: "RICH", cashFen: 20_000_000, stockFen: 80_000_000),
                position("P2", customer: "CASH", cashFen: 5_000_000, stockFen: 0),
            ]
        })
        _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, Crm_Profiles_V1_IngestServiceContactsRequest.with {
            $0.events = [.with {
                $0.idempotencyKey = "K1"; $0.customerID = "RICH"; $0.channel = .visit; $0.staffID = "M1"; $0.topic = "bond fund"
                $0.outcome = .interested; $0.contactedAt = .with { $0.unixMillis = Int64(Self.day) * Days.millisPerDay + 3_600_000 }
            }]
        })
        try await harness.service.service.updateDimensions()
    }

    @Test func eventsBecomeDimensionsClassesAndThe360View() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await populate(harness)
            let view = try await harness.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = "RICH"; $0.recentLimit = 5 }).view
            #expect(view.cash.minorUnits == 20_000_000)
            #expect(view.totalAssets.minorUnits == 100_000_000)
            #expect(view.positions.map(\.instrument) == ["600519"])
            #expect(view.recentTrades.count == 5)
            #expect(view.recentTrades.first?.idempotencyKey == "T12")  // newest first
            #expect(view.recentContacts.map(\.topic) == ["bond fund"])
            #expect(view.statusHistory.map(\.toStatus) == [.normal])
            let numbers = view.dimensions.numbers
            #expect(numbers["total_assets"] == 100_000_000)
            #expect(numbers["position_ratio"] == 0.8)
            #expect(numbers["trade_count_30d"] == 12)
            #expect(view.dimensions.asOf.isoString == "2026-06-30")
            #expect(view.dimensions.classes.count >= 10)
            #expect(view.dimensions.classes["risk_tolerance"] == "unassessed")

            let prospect = try await harness.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = "LEAD" }).view
            #expect(prospect.dimensions.classes["lifecycle_stage"] == "prospect")

            // The data dictionary lists every dimension with a definition.
            let dictionary = try await harness.office.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest())
            #expect(dictionary.dimensions.count >= 150)
            #expect(dictionary.dimensions.allSatisfy { !$0.definition.isEmpty && $0.type != .unspecified })
            let schemes = try await harness.office.unary(Crm_Profiles_V1_Profiles.listClassificationSchemes, Crm_Profiles_V1_ListClassificationSchemesRequest())
            #expect(schemes.schemes.count >= 10)

            // A full rebuild from the stored events gives the incrementally kept ledgers.
            let rebuild = try await harness.office.unary(Crm_Profiles_V1_Profiles.rebuildDimensions, Crm_Profiles_V1_RebuildDimensionsRequest())
            #expect(rebuild.customers == 3)
            #expect(rebuild.mismatches == 0)
        }
    }

    @Test func segmentsCountAndListTheirMembersAndBadRulesNameThePosition() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await populate(harness)
            let save = { (name: String, rule: String) async throws -> Crm_Profiles_V1_SaveSegmentResponse in
                try await harness.office.unary(Crm_Profiles_V1_Profiles.saveSegment, Crm_Profiles_V1_SaveSegmentRequest.with {
                    $0.segment = .with { $0.name = name; $0.rule = rule; $0.description_p = "test" }
                })
            }
            _ = try await save("invested", "position_ratio > 0.5 and not status = frozen")
            let count = try await harness.office.unary(Crm_Profiles_V1_Profiles.countSegment, Crm_Profiles_V1_CountSegmentRequest.with { $0.name = "invested" })
            #expect(count.count == 1)
            #expect(count.population == 3)
            let members = try await harness.office.unary(Crm_Profiles_V1_Profiles.listSegmentMembers, Crm_Profiles_V1_ListSegmentMembersRequest.with { $0.name = "invested" })
            #expect(members.customers.map(\.customerID) == ["RICH"])
            let view = try await harness.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = "RICH" }).view
            #expect(view.segments == ["invested"])

            let bad = await statusOf { _ = try await save("broken", "position_ratio < ") }
            #expect(bad?.code == .invalidArgument)
            #expect(bad?.fieldViolations.first?.field == "segment.rule")
            #expect(bad?.message.contains("position 18") == true)  // one past the end of the 17-character text
            let unknownField = await statusOf { _ = try await save("typo", "asset_teir = gold") }
            #expect(unknownField?.message.contains("position 1") == true)

            // Ad-hoc rules and sorted search.
            let adHoc = try await harness.office.unary(Crm_Profiles_V1_Profiles.countSegment, Crm_Profiles_V1_CountSegmentRequest.with { $0.rule = "status in (prospect, closed) or cash >= 5000000" })
            #expect(adHoc.count == 3)
            let sorted = try await harness.office.unary(Crm_Profiles_V1_Profiles.searchCustomers, Crm_Profiles_V1_SearchCustomersRequest.with {
                $0.rule = "status = normal"; $0.orderBy = "total_assets"; $0.descending = true; $0.page = .with { $0.pageSize = 1 }
            })
            #expect(sorted.customers.map(\.customerID) == ["RICH"])
            #expect(sorted.page.totalCount == 2)
            #expect(!sorted.page.nextPageToken.isEmpty)
        }
    }

    /// Health's `dimensions_pending` counts what the store holds but the index does not yet: a step
    /// is committed first and put into the index just after, and callers that wait for 0 then ask
    /// questions the index answers (a count a moment later missed the last step's customers).
    @Test func pendingCountsWhatTheIndexDoesNotHoldYet() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await populate(harness)
            func pending() async throws -> String? {
                try await harness.office.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details["dimensions_pending"]
            }
            #expect(try await pending() == "0")
            let updater = harness.service.service.cores.all[0].updater
            let held = try #require(updater.indexedThrough.withLock { $0 })
            // As between a step's commit and its entry into the index: its last two events not held yet.
            updater.indexedThrough.withLock {
                $0 = DimensionUpdater.Checkpoint(lastEventID: held.lastEventID - 2, lastChangeSequence: held.lastChangeSequence, businessDay: held.businessDay)
            }
            #expect(try await pending() == "2")
            updater.indexedThrough.withLock { $0 = held }
            #expect(try await pending() == "0")
            // As while a step (a rollover's too, which moves no checkpoint) is written or indexed.
            updater.stepsInFlight.wrappingAdd(1, ordering: .sequentiallyConsistent)
            #expect(try await pending() == "1")
            updater.stepsInFlight.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            #expect(try await pending() == "0")
        }
    }

    @Test func managersSeeTheirBookAndHeadOfficeSeesTheFirm() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await populate(harness)
            let m1 = harness.service.client(token: "m1")
            let book = try await m1.unary(Crm_Profiles_V1_Profiles.getManagerBook, Crm_Profiles_V1_GetManagerBookRequest())
            #expect(book.customers.map(\.customerID) == ["CASH", "RICH"])
            #expect(book.totalAssets.minorUnits == 105_000_000)
            let other = await statusOf { _ = try await m1.unary(Crm_Profiles_V1_Profiles.getManagerBook, Crm_Profiles_V1_GetManagerBookRequest.with { $0.managerID = "M2" }) }
            #expect(other?.code == .permissionDenied)
            // A manager's search only ever returns their own customers.
            let search = try await m1.unary(Crm_Profiles_V1_Profiles.searchCustomers, Crm_Profiles_V1_SearchCustomersRequest())
            #expect(Set(search.customers.map(\.managerID)) == ["M1"])
            let view = await statusOf { _ = try await m1.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = "LEAD" }) }
            #expect(view?.code == .permissionDenied)

            let figures = try await harness.office.unary(Crm_Profiles_V1_Profiles.getBranchFigures, Crm_Profiles_V1_GetBranchFiguresRequest())
            #expect(figures.headOffice.customers == 3)
            #expect(figures.headOffice.customersByStatus == ["NORMAL": 2, "PROSPECT": 1])
            #expect(figures.headOffice.totalAssets.minorUnits == 105_000_000)
            #expect(figures.branches.map(\.branchID) == ["B01"])
            let distribution = try await harness.office.unary(Crm_Profiles_V1_Profiles.getClassDistribution, Crm_Profiles_V1_GetClassDistributionRequest.with { $0.scheme = "lifecycle_stage" })
            #expect(distribution.customersByClass.values.reduce(0, +) == 3)
            #expect(distribution.customersByClass["prospect"] == 1)
            await m1.close()
        }
    }

    @Test func theUpdaterResumesFromItsCheckpointAfterARestart() async throws {
        let harness = try await ProfilesHarness.start()
        try await harness.upsert("C1")
        _ = try await harness.ingestTrades((1...3).map { ProfilesHarness.trade("A\($0)", customer: "C1") })
        try await harness.service.service.updateDimensions()
        try await harness.stop()
        try await withService(await ProfilesHarness.start(path: harness.path)) { restarted in
            _ = try await restarted.ingestTrades((1...2).map { ProfilesHarness.trade("B\($0)", customer: "C1") })
            try await restarted.service.service.updateDimensions()
            let view = try await restarted.office.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = "C1" }).view
            #expect(view.dimensions.numbers["trade_count_365d"] == 5)
            let rebuild = try await restarted.office.unary(Crm_Profiles_V1_Profiles.rebuildDimensions, Crm_Profiles_V1_RebuildDimensionsRequest())
            #expect(rebuild.mismatches == 0)
            // Each step announced the new dimensions on the feed.
            let changes = try await restarted.changes(after: 0)
            #expect(changes.filter { $0.kind == .dimensionsChanged }.count == 2)
        }
    }
}

/// The in-memory columns must answer exactly what a row-by-row scan of the store answers.
@Suite struct DimensionIndexTests {
    @Test func columnarCountsAgreeWithARowScan() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            for index in 0..<60 {
                let status: Crm_Profiles_V1_AccountStatus = [.normal, .normal, .frozen, .prospect, .closed][index % 5]
                try await harness.upsert(String(format: "C%03d", index), status: status, manager: index % 3 == 0 ? "M1" : "M2")
            }
            var trades: [Crm_Profiles_V1_TradeEvent] = []
            for customer in 0..<60 where customer % 5 < 2 {
                let id = String(format: "C%03d", customer)
                let amount = Int64(100_000 * (customer + 1))
                for n in 0..<(customer % 7 + 1) {
                    trades.append(ProfilesHarness.trade("T\(customer)-\(n)", customer: id, amountFen: amount, day: Int32(1 + n)))
                }
            }
            _ = try await harness.ingestTrades(trades)
            try await harness.service.service.updateDimensions()
            let rules = [
                "status = normal",
                "trade_count_30d >= 3 and not status = frozen",
                "buy_amount_30d > 500000 or manager_id = M1",
                "lifecycle_stage in (prospect, new) or trade_count_365d between 2 and 4",
                "asset_tier >= silver",
            ]
            let m1 = harness.service.client(token: "m1")
            for rule in rules {
                // Head office goes through the columns; a manager's scoped count scans the store.
                let columnar = try await harness.office.unary(Crm_Profiles_V1_Profiles.countSegment, Crm_Profiles_V1_CountSegmentRequest.with { $0.rule = rule })
                let scopedColumnar = try await harness.office.unary(Crm_Profiles_V1_Profiles.countSegment, Crm_Profiles_V1_CountSegmentRequest.with { $0.rule = "(\(rule)) and manager_id = M1" })
                let scanned = try await m1.unary(Crm_Profiles_V1_Profiles.countSegment, Crm_Profiles_V1_CountSegmentRequest.with { $0.rule = rule })
                #expect(columnar.population == 60)
                #expect(scanned.population == 20)
                #expect(scopedColumnar.count == scanned.count, "\(rule)")
                let searched = try await harness.office.unary(Crm_Profiles_V1_Profiles.searchCustomers, Crm_Profiles_V1_SearchCustomersRequest.with { $0.rule = rule; $0.page = .with { $0.pageSize = 1_000 } })
                #expect(UInt64(searched.customers.count) == columnar.count)
                #expect(searched.customers.map(\.customerID) == searched.customers.map(\.customerID).sorted())
            }
            await m1.close()
        }
    }
}
