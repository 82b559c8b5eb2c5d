import CRMProtos
import Foundation

/// The cash and margin accounts over a month: trades, transfers, redemptions, the closing
/// liquidation, end-of-day positions and the margin account's snapshots and interest.
extension CustomerSimulation {
    enum ActionKind {
        case openingDeposit
        case trade
        case marginTrade
        case deposit
        case withdrawal
        case purchase(PlannedPurchase)
        case redemption(product: Int)
        case liquidation
    }

    struct Action {
        let millis: Int64
        let sequence: Int
        let day: WorldDay
        let kind: ActionKind
        /// Whether it changes the cash account (and so may earn a position snapshot).
        var changesCashAccount: Bool {
            if case .marginTrade = kind { return false }
            return true
        }
    }

    mutating func simulateAccount(month: WorldCalendar.Month, spanIndex: Int, purchases planned: [PlannedPurchase]) {
        var actions: [Action] = []
        func add(_ day: WorldDay, _ second: Int, _ kind: ActionKind) {
            actions.append(Action(millis: WorldDays.millis(day, secondOfDay: second), sequence: actions.count, day: day, kind: kind))
        }
        let tradingDays = month.tradingDays.filter { mayTrade(on: $0) }

        if let open = sketch.openDay, open >= month.firstDay, open <= month.lastDay,
           let first = month.tradingDays.first(where: { $0 >= open && mayTrade(on: $0) }) {
            add(first, 9 * 3_600 + activity.below(3_600), .openingDeposit)
        }
        if !tradingDays.isEmpty {
            let factor = exp(tradeDrift - 0.3)
            for _ in 0..<activity.poisson(sketch.tradesPerMonth * factor) {
                add(tradingDays[activity.below(tradingDays.count)], tradingSecond(), .trade)
            }
            if margin != nil {
                for _ in 0..<activity.poisson(0.25 + sketch.tradesPerMonth * factor * 0.3) {
                    add(tradingDays[activity.below(tradingDays.count)], tradingSecond(), .marginTrade)
                }
            }
            for _ in 0..<activity.poisson(0.15) {
                add(tradingDays[activity.below(tradingDays.count)], 9 * 3_600 + activity.below(7 * 3_600), .deposit)
            }
            for _ in 0..<activity.poisson(0.12) {
                add(tradingDays[activity.below(tradingDays.count)], 9 * 3_600 + activity.below(7 * 3_600), .withdrawal)
            }
            for holding in portfolio.products where holding.redeemOn <= month.lastDay {
                if let day = tradingDays.first(where: { $0 >= holding.redeemOn }) {
                    add(day, 10 * 3_600 + activity.below(4 * 3_600), .redemption(product: holding.product))
                }
            }
        }
        for purchase in planned {
            add(purchase.day, purchase.second, .purchase(purchase))
        }
        if let liquidationDay, liquidationDay >= month.firstDay, liquidationDay <= month.lastDay {
            add(liquidationDay, 14 * 3_600 + 50 * 60, .liquidation)
        }
        actions.sort { ($0.millis, $0.sequence) < ($1.millis, $1.sequence) }

        // End-of-day snapshots: the span's opening balance, the first and last days the cash account
        // changed, the liquidation, and the month's last trading day.
        var snapshotDays: [WorldDay] = []
        if spanIndex == 0, let first = month.tradingDays.first { snapshotDays.append(first) }
        let changeDays = actions.filter(\.changesCashAccount).map(\.day)
        if let first = changeDays.first { snapshotDays.append(first) }
        if let last = changeDays.last { snapshotDays.append(last) }
        if let liquidationDay, liquidationDay >= month.firstDay, liquidationDay <= month.lastDay { snapshotDays.append(liquidationDay) }
        snapshotDays.append(month.lastTradingDay)
        snapshotDays = Array(Set(snapshotDays.filter { exists(on: $0) })).sorted()

        var nextSnapshot = 0
        for action in actions {
            while nextSnapshot < snapshotDays.count, snapshotDays[nextSnapshot] < action.day {
                emitSnapshot(on: snapshotDays[nextSnapshot])
                nextSnapshot += 1
            }
            apply(action)
        }
        while nextSnapshot < snapshotDays.count {
            emitSnapshot(on: snapshotDays[nextSnapshot])
            nextSnapshot += 1
        }
        marginMonth(month: month)
    }

    mutating func tradingSecond() -> Int {
        activity.chance(0.5) ? 9 * 3_600 + 30 * 60 + activity.below(7_200) : 13 * 3_600 + activity.below(7_200)
    }

    mutating func apply(_ action: Action) {
        switch action.kind {
        case .openingDeposit:
            let amount = Fen.floored(Fen.yuan(sketch.wealthYuan * activity.uniform(0.5, 1)), to: 100)
            transfer(deposit: true, amount: amount, millis: action.millis)
        case .trade:
            cashTrade(day: action.day, millis: action.millis)
        case .marginTrade:
            marginTrade(day: action.day, millis: action.millis)
        case .deposit:
            let amount = Fen.floored(Fen.yuan(sketch.wealthYuan * activity.uniform(0.02, 0.2)), to: 10_000)
            transfer(deposit: true, amount: amount, millis: action.millis)
        case .withdrawal:
            guard portfolio.cashFen >= 10_000 else { return }
            let amount = Fen.floored(Fen.scaled(portfolio.cashFen, by: activity.uniform(0.1, 0.6)), to: 100)
            guard amount <= portfolio.cashFen else { return }
            transfer(deposit: false, amount: amount, millis: action.millis)
        case .purchase(let purchase):
            buyProduct(purchase, millis: action.millis)
        case .redemption(let product):
            guard let slot = portfolio.products.firstIndex(where: { $0.product == product && $0.redeemOn <= action.day }) else { return }
            let value = portfolio.value(of: portfolio.products[slot], on: action.day, market: world.market)
            portfolio.cashFen += value
            portfolio.products.remove(at: slot)
            if world.configuration.law == .behaviour, value > 0 { recordRedemption(product: product, amountFen: value, millis: action.millis) }
        case .liquidation:
            liquidate(day: action.day, millis: action.millis)
        }
    }

    mutating func transfer(deposit: Bool, amount: Int64, millis: Int64) {
        guard amount > 0 else { return }
        transferSequence += 1
        var event = Crm_Profiles_V1_FundTransferEvent()
        event.idempotencyKey = sketch.id + "-F" + String(transferSequence)
        event.customerID = sketch.id
        event.direction = deposit ? .deposit : .withdrawal
        event.amount = Wire.money(amount)
        event.transferredAt = Wire.timestamp(millis)
        events.fundTransfers.append(event)
        portfolio.cashFen += deposit ? amount : -amount
    }

    /// Brings in cash from the bank when `needed` exceeds it: a deposit a few minutes earlier.
    mutating func fund(_ needed: Int64, millis: Int64) {
        guard needed > portfolio.cashFen else { return }
        let shortfall = needed - portfolio.cashFen
        transfer(deposit: true, amount: (shortfall + 99_999) / 100_000 * 100_000, millis: millis - Int64(60_000 + activity.below(600_000)))
    }

    /// Commission (0.025%, at least 5 yuan, for stocks and funds; 0.01% for bonds; 0.001% for the
    /// repo), fees (exchange handling and transfer fees) and the 0.05% stamp duty on stock sales.
    ///
    /// The stamp duty is a tax the customer pays, not an exchange or regulatory fee: the trade
    /// event's `fees` leave it out (net commission, in profiles' dimensions and in compensation's
    /// pay, is commission less fees, so a sale would otherwise look like a loss), while the
    /// customer's cash pays it with the rest.
    static func charges(type: Crm_Profiles_V1_InstrumentType, side: Crm_Profiles_V1_TradeSide, amount: Int64) -> TradeCharges {
        switch type {
        case .stock:
            let stamp = side == .sell ? Fen.scaled(amount, by: 0.0005) : 0
            return TradeCharges(commission: max(500, Fen.scaled(amount, by: 0.000_25)), fees: Fen.scaled(amount, by: 0.000_044_1), stampDuty: stamp)
        case .etf, .fund:
            return TradeCharges(commission: max(500, Fen.scaled(amount, by: 0.000_25)), fees: Fen.scaled(amount, by: 0.000_04))
        case .bond:
            return TradeCharges(commission: max(100, Fen.scaled(amount, by: 0.000_1)), fees: Fen.scaled(amount, by: 0.000_01))
        default:
            return TradeCharges(commission: Fen.scaled(amount, by: 0.000_01), fees: 0)
        }
    }

    mutating func emitTrade(account: Crm_Profiles_V1_AccountType, side: Crm_Profiles_V1_TradeSide, security: Int, quantity: Int64,
                                    priceMilli: Int64, amount: Int64, charges: TradeCharges, millis: Int64) {
        let info = world.market.securities[security]
        tradeSequence += 1
        var event = Crm_Profiles_V1_TradeEvent()
        event.idempotencyKey = sketch.id + "-T" + String(tradeSequence)
        event.customerID = sketch.id
        event.account = account
        event.side = side
        event.instrument = info.code
        event.instrumentType = info.type
        event.sector = info.sector
        event.quantity = quantity
        event.price = Wire.price(milli: priceMilli, decimals: info.decimals)
        event.amount = Wire.money(amount)
        event.commission = Wire.money(charges.commission)
        event.fees = Wire.money(charges.fees)
        event.tradedAt = Wire.timestamp(millis)
        events.trades.append(event)
        tracker.traded(on: WorldDays.day(ofMillis: millis))
    }

    mutating func cashTrade(day: WorldDay, millis: Int64) {
        let market = world.market
        // Now and then an overnight reverse repo with idle cash (a sale of GC001 in the exchange's terms).
        if portfolio.cashFen >= 10_000_000, activity.chance(0.08) {
            let units = portfolio.cashFen / 2 / 10_000 / 1_000 * 1_000
            guard units > 0 else { return }
            let amount = units * 10_000
            emitTrade(account: .cash, side: .sell, security: market.repo, quantity: units, priceMilli: market.price(market.repo, on: day),
                      amount: amount, charges: Self.charges(type: .repo, side: .sell, amount: amount), millis: millis)
            portfolio.cashFen -= Self.charges(type: .repo, side: .sell, amount: amount).commission
            return
        }
        let total = portfolio.totalFen(on: day, market: market)
        let wantsToSell = !portfolio.securities.isEmpty && activity.chance(portfolio.cashFen < total / 10 ? 0.75 : 0.45)
        if wantsToSell {
            let slot = activity.below(portfolio.securities.count)
            let holding = portfolio.securities[slot]
            let lot = market.securities[holding.security].lot
            let quantity = holding.quantity <= lot || activity.chance(0.5) ? holding.quantity : max(lot, holding.quantity / 2 / lot * lot)
            let price = market.price(holding.security, on: day)
            let amount = Market.value(quantity: quantity, priceMilli: price)
            guard amount > 0 else { return }
            let charges = Self.charges(type: market.securities[holding.security].type, side: .sell, amount: amount)
            emitTrade(account: .cash, side: .sell, security: holding.security, quantity: quantity, priceMilli: price, amount: amount,
                      charges: charges, millis: millis)
            portfolio.sell(slot: slot, quantity: quantity)
            portfolio.cashFen += max(0, amount - charges.total)
            return
        }
        var security = !portfolio.securities.isEmpty && activity.chance(0.35)
            ? portfolio.securities[activity.below(portfolio.securities.count)].security : pickSecurity()
        var price = market.price(security, on: day)
        var lot = market.securities[security].lot
        // Buys spend the cash at hand; with too little, the customer brings in a modest sum first
        // (never more than a fifth of their usual wealth), so assets do not snowball.
        let target = max(Fen.scaled(total, by: activity.uniform(0.03, 0.25)), 200_000)
        var budget = min(target, portfolio.cashFen * 99 / 100)
        if budget < 200_000 {
            budget = min(target, max(200_000, Fen.scaled(Fen.yuan(sketch.wealthYuan), by: 0.2)))
        }
        if Market.value(quantity: lot, priceMilli: price) > budget {
            security = market.funds[activity.below(market.funds.count)]
            price = market.price(security, on: day)
            lot = market.securities[security].lot
        }
        let lotValue = max(1, Market.value(quantity: lot, priceMilli: price))
        let quantity = max(1, budget / lotValue) * lot
        let amount = Market.value(quantity: quantity, priceMilli: price)
        let charges = Self.charges(type: market.securities[security].type, side: .buy, amount: amount)
        let cost = amount + charges.total
        fund(cost, millis: millis)
        emitTrade(account: .cash, side: .buy, security: security, quantity: quantity, priceMilli: price, amount: amount, charges: charges, millis: millis)
        portfolio.buy(security, quantity: quantity, costFen: cost)
        portfolio.cashFen -= cost
    }

    mutating func marginTrade(day: WorldDay, millis: Int64) {
        guard var state = margin else { return }
        let market = world.market
        let sector = market.stocksBySector[sketch.sectors[activity.below(sketch.sectors.count)]]
        let security = sector.isEmpty ? market.funds[0] : sector[activity.below(sector.count)]
        let price = market.price(security, on: day)
        let lot = market.securities[security].lot
        let lotValue = max(1, Market.value(quantity: lot, priceMilli: price))
        let available = state.creditLimitFen - state.financingFen
        let buying = state.financingFen == 0 || (available > lotValue && activity.chance(0.55))
        let target = buying ? Fen.scaled(available, by: activity.uniform(0.05, 0.3)) : Fen.scaled(state.financingFen, by: activity.uniform(0.2, 0.9))
        let lots = target / lotValue
        guard lots >= 1 else { return }
        let quantity = lots * lot
        let amount = Market.value(quantity: quantity, priceMilli: price)
        let side: Crm_Profiles_V1_TradeSide = buying ? .buy : .sell
        let charges = Self.charges(type: market.securities[security].type, side: side, amount: amount)
        emitTrade(account: .margin, side: side, security: security, quantity: quantity, priceMilli: price, amount: amount, charges: charges, millis: millis)
        state.financingFen = buying ? state.financingFen + amount : max(0, state.financingFen - amount)
        margin = state
    }

    /// Before closing: sell every security, redeem every product, withdraw all the cash.
    mutating func liquidate(day: WorldDay, millis: Int64) {
        let market = world.market
        while let holding = portfolio.securities.last {
            let price = market.price(holding.security, on: day)
            let amount = Market.value(quantity: holding.quantity, priceMilli: price)
            let charges = Self.charges(type: market.securities[holding.security].type, side: .sell, amount: amount)
            if amount > 0 {
                emitTrade(account: .cash, side: .sell, security: holding.security, quantity: holding.quantity, priceMilli: price,
                          amount: amount, charges: charges, millis: millis)
            }
            portfolio.securities.removeLast()
            portfolio.cashFen += max(0, amount - charges.total)
        }
        for holding in portfolio.products {
            portfolio.cashFen += portfolio.value(of: holding, on: day, market: market)
        }
        portfolio.products.removeAll()
        transfer(deposit: false, amount: portfolio.cashFen, millis: millis + 600_000)
        portfolio.cashFen = 0
    }

    mutating func emitSnapshot(on day: WorldDay) {
        let market = world.market
        var event = Crm_Profiles_V1_DailyPositionEvent()
        event.idempotencyKey = sketch.id + "-P" + Wire.compactDate(day)
        event.customerID = sketch.id
        event.tradingDay = Wire.date(day)
        event.cash = Wire.money(portfolio.cashFen)
        var total = portfolio.cashFen
        event.holdings.reserveCapacity(portfolio.securities.count)
        for holding in portfolio.securities where holding.quantity > 0 {
            let info = market.securities[holding.security]
            let value = Market.value(quantity: holding.quantity, priceMilli: market.price(holding.security, on: day))
            total += value
            var position = Crm_Profiles_V1_PositionHolding()
            position.instrument = info.code
            position.instrumentType = info.type
            position.sector = info.sector
            position.quantity = holding.quantity
            position.marketValue = Wire.money(value)
            position.cost = Wire.money(max(0, holding.costFen))
            event.holdings.append(position)
        }
        // One line per product: lots of the same product bought in different months are merged.
        var lines: [(product: Int, family: WorldFamily, valueFen: Int64, costFen: Int64)] = []
        for holding in portfolio.products {
            let value = portfolio.value(of: holding, on: day, market: market)
            if let slot = lines.firstIndex(where: { $0.product == holding.product }) {
                lines[slot].valueFen += value
                lines[slot].costFen += holding.costFen
            } else {
                lines.append((holding.product, world.facts[holding.product].family, value, holding.costFen))
            }
        }
        for line in lines {
            total += line.valueFen
            var product = Crm_Profiles_V1_ProductHolding()
            product.productCode = world.productCodes[line.product]
            product.productType = line.family.productTypeName
            product.marketValue = Wire.money(line.valueFen)
            product.cost = Wire.money(line.costFen)
            event.products.append(product)
        }
        events.dailyPositions.append(event)
        behaviourTracker.position(cashFen: portfolio.cashFen, totalFen: total)
        tracker.snapshot(on: day, totalFen: total, products: lines.map { ($0.product, $0.family, $0.valueFen) })
    }

    /// The month's margin-account events: interest charged around the 21st and the month-end snapshot.
    mutating func marginMonth(month: WorldCalendar.Month) {
        guard var state = margin else { return }
        let compact = month.month.compact
        if let chargeDay = month.tradingDays.first(where: { $0 >= month.firstDay + 20 }), exists(on: chargeDay) {
            let amount = state.interest(days: Int64(chargeDay - state.lastChargedOn))
            state.lastChargedOn = chargeDay
            if amount > 0 {
                var event = Crm_Profiles_V1_MarginInterestEvent()
                event.idempotencyKey = sketch.id + "-I" + compact
                event.customerID = sketch.id
                event.amount = Wire.money(amount)
                event.chargedAt = Wire.timestamp(WorldDays.millis(chargeDay, secondOfDay: 16 * 3_600))
                events.marginInterest.append(event)
            }
        }
        let day = month.lastTradingDay
        if exists(on: day) {
            var event = Crm_Profiles_V1_MarginAccountEvent()
            event.idempotencyKey = sketch.id + "-M" + Wire.compactDate(day)
            event.customerID = sketch.id
            event.tradingDay = Wire.date(day)
            event.collateralValue = Wire.money(state.pledgedFen + Fen.scaled(state.financingFen, by: activity.uniform(0.85, 1.2)))
            event.financingLiability = Wire.money(state.financingFen)
            event.securitiesBorrowedValue = Wire.money(0)
            event.interestAccrued = Wire.money(state.interest(days: Int64(max(0, day - state.lastChargedOn))))
            event.creditLimit = Wire.money(state.creditLimitFen)
            events.marginAccounts.append(event)
        }
        margin = state
    }
}

/// What a trade costs the customer besides its amount, in fen.
struct TradeCharges: Sendable {
    var commission: Int64
    /// Exchange handling and transfer fees (the trade event's `fees`).
    var fees: Int64
    /// The stamp duty on stock sales: a tax, paid from the customer's cash but not a fee.
    var stampDuty: Int64 = 0

    /// Everything the customer pays.
    var total: Int64 { commission + fees + stampDuty }
}
