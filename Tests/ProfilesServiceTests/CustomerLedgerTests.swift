@testable import CustomerDimensions
import Foundation
@testable import ProfilesService
import Testing

@Suite struct CustomerLedgerTests {
    let asOf = Fixture.asOf

    @Test func lateEventLandsInItsDaysBucket() {
        var ledger = CustomerLedger()
        ledger.apply(Fixture.trade(asOf - 10, amount: 1_000))
        ledger.apply(Fixture.trade(asOf - 2, amount: 2_000))
        ledger.apply(Fixture.trade(asOf - 6, amount: 4_000))   // late, for an earlier day
        ledger.apply(Fixture.trade(asOf - 10, .sell, amount: 8_000))   // late, for a day that has a bucket
        #expect(ledger.trades.map(\.day) == [asOf - 10, asOf - 6, asOf - 2])
        #expect(ledger.trades.map(\.amountFen) == [9_000, 4_000, 2_000])
        let values = DimensionEngine.compute(ledger: ledger, customer: CustomerFacts(), asOf: asOf)
        // 7-day window = asOf-6 … asOf: 4,000 + 2,000.
        #expect(values.n("trade_amount_7d") == 6_000)
        #expect(values.n("trade_count_7d") == 2)
        // 30-day window: all four trades, 1,000 + 2,000 + 4,000 + 8,000.
        #expect(values.n("trade_amount_30d") == 15_000)
        #expect(values.n("sell_amount_30d") == 8_000)
        #expect(values.n("active_trading_days_30d") == 3)
    }

    @Test func anOlderPositionDoesNotReplaceTheLatest() {
        var ledger = CustomerLedger()
        ledger.apply(Fixture.position(asOf, cash: 500))
        ledger.apply(Fixture.position(asOf - 1, cash: 300))
        #expect(ledger.position?.day == asOf)
        #expect(ledger.position?.cashFen == 500)
        #expect(ledger.position?.customerID == "")
        // It still counts in the averages: day asOf-1 holds 300, day asOf 500; the 5 days before had nothing.
        let values = DimensionEngine.compute(ledger: ledger, customer: CustomerFacts(), asOf: asOf)
        #expect(values.n("total_assets") == 500)
        // (0 × 5 + 300 + 500) / 7 = 114.29 → 114
        #expect(values.n("avg_assets_7d") == 114)
    }

    @Test func sameDayPositionsAndMarginSnapshotsResolveTheSameWayInAnyOrder() {
        let a = Fixture.position(asOf, cash: 100, key: "z")
        let b = Fixture.position(asOf, cash: 200, key: "a")
        let m1 = Fixture.margin(asOf, collateral: 1, financing: 1, limit: 1, key: "k1")
        let m2 = Fixture.margin(asOf, collateral: 2, financing: 2, limit: 2, key: "k2")
        let one = CustomerLedger(events: [a, b, m1, m2])
        let other = CustomerLedger(events: [m2, b, m1, a])
        #expect(one == other)
        #expect(one.position?.cashFen == 200)   // the larger total wins
        #expect(one.margin?.key == "k2")         // the larger key wins
        #expect(one.assets == [AssetPoint(day: asOf, totalFen: 200)])
    }

    @Test func daysLeavingTheRetainedWindowFoldIntoLifetimeFacts() {
        let old = Fixture.trade(asOf - 500, amount: 7_000, commission: 70, fees: 7)
        let recent = Fixture.trade(asOf, amount: 1_000, commission: 10, fees: 1)
        let oldPosition = Fixture.position(asOf - 450, cash: 9_000)
        let inOrder = CustomerLedger(events: [oldPosition, old, recent])
        let reversed = CustomerLedger(events: [recent, old, oldPosition])
        #expect(inOrder == reversed)
        #expect(inOrder.trades.count == 1)
        #expect(inOrder.assets.isEmpty)
        #expect(inOrder.carried.tradeCount == 1)
        #expect(inOrder.carried.lastTradeDay == asOf - 500)
        #expect(inOrder.carried.assets == AssetPoint(day: asOf - 450, totalFen: 9_000))
        #expect(inOrder.retainedFrom == asOf - CustomerLedger.retentionDays + 1)
        let values = DimensionEngine.compute(ledger: inOrder, customer: CustomerFacts(), asOf: asOf)
        #expect(values.n("lifetime_trade_count") == 2)
        #expect(values.n("lifetime_trade_amount") == 8_000)
        #expect(values.n("lifetime_commission") == 80)
        #expect(values.n("days_since_first_trade") == 500)
        #expect(values.n("trade_count_365d") == 1)
        // The carried position holds through the whole 365-day window.
        #expect(values.n("avg_assets_365d") == 9_000)
        #expect(values.n("total_assets") == 9_000)
    }

    @Test(arguments: DimensionWindow.allCases)
    func windowEdges(window: DimensionWindow) {
        let n = DayNumber(window.days)
        let suffix = window.suffix
        // Exactly N days before asOf is out; N-1 days before is in; after asOf is out.
        let values = Fixture.compute([
            Fixture.trade(asOf - n, amount: 1),
            Fixture.trade(asOf - n + 1, amount: 10),
            Fixture.trade(asOf + 1, amount: 100),
            Fixture.deposit(asOf - n, 1),
            Fixture.deposit(asOf - n + 1, 10),
            Fixture.contact(asOf - n),
            Fixture.contact(asOf - n + 1),
            Fixture.view(asOf - n, "OUT"),
            Fixture.view(asOf - n + 1, "IN"),
            Fixture.position(asOf - n, cash: 1_000),
            Fixture.position(asOf - n + 1, cash: 2_000),
        ])
        #expect(values.n("trade_amount" + suffix) == 10)
        #expect(values.n("trade_count" + suffix) == 1)
        #expect(values.n("deposit_amount" + suffix) == 10)
        #expect(values.n("contact_count" + suffix) == 1)
        #expect(values.n("product_view_count" + suffix) == 1)
        // Assets: 2,000 on every day of the window; the 1,000 of the day before is only the start value.
        #expect(values.n("avg_assets" + suffix) == 2_000)
        if window != .d7 && window != .d180 {
            #expect(values.n("max_assets" + suffix) == 2_000)
            #expect(values.n("min_assets" + suffix) == 2_000)
            #expect(values.n("assets_change" + suffix) == 1_000)
        }
    }

    @Test func eventTimesBelongToTheirBeijingDay() {
        // 23:30 Beijing time on asOf-7 is still asOf-7, outside the 7-day window; 00:30 the next day is inside.
        let values = Fixture.compute([
            Fixture.trade(asOf - 7, amount: 1, hour: 23),
            Fixture.trade(asOf - 6, amount: 10, hour: 0),
        ])
        #expect(values.n("trade_amount_7d") == 10)
        #expect(values.n("trade_amount_30d") == 11)
    }

    @Test func orderDoesNotMatter() {
        var random = SeededGenerator(seed: 7)
        let events = Self.randomEvents(count: 600, using: &random)
        let reference = CustomerLedger(events: events)
        let referenceValues = DimensionEngine.compute(ledger: reference, customer: Fixture.activeFacts, asOf: asOf)
        for _ in 0..<5 {
            let shuffled = CustomerLedger(events: events.shuffled(using: &random))
            #expect(shuffled == reference)
            let values = DimensionEngine.compute(ledger: shuffled, customer: Fixture.activeFacts, asOf: asOf)
            #expect(values == referenceValues, "differs in \(values.differences(from: referenceValues))")
        }
        let byDay = CustomerLedger(events: events.sorted { $0.day < $1.day })
        #expect(byDay == reference)
    }

    @Test func rebuildEqualsIncrementalMaintenance() throws {
        var random = SeededGenerator(seed: 2026)
        let events = Self.randomEvents(count: 400, using: &random)
        // Incremental: events arrive in batches, mostly in time order with some late ones, and the
        // store persists the ledger between batches.
        var arrival = events.sorted { $0.day < $1.day }
        for index in stride(from: 0, to: arrival.count - 5, by: 9) { arrival.swapAt(index, index + Int.random(in: 1...5, using: &random)) }
        var stored = CustomerLedger().serialized()
        for batch in stride(from: 0, to: arrival.count, by: 37) {
            var ledger = try CustomerLedger(serialized: stored)
            for event in arrival[batch..<min(batch + 37, arrival.count)] { ledger.apply(event) }
            stored = ledger.serialized()
        }
        let incremental = try CustomerLedger(serialized: stored)
        let rebuilt = CustomerLedger(events: events)
        #expect(incremental == rebuilt)
        for day in [asOf, asOf - 1, asOf + 3] {
            let a = DimensionEngine.compute(ledger: incremental, customer: Fixture.activeFacts, asOf: day)
            let b = DimensionEngine.compute(ledger: rebuilt, customer: Fixture.activeFacts, asOf: day)
            #expect(a == b, "differs in \(a.differences(from: b))")
        }
    }

    @Test func serializationRoundTrips() throws {
        var random = SeededGenerator(seed: 99)
        let ledger = CustomerLedger(events: Self.randomEvents(count: 300, using: &random) + Fixture.activeEvents)
        let bytes = ledger.serialized()
        #expect(try CustomerLedger(serialized: bytes) == ledger)
        #expect(try CustomerLedger(serialized: CustomerLedger().serialized()) == CustomerLedger())
        // Codable writes the same bytes as a single value.
        let json = try JSONEncoder().encode(ledger)
        #expect(try JSONDecoder().decode(CustomerLedger.self, from: json) == ledger)
        let plist = try PropertyListEncoder().encode([ledger])
        #expect(try PropertyListDecoder().decode([CustomerLedger].self, from: plist) == [ledger])
    }

    @Test func corruptBytesAreRefusedNotTrapped() {
        let bytes = CustomerLedger(events: Fixture.activeEvents).serialized()
        // Every strict prefix is refused.
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: LedgerDecodingError.self) { try CustomerLedger(serialized: Array(bytes[..<length])) }
        }
        #expect(throws: LedgerDecodingError.self) { try CustomerLedger(serialized: [2] + bytes.dropFirst()) }
        #expect(throws: LedgerDecodingError.self) { try CustomerLedger(serialized: bytes + [0]) }
        // Random byte flips either decode to something or throw; they never crash.
        var random = SeededGenerator(seed: 5)
        for _ in 0..<300 {
            var damaged = bytes
            damaged[Int.random(in: 1..<damaged.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            _ = try? CustomerLedger(serialized: damaged)
        }
    }

    /// Random events over the last ~420 days (so some fall out of the retained window), with
    /// unique keys.
    static func randomEvents(count: Int, using random: inout SeededGenerator) -> [CustomerEvent] {
        let asOf = Fixture.asOf
        let sectors = ["banking", "technology", "energy", "health", ""]
        let productTypes = ["FUND_BOND", "FUND_EQUITY", "ASSET_MANAGEMENT", "FUND_MONEY_MARKET"]
        var events: [CustomerEvent] = []
        for index in 0..<count {
            let day = asOf - DayNumber(Int.random(in: 0...420, using: &random))
            let key = "r\(index)"
            let amount = Int64.random(in: 1...5_000_000, using: &random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1, 2:
                events.append(Fixture.trade(
                    day, Bool.random(using: &random) ? .buy : .sell, amount: amount, commission: amount / 3_000, fees: amount / 50_000,
                    type: Instrument.allCases.randomElement(using: &random) ?? .stock,
                    sector: sectors.randomElement(using: &random) ?? "", account: Int.random(in: 0..<4, using: &random) == 0 ? .margin : .cash,
                    key: key, hour: Int64.random(in: 0...23, using: &random)
                ))
            case 3:
                events.append(Bool.random(using: &random) ? Fixture.deposit(day, amount, key: key) : Fixture.withdrawal(day, amount, key: key))
            case 4, 5:
                let holdings = (0..<Int.random(in: 0...4, using: &random)).map { i in
                    Fixture.holding("S\(i)", Instrument.allCases.randomElement(using: &random) ?? .stock, sector: sectors[i % 4],
                                    value: Int64.random(in: 0...9_000_000, using: &random), cost: Int64.random(in: 0...9_000_000, using: &random))
                }
                let products = (0..<Int.random(in: 0...2, using: &random)).map { i in
                    Fixture.product("P\(i)", productTypes[i], value: Int64.random(in: 0...3_000_000, using: &random), cost: 1_000_000)
                }
                events.append(Fixture.position(day, cash: amount, holdings: holdings, products: products, key: key))
            case 6:
                events.append(Fixture.margin(day, collateral: amount * 2, financing: amount / 2, accrued: amount / 100, limit: amount, key: key))
            case 7:
                events.append(Fixture.interest(day, amount / 1_000, key: key))
            case 8:
                events.append(Fixture.contact(day, [.call, .visit, .message][index % 3], [.reached, .notReached, .interested, .declined, .complaint][index % 5], key: key))
            default:
                events.append(Fixture.view(day, "P\(index % 6)", productTypes[index % 4], key: key, hour: Int64(index % 24)))
            }
        }
        return events
    }
}
