import CRMProtos
import Foundation

/// The behaviour law's world: interest in families that comes and goes and shows in views,
/// client managers who call about products, purchases per product from ``BehaviourLaw``, and
/// redemptions recorded as orders. Its draws come from their own stream (`lawDraws`), so the
/// observed-state world is unchanged by it.
extension CustomerSimulation {
    /// A customer's share of interest in each family (their preferences, normalised).
    var preferenceShares: [Double] {
        let total = sketch.familyPreference.reduce(0, +)
        return sketch.familyPreference.map { total > 0 ? $0 / total : 0.1 }
    }

    /// Month-to-month interest: an episode of interest in a family starts more often for the
    /// families the customer prefers, and lasts about two months.
    mutating func driftInterest() {
        let shares = preferenceShares
        for family in interested.indices {
            if interested[family] {
                interested[family] = lawDraws.chance(0.55)
            } else {
                interested[family] = lawDraws.chance(min(0.3, 0.8 * shares[family]))
            }
        }
    }

    /// The law: each product on sale that matches the customer is bought with its own chance, from
    /// the state at the end of the month before and the month's noise for its family.
    mutating func decideBehaviourPurchases(month: WorldCalendar.Month, index: Int) -> [PlannedPurchase] {
        let asOf = month.firstDay - 1
        let observed = tracker.state(asOf: asOf, riskTolerance: sketch.profile?.riskTolerance, birthDay: sketch.birthDay)
        let tolerance = sketch.profile.map { $0.investorClass == .professional ? 5 : ($0.lowestCategory ? 1 : $0.riskTolerance) }
        let state = behaviourTracker.state(asOf: asOf, openDay: sketch.openDay, riskTolerance: tolerance)
        let families = WorldFamily.allCases.count
        let noise = (0..<families).map { _ in lawDraws.normal() * BehaviourLaw.noise }
        var propensity = [Double](repeating: 0, count: families)
        var eligible = false
        if sketch.profile != nil, let open = sketch.openDay {
            eligible = open < month.firstDay && sketch.timeline.isNormal(from: month.firstDay, through: month.lastDay)
                && sketch.assessmentCovers(month.firstDay, month.lastDay) && (liquidationDay.map { $0 > month.lastDay } ?? true)
        }
        var planned: [PlannedPurchase] = []
        if eligible, let profile = sketch.profile {
            for family in WorldFamily.allCases {
                var none = 1.0
                for product in world.purchasable[family.rawValue] {
                    let facts = world.facts[product]
                    guard let first = facts.firstPurchaseMonth, first <= index,
                          WorldSuitability.matches(profile, risk: facts.risk, horizon: facts.horizon, variety: facts.variety) else { continue }
                    let probability = BehaviourLaw.sigmoid(world.behaviourScore(state, product: product) + noise[family.rawValue])
                    none *= 1 - probability
                    guard lawDraws.uniform() < probability else { continue }
                    planned.append(plan(product: product, family: family, month: month, index: index, state: observed))
                }
                propensity[family.rawValue] = 1 - none
            }
        }
        months.append(CustomerMonth(state: observed, eligible: eligible, propensity: propensity,
                                    matchingWeight: [Double](repeating: 0, count: families),
                                    behaviour: BehaviourMonth(state: state, noise: noise)))
        return planned
    }

    /// A product of `family` whose page can be viewed in the span month, by popularity.
    mutating func viewableProduct(_ family: WorldFamily, spanIndex: Int) -> Int? {
        let entry = world.viewCatalogue[spanIndex][family.rawValue]
        guard !entry.products.isEmpty else { return nil }
        return entry.products[lawDraws.weighted(cumulative: entry.totals)]
    }

    /// Contacts first (a manager's call about a product is followed by a look at it), then views:
    /// many while interested in a family, a few otherwise, and one or two of a product in the days
    /// before buying it.
    mutating func simulateManagerContacts(month: WorldCalendar.Month, spanIndex: Int, purchases planned: [PlannedPurchase]) {
        var contacts: [(millis: Int64, sequence: Int, outcome: Crm_Profiles_V1_ContactOutcome, staff: Int?, product: Int?)] = []
        let days = month.tradingDays.filter { isKnown(on: $0) }
        if !days.isEmpty {
            let rate = sketch.contactsPerMonth * (sketch.assignments.isEmpty ? 0.6 : 1.5)
            for _ in 0..<lawDraws.poisson(rate) {
                let day = days[lawDraws.below(days.count)]
                let manager = sketch.manager(on: day)
                var product: Int?
                if manager != nil, lawDraws.chance(0.45) {
                    // About a family the customer is interested in, or one they might like.
                    let curious = interested.indices.filter { interested[$0] }
                    let family = !curious.isEmpty && lawDraws.chance(0.6)
                        ? WorldFamily(rawValue: curious[lawDraws.below(curious.count)])
                        : WorldFamily(rawValue: lawDraws.weighted(sketch.familyPreference))
                    product = family.flatMap { viewableProduct($0, spanIndex: spanIndex) }
                }
                let outcome: Crm_Profiles_V1_ContactOutcome = product != nil
                    ? [.reached, .notReached, .interested, .declined][lawDraws.weighted([0.45, 0.25, 0.2, 0.1])]
                    : [.reached, .notReached, .interested, .declined, .complaint][lawDraws.weighted([0.55, 0.25, 0.12, 0.06, 0.02])]
                contacts.append((WorldDays.millis(day, secondOfDay: 9 * 3_600 + lawDraws.below(9 * 3_600)), contacts.count, outcome, manager, product))
            }
        }
        for purchase in planned where purchase.channel == .clientManager {
            let day = max(month.firstDay, purchase.day - WorldDay(lawDraws.below(6)))
            let second = day == purchase.day ? max(0, purchase.second - 300 - lawDraws.below(3_600)) : 9 * 3_600 + lawDraws.below(9 * 3_600)
            contacts.append((WorldDays.millis(day, secondOfDay: second), contacts.count, .interested, purchase.manager, purchase.product))
        }
        contacts.sort { ($0.millis, $0.sequence) < ($1.millis, $1.sequence) }
        var followUps: [Stamp] = []
        for contact in contacts {
            contactSequence += 1
            var event = Crm_Profiles_V1_ServiceContactEvent()
            event.idempotencyKey = sketch.id + "-S" + String(contactSequence)
            event.customerID = sketch.id
            event.channel = [.call, .message, .visit][lawDraws.weighted([0.6, 0.3, 0.1])]
            event.staffID = contact.staff.map { world.organisation.managers[$0].id } ?? "S" + Wire.padded(1 + lawDraws.below(40), width: 3)
            event.topic = contact.product != nil ? "产品推荐" : lawDraws.pick(Self.topics[contact.outcome] ?? ["账户回访"])
            event.outcome = contact.outcome
            event.contactedAt = Wire.timestamp(contact.millis)
            let day = WorldDays.day(ofMillis: contact.millis)
            var family: WorldFamily?
            if let product = contact.product {
                event.productCode = world.productCodes[product]
                family = world.facts[product].family
                if lawDraws.chance(0.5) {
                    let look = min(month.lastDay, day + WorldDay(lawDraws.below(4)))
                    let second = look == day ? min(86_399, WorldDays.secondOfDay(contact.millis) + 600 + lawDraws.below(7_200)) : 8 * 3_600 + lawDraws.below(14 * 3_600)
                    followUps.append(Stamp(millis: WorldDays.millis(look, secondOfDay: second), sequence: followUps.count, product: product))
                }
            }
            events.serviceContacts.append(event)
            tracker.contacted(on: day)
            behaviourTracker.contacted(on: day, byManager: contact.staff != nil, about: family)
        }
        simulateInterestViews(month: month, spanIndex: spanIndex, purchases: planned, followUps: followUps)
    }

    mutating func simulateInterestViews(month: WorldCalendar.Month, spanIndex: Int, purchases planned: [PlannedPurchase], followUps: [Stamp]) {
        let first = max(month.firstDay, sketch.timeline.created)
        var last = month.lastDay
        if let closed = sketch.timeline.closedOn { last = min(last, closed - 1) }
        var stamps: [Stamp] = []
        func stamp(_ day: WorldDay, _ second: Int, _ product: Int) {
            stamps.append(Stamp(millis: WorldDays.millis(day, secondOfDay: second), sequence: stamps.count, product: product))
        }
        if first <= last {
            let shares = preferenceShares
            let browser = sketch.viewsPerMonth > 0 ? 1.0 : 0.1
            for family in WorldFamily.allCases {
                let share = shares[family.rawValue]
                let rate = browser * (interested[family.rawValue] ? 1.5 + 0.8 * sketch.viewsPerMonth * share : 0.2 * sketch.viewsPerMonth * share)
                for _ in 0..<lawDraws.poisson(rate) {
                    guard let product = viewableProduct(family, spanIndex: spanIndex) else { continue }
                    stamp(first + WorldDay(lawDraws.below(Int(last - first) + 1)), 7 * 3_600 + lawDraws.below(16 * 3_600), product)
                }
            }
        }
        for purchase in planned {
            for _ in 0..<(lawDraws.chance(0.5) ? 2 : 1) {
                let day = max(month.firstDay, purchase.day - WorldDay(lawDraws.below(7)))
                stamp(day, day == purchase.day ? max(0, purchase.second - 60 - lawDraws.below(3_600)) : 8 * 3_600 + lawDraws.below(14 * 3_600), purchase.product)
            }
        }
        for followUp in followUps where WorldDays.day(ofMillis: followUp.millis) <= last {
            stamps.append(Stamp(millis: followUp.millis, sequence: stamps.count, product: followUp.product))
        }
        stamps.sort { ($0.millis, $0.sequence) < ($1.millis, $1.sequence) }
        for entry in stamps {
            let family = world.facts[entry.product].family
            viewSequence += 1
            var event = Crm_Profiles_V1_ProductViewEvent()
            event.idempotencyKey = sketch.id + "-V" + String(viewSequence)
            event.customerID = sketch.id
            event.productCode = world.productCodes[entry.product]
            event.productType = family.productTypeName
            event.viewedAt = Wire.timestamp(entry.millis)
            events.productViews.append(event)
            let day = WorldDays.day(ofMillis: entry.millis)
            tracker.viewed(family, on: day)
            behaviourTracker.viewed(family, on: day)
        }
    }

    /// A redemption as the order the products service records (the behaviour law's world only).
    mutating func recordRedemption(product: Int, amountFen: Int64, millis: Int64) {
        redemptionSequence += 1
        var order = Crm_Products_V1_Order()
        order.orderID = "R" + sketch.id.dropFirst() + "-" + String(redemptionSequence)
        order.customerID = sketch.id
        order.productCode = world.productCodes[product]
        order.side = .redemption
        order.amount = Wire.money(amountFen)
        order.channel = .app
        order.acceptedAt = Wire.timestamp(millis)
        redemptions.append(order)
    }
}
