import CRMProtos
import Foundation

/// Simulates one customer over the span, month by month, and emits their events, purchases and the
/// law's probabilities.
///
/// Each month starts with the purchase decisions, made from the state observed at the end of the
/// month before (``ObservationTracker`` has seen exactly the events up to then); the month's other
/// events follow: trades, transfers, redemptions, product views, service contacts, then end-of-day
/// positions and the margin account. Habits drift from month to month (trading and browsing
/// intensity, the family the customer is curious about), so the observable signals move.
struct CustomerSimulation {
    let world: World
    let sketch: CustomerSketch
    var activity: WorldRandom
    var browsing: WorldRandom
    var purchasing: WorldRandom

    var portfolio = Portfolio()
    var margin: MarginState?
    var tracker = ObservationTracker()
    var events = CustomerEvents()
    var purchases: [GeneratedPurchase] = []
    var months: [CustomerMonth] = []
    /// Under the behaviour law: its own draws (so the other law's world is unchanged), its
    /// inputs, the families the customer is currently interested in, and the redemption orders.
    var lawDraws: WorldRandom
    var behaviourTracker = BehaviourTracker()
    var interested: [Bool]
    var redemptions: [Crm_Products_V1_Order] = []
    var redemptionSequence = 0

    var tradeDrift = 0.0
    var viewDrift = 0.0
    var focus: WorldFamily
    var tradeSequence = 0
    var transferSequence = 0
    var contactSequence = 0
    var viewSequence = 0
    /// The last trading day the account could trade before it closed: everything is sold, redeemed
    /// and withdrawn then.
    let liquidationDay: WorldDay?

    init(world: World, sketch: CustomerSketch, seed: UInt64) {
        self.world = world
        self.sketch = sketch
        activity = WorldRandom(seed: seed, salt: 2)
        browsing = WorldRandom(seed: seed, salt: 3)
        purchasing = WorldRandom(seed: seed, salt: 4)
        lawDraws = WorldRandom(seed: seed, salt: 5)
        interested = [Bool](repeating: false, count: WorldFamily.allCases.count)
        focus = WorldFamily(rawValue: browsing.weighted(sketch.familyPreference)) ?? .moneyMarketFund
        var liquidation: WorldDay?
        if let closed = sketch.timeline.closedOn, closed > world.calendar.spanStart {
            var day = closed - 1
            while day > closed - 40 {
                if WorldDays.isTradingDay(day), sketch.timeline.status(on: day) == .normal { liquidation = day; break }
                day -= 1
            }
        }
        liquidationDay = liquidation
    }

    // MARK: The account's days

    func exists(on day: WorldDay) -> Bool {
        guard let open = sketch.openDay, open <= day else { return false }
        if let closed = sketch.timeline.closedOn, day >= closed { return false }
        if let liquidationDay, day > liquidationDay { return false }
        return true
    }

    func mayTrade(on day: WorldDay) -> Bool {
        exists(on: day) && sketch.timeline.status(on: day) == .normal && (liquidationDay.map { day < $0 } ?? true)
    }

    /// Whether the customer record exists and may browse or be called on `day`.
    func isKnown(on day: WorldDay) -> Bool {
        guard day >= sketch.timeline.created else { return false }
        if let closed = sketch.timeline.closedOn, day >= closed { return false }
        return true
    }

    // MARK: Running

    mutating func run() -> (events: CustomerEvents, purchases: [GeneratedPurchase], months: [CustomerMonth], redemptions: [Crm_Products_V1_Order]) {
        let calendar = world.calendar
        let behaviourLaw = world.configuration.law == .behaviour
        setUpOpeningPortfolio()
        for spanIndex in calendar.months.indices {
            let month = calendar.months[spanIndex]
            if spanIndex > 0 { drift() }
            let purchaseMonth = spanIndex - calendar.warmUpMonths
            var planned: [PlannedPurchase] = []
            if behaviourLaw {
                driftInterest()
                if purchaseMonth >= 0 { planned = decideBehaviourPurchases(month: month, index: purchaseMonth) }
                simulateAccount(month: month, spanIndex: spanIndex, purchases: planned)
                simulateManagerContacts(month: month, spanIndex: spanIndex, purchases: planned)
            } else {
                if purchaseMonth >= 0 { planned = decidePurchases(month: month, index: purchaseMonth) }
                simulateAccount(month: month, spanIndex: spanIndex, purchases: planned)
                simulateViews(month: month, spanIndex: spanIndex, purchases: planned)
                simulateContacts(month: month, purchases: planned)
            }
        }
        // A deposit that funds a trade is stamped minutes before it, possibly before another
        // transfer already emitted: restore time order.
        events.fundTransfers.sort { ($0.transferredAt.unixMillis, $0.idempotencyKey) < ($1.transferredAt.unixMillis, $1.idempotencyKey) }
        return (events, purchases, months, redemptions)
    }

    /// Month-to-month drift of habits: trading and browsing intensity follow log-AR(1) processes,
    /// and the family the customer is curious about changes about one month in three.
    mutating func drift() {
        tradeDrift = 0.7 * tradeDrift + 0.55 * activity.normal()
        viewDrift = 0.6 * viewDrift + 0.6 * browsing.normal()
        if browsing.chance(0.35) {
            focus = WorldFamily(rawValue: browsing.weighted(sketch.familyPreference)) ?? focus
        }
    }

    // MARK: Opening

    /// The portfolio the customer holds when the span starts (accounts opened before it), or
    /// nothing (the opening deposit comes with the opening).
    mutating func setUpOpeningPortfolio() {
        let start = world.calendar.spanStart
        guard let open = sketch.openDay, open < start, exists(on: start) else { return }
        let wealthFen = Fen.yuan(sketch.wealthYuan)
        let firstDay = world.calendar.months[0].tradingDays.first ?? start
        var remaining = wealthFen
        // Products held from before (a third of funded customers).
        if sketch.wealthYuan >= 5_000, activity.chance(0.35), let profile = sketch.profile {
            let count = 1 + activity.below(3)
            for _ in 0..<count {
                let family = WorldFamily(rawValue: activity.weighted(sketch.familyPreference)) ?? .moneyMarketFund
                let candidates = world.heldBeforeSpan[family.rawValue].filter { index in
                    let facts = world.facts[index]
                    return WorldSuitability.matches(profile, risk: facts.risk, horizon: facts.horizon, variety: facts.variety)
                }
                guard !candidates.isEmpty else { continue }
                let product = candidates[activity.below(candidates.count)]
                let value = Fen.floored(Fen.scaled(wealthFen, by: activity.uniform(0.08, 0.3)), to: 100)
                guard value < remaining else { continue }
                remaining -= value
                let cost = Fen.scaled(value, by: activity.uniform(0.85, 1.05))
                portfolio.products.append(.init(product: product, costFen: cost, baseValueFen: value, baseDay: firstDay,
                                                redeemOn: firstDay + WorldDay(activity.int(30...600))))
            }
        }
        // Securities, for those who trade or once did.
        if sketch.tradesPerMonth > 0 || activity.chance(0.4) {
            let share = activity.uniform(0.2, 0.85)
            let count = 1 + min(7, activity.poisson(log10(max(10, sketch.wealthYuan)) - 2.5))
            let budget = Fen.scaled(remaining, by: share)
            for _ in 0..<count {
                let security = pickSecurity()
                let price = world.market.price(security, on: firstDay)
                let lotValue = Market.value(quantity: world.market.securities[security].lot, priceMilli: price)
                let lots = Int64(Double(budget) / Double(count) / Double(max(1, lotValue)))
                guard lots >= 1 else { continue }
                let quantity = lots * world.market.securities[security].lot
                let value = Market.value(quantity: quantity, priceMilli: price)
                guard value <= remaining else { continue }
                remaining -= value
                portfolio.buy(security, quantity: quantity, costFen: Fen.scaled(value, by: activity.uniform(0.7, 1.3)))
            }
        }
        portfolio.cashFen = max(0, remaining)
        if sketch.hasMarginAccount, open < start - 180 {
            let pledged = Fen.scaled(wealthFen, by: activity.uniform(0.3, 0.6))
            let limit = min(pledged, Fen.yuan(50_000_000)) / 1_000_000 * 1_000_000
            if limit > 0 {
                margin = MarginState(pledgedFen: pledged, creditLimitFen: limit, financingFen: Fen.scaled(limit, by: activity.uniform(0, 0.5)),
                                     lastChargedOn: start - 10)
            }
        }
    }

    /// A security the customer would trade: mostly stocks of their sectors, some ETFs, funds and bonds.
    mutating func pickSecurity() -> Int {
        let market = world.market
        let roll = activity.uniform()
        if roll < 0.62 {
            let sector = market.stocksBySector[sketch.sectors[activity.below(sketch.sectors.count)]]
            if !sector.isEmpty { return sector[activity.below(sector.count)] }
        }
        if roll < 0.8 {
            let sector = market.stocksBySector[activity.below(market.stocksBySector.count)]
            if !sector.isEmpty { return sector[activity.below(sector.count)] }
        }
        if roll < 0.95 { return market.funds[activity.below(market.funds.count)] }
        return market.bonds[activity.below(market.bonds.count)]
    }
}
