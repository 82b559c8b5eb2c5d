import CRMProtos
import CRMRPC
import CRMTestSupport
@testable import CustomerDimensions
import Testing
@testable import ProfilesService

/// SearchCustomers sorted by a dimension: keyset pages (``SortedPageCursor``) that hold every
/// customer once, in the order of the value and then the customer id, with the values sent along
/// so that a partitioned firm can merge the owners' pages.
@Suite struct SortedSearchTests {
    static let day = Days.day(year: 2026, month: 6, day: 30)

    // MARK: The cursor

    @Test func aTokenNamesItsKeyAndCustomerExactly() throws {
        for key in [-Double.infinity, -1e300, -0.5, 0, 0.1 + 0.2, 12_345_678.9, Double.greatestFiniteMagnitude, .infinity] {
            for id in ["C000001", "a:b:c", "客户-7", ""] {
                let cursor = SortedPageCursor(key: key, customerID: id)
                let parsed = try #require(SortedPageCursor(token: cursor.token), "\(key) \(id)")
                #expect(parsed == cursor)
                #expect(parsed.key.bitPattern == key.bitPattern)
            }
        }
    }

    @Test func textThatIsNoSortedTokenIsRefused() {
        let nan = String(Double.nan.bitPattern, radix: 16)
        for text in ["", "50", "C000001", "s", "s0000000000000000", "x0000000000000000:C1", "s000000000000000g:C1", "s00000000000000000C1", "s\(nan):C1"] {
            #expect(SortedPageCursor(token: text) == nil, "\(text)")
        }
    }

    @Test func theOrderIsTheValueThenTheCustomerID() {
        #expect(SortedPageCursor.precedes(1, "B", 2, "A", descending: false))
        #expect(SortedPageCursor.precedes(2, "B", 1, "A", descending: true))
        // Ties: ascending customer id whichever the direction.
        #expect(SortedPageCursor.precedes(1, "A", 1, "B", descending: false))
        #expect(SortedPageCursor.precedes(1, "A", 1, "B", descending: true))
        #expect(!SortedPageCursor.precedes(1, "A", 1, "A", descending: true))
        // No value sorts lowest.
        #expect(SortedPageCursor.key(of: nil) == -.infinity && SortedPageCursor.key(of: .nan) == -.infinity)
        #expect(SortedPageCursor.precedes(SortedPageCursor.key(of: nil), "Z", -1e300, "A", descending: false))
    }

    // MARK: Pages

    /// Thirteen customers of two managers: cash in four tied bands, one without any position.
    private func populate(_ harness: ProfilesHarness) async throws {
        var events: [Crm_Profiles_V1_DailyPositionEvent] = []
        for number in 1...13 {
            let id = "S\(String(format: "%02d", number))"
            try await harness.upsert(id, manager: number.isMultiple(of: 2) ? "M1" : "M2")
            guard number != 13 else { continue }
            events.append(position(id, cashFen: Int64(number % 4) * 1_000_000))
        }
        _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, .with { $0.events = events })
        try await harness.service.service.updateDimensions()
    }

    private func position(_ customer: String, cashFen: Int64) -> Crm_Profiles_V1_DailyPositionEvent {
        let civil = Days.civil(Self.day)
        return .with {
            $0.idempotencyKey = "P-\(customer)"
            $0.customerID = customer
            $0.tradingDay = .init(year: civil.year, month: civil.month, day: civil.day)
            $0.cash = .with { $0.minorUnits = cashFen }
        }
    }

    /// Every page of a search, following the tokens.
    private func pages(_ client: RPCClient, _ request: Crm_Profiles_V1_SearchCustomersRequest, size: UInt32) async throws -> [Crm_Profiles_V1_SearchCustomersResponse] {
        var request = request
        request.page.pageSize = size
        var answers: [Crm_Profiles_V1_SearchCustomersResponse] = []
        repeat {
            let answer = try await client.unary(Crm_Profiles_V1_Profiles.searchCustomers, request)
            answers.append(answer)
            request.page.pageToken = answer.page.nextPageToken
        } while !request.page.pageToken.isEmpty && answers.count < 100
        return answers
    }

    /// Checks a whole answer is in the order and returns its (customer, value) rows.
    private func ordered(_ answers: [Crm_Profiles_V1_SearchCustomersResponse], descending: Bool) -> [String] {
        let rows = answers.flatMap { answer in
            #expect(answer.sortValues.count == answer.customers.count)
            return zip(answer.customers.map(\.customerID), answer.sortValues).map { $0 }
        }
        for (before, after) in zip(rows, rows.dropFirst()) {
            #expect(SortedPageCursor.precedes(before.1, before.0, after.1, after.0, descending: descending), "\(before) before \(after)")
        }
        return rows.map(\.0)
    }

    @Test func pagesFollowTheValueThenTheIDAndHoldEveryCustomerOnce() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await populate(harness)
            for descending in [false, true] {
                for dimension in ["cash", "total_assets", "position_ratio"] {
                    let request = Crm_Profiles_V1_SearchCustomersRequest.with { $0.orderBy = dimension; $0.descending = descending }
                    let whole = try await pages(harness.office, request, size: 1_000)
                    #expect(whole.count == 1 && whole[0].page.nextPageToken.isEmpty)
                    let all = ordered(whole, descending: descending)
                    #expect(Set(all).count == 13, "\(dimension)")
                    for size: UInt32 in [1, 4, 5] {
                        let paged = try await pages(harness.office, request, size: size)
                        #expect(ordered(paged, descending: descending) == all, "\(dimension) by \(size)")
                        #expect(paged.count == (13 + Int(size) - 1) / Int(size))
                        #expect(paged.allSatisfy { $0.page.totalCount == 13 })
                    }
                }
            }
            // The values are the dimension's (cash in fen), highest first, ties by customer id.
            let byCash = try await pages(harness.office, .with { $0.orderBy = "cash"; $0.descending = true }, size: 1_000)[0]
            #expect(byCash.customers.prefix(3).map(\.customerID) == ["S03", "S07", "S11"])
            #expect(byCash.sortValues.first == 3_000_000)
            // By customer id the answer carries no values.
            let byID = try await harness.office.unary(Crm_Profiles_V1_Profiles.searchCustomers, Crm_Profiles_V1_SearchCustomersRequest())
            #expect(byID.sortValues.isEmpty && byID.customers.count == 13)
        }
    }

    /// A manager's search is answered by scanning the store rather than from the index: the same pages.
    @Test func aManagersSortedPagesHoldOnlyTheirCustomersInOrder() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await populate(harness)
            let m1 = harness.service.client(token: "m1")
            let request = Crm_Profiles_V1_SearchCustomersRequest.with { $0.orderBy = "cash"; $0.descending = true }
            let paged = try await pages(m1, request, size: 2)
            let ids = ordered(paged, descending: true)
            #expect(Set(ids) == Set((1...13).filter { $0.isMultiple(of: 2) }.map { "S\(String(format: "%02d", $0))" }))
            let office = ordered(try await pages(harness.office, request, size: 1_000), descending: true)
            #expect(ids == office.filter(Set(ids).contains))
            await m1.close()
        }
    }

    /// A customer that sorts before the page already read does not shift the next page (an offset
    /// would repeat the last row read); a token that is not a sorted search's is refused by field.
    @Test func theNextPageContinuesAfterTheLastRowRead() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await populate(harness)
            let request = Crm_Profiles_V1_SearchCustomersRequest.with { $0.orderBy = "cash"; $0.descending = true; $0.page.pageSize = 4 }
            let first = try await harness.office.unary(Crm_Profiles_V1_Profiles.searchCustomers, request)
            try await harness.upsert("S00", manager: "M1")
            _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, .with { $0.events = [position("S00", cashFen: 90_000_000)] })
            try await harness.service.service.updateDimensions()
            var next = request
            next.page.pageToken = first.page.nextPageToken
            let rest = try await pages(harness.office, next, size: 4)
            let seen = first.customers.map(\.customerID)
            let later = rest.flatMap { $0.customers.map(\.customerID) }
            #expect(Set(seen).isDisjoint(with: later))
            #expect(!later.contains("S00"))
            #expect(seen.count + later.count == 13)

            // S00 was added after S01…S13, out of id order: pages by id still hold every customer in order.
            let byID = try await pages(harness.office, Crm_Profiles_V1_SearchCustomersRequest(), size: 4).flatMap { $0.customers.map(\.customerID) }
            #expect(byID == (0...13).map { "S\(String(format: "%02d", $0))" })

            for token in ["4", "S05"] {
                var bad = request
                bad.page.pageToken = token
                let refused = await statusOf { _ = try await harness.office.unary(Crm_Profiles_V1_Profiles.searchCustomers, bad) }
                #expect(refused?.code == .invalidArgument)
                #expect(refused?.fieldViolations.first?.field == "page.page_token")
            }
        }
    }
}
