import CRMProtos
import Foundation

/// The purchase law applied to one customer-month, and the orders it produces.
extension CustomerSimulation {
    struct PlannedPurchase {
        let month: Int
        let family: WorldFamily
        let product: Int
        let day: WorldDay
        let second: Int
        let amountFen: Int64
        let channel: Crm_Products_V1_SalesChannel
        let manager: Int?
    }

    /// The law: P_f from the state at the end of the month before, a Bernoulli draw per family, and
    /// the product drawn by popularity among the family's matching products on sale.
    mutating func decidePurchases(month: WorldCalendar.Month, index: Int) -> [PlannedPurchase] {
        let state = tracker.state(asOf: month.firstDay - 1, riskTolerance: sketch.profile?.riskTolerance, birthDay: sketch.birthDay)
        let families = WorldFamily.allCases.count
        var propensity = [Double](repeating: 0, count: families)
        var weights = [Double](repeating: 0, count: families)
        var eligible = false
        if let profile = sketch.profile {
            let key = MatchTable.key(profile)
            for family in WorldFamily.allCases {
                weights[family.rawValue] = world.matchTable.weight(key: key, family: family, month: index)
            }
            if let open = sketch.openDay {
                eligible = open < month.firstDay && sketch.timeline.isNormal(from: month.firstDay, through: month.lastDay)
                    && sketch.assessmentCovers(month.firstDay, month.lastDay) && (liquidationDay.map { $0 > month.lastDay } ?? true)
            }
        }
        var planned: [PlannedPurchase] = []
        if eligible, let profile = sketch.profile {
            for family in WorldFamily.allCases where weights[family.rawValue] > 0 {
                let probability = PurchaseLaw.propensity(family, state)
                propensity[family.rawValue] = probability
                guard purchasing.uniform() < probability else { continue }
                let product = chooseProduct(family: family, month: index, profile: profile, total: weights[family.rawValue])
                planned.append(plan(product: product, family: family, month: month, index: index, state: state))
            }
        }
        months.append(CustomerMonth(state: state, eligible: eligible, propensity: propensity, matchingWeight: weights, behaviour: nil))
        return planned
    }

    /// A product of `family` on sale in purchase month `month` that matches, with probability
    /// proportional to its popularity.
    mutating func chooseProduct(family: WorldFamily, month: Int, profile: SuitabilityProfile, total: Double) -> Int {
        var target = purchasing.uniform() * total
        var last = -1
        for index in world.purchasable[family.rawValue] {
            let facts = world.facts[index]
            guard let first = facts.firstPurchaseMonth, first <= month,
                  WorldSuitability.matches(profile, risk: facts.risk, horizon: facts.horizon, variety: facts.variety) else { continue }
            last = index
            target -= facts.popularity
            if target < 0 { return index }
        }
        return last
    }

    mutating func plan(product: Int, family: WorldFamily, month: WorldCalendar.Month, index: Int, state: ObservedState) -> PlannedPurchase {
        let facts = world.facts[product]
        let day = month.tradingDays[purchasing.below(month.tradingDays.count)]
        let second = 9 * 3_600 + 30 * 60 + purchasing.below(5 * 3_600 + 25 * 60)
        let reference = max(Double(state.avgAssets90d) / 100, 5_000)
        let share = min(0.6, max(0.01, purchasing.logNormal(median: 0.08, sigma: 0.7)))
        var amount: Int64
        switch family {
        case .advisoryPackage:
            amount = facts.minimumFen
        case .assetManagement, .structuredNote:
            amount = max(facts.minimumFen, Fen.floored(Fen.yuan(reference * share), to: 1_000_000))
        default:
            amount = max(facts.minimumFen, Fen.floored(Fen.yuan(reference * share), to: 10_000))
        }
        amount = max(amount, 1)
        let manager = sketch.manager(on: day)
        let channel: Crm_Products_V1_SalesChannel
        if manager != nil {
            channel = [.clientManager, .app, .website, .branch][purchasing.weighted([0.35, 0.4, 0.15, 0.1])]
        } else {
            channel = [.app, .website, .branch][purchasing.weighted([0.65, 0.3, 0.05])]
        }
        return PlannedPurchase(month: index, family: family, product: product, day: day, second: second, amountFen: amount, channel: channel, manager: manager)
    }


    mutating func buyProduct(_ purchase: PlannedPurchase, millis: Int64) {
        fund(purchase.amountFen, millis: millis)
        portfolio.cashFen -= purchase.amountFen
        let facts = world.facts[purchase.product]
        if facts.isHeldAsAsset {
            let holdDays: ClosedRange<Int>
            switch purchase.family {
            case .moneyMarketFund: holdDays = 30...150
            case .bondFund, .structuredNote: holdDays = 90...400
            case .bond: holdDays = 180...900
            case .assetManagement: holdDays = 180...540
            default: holdDays = 120...700
            }
            portfolio.products.append(.init(product: purchase.product, costFen: purchase.amountFen, baseValueFen: purchase.amountFen,
                                            baseDay: purchase.day, redeemOn: purchase.day + WorldDay(activity.int(holdDays))))
        }
        behaviourTracker.bought(purchase.family, on: purchase.day)
        var order = Crm_Products_V1_Order()
        // One order per family and month under the observed-state law; the behaviour law may buy
        // two products of a family in a month, so its ids name the product.
        let suffix = world.configuration.law == .behaviour ? "P" + Wire.padded(purchase.product, width: 4) : Wire.padded(purchase.family.rawValue, width: 2)
        order.orderID = "O" + sketch.id.dropFirst() + "-" + world.configuration.month(purchase.month).compact + "-" + suffix
        order.customerID = sketch.id
        order.productCode = world.productCodes[purchase.product]
        order.side = .subscription
        order.amount = Wire.money(purchase.amountFen)
        order.channel = purchase.channel
        if let manager = purchase.manager { order.managerID = world.organisation.managers[manager].id }
        order.acceptedAt = Wire.timestamp(millis)
        purchases.append(GeneratedPurchase(order: order, month: purchase.month, family: purchase.family, productIndex: purchase.product, day: purchase.day))
    }
}
