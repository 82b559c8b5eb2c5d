import CRMProtos
import Foundation

/// Product views and service contacts: the observable signals of interest.
extension CustomerSimulation {
    struct Stamp {
        let millis: Int64
        let sequence: Int
        let product: Int
    }

    /// Product pages viewed this month: the customer's curiosity (mostly their current focus
    /// family), plus a look or two at each product in the days before buying it.
    mutating func simulateViews(month: WorldCalendar.Month, spanIndex: Int, purchases planned: [PlannedPurchase]) {
        let first = max(month.firstDay, sketch.timeline.created)
        var last = month.lastDay
        if let closed = sketch.timeline.closedOn { last = min(last, closed - 1) }
        var stamps: [Stamp] = []
        if first <= last, sketch.viewsPerMonth > 0 {
            let count = browsing.poisson(sketch.viewsPerMonth * exp(viewDrift - 0.28))
            let catalogue = world.viewCatalogue[spanIndex]
            for _ in 0..<count {
                let family = browsing.chance(0.7) ? focus : WorldFamily(rawValue: browsing.weighted(sketch.familyPreference)) ?? focus
                let entry = catalogue[family.rawValue]
                guard !entry.products.isEmpty else { continue }
                let product = entry.products[browsing.weighted(cumulative: entry.totals)]
                let day = first + WorldDay(browsing.below(Int(last - first) + 1))
                stamps.append(Stamp(millis: WorldDays.millis(day, secondOfDay: 7 * 3_600 + browsing.below(16 * 3_600)), sequence: stamps.count, product: product))
            }
        }
        for purchase in planned {
            for _ in 0..<(browsing.chance(0.5) ? 2 : 1) {
                let day = max(month.firstDay, purchase.day - WorldDay(browsing.below(7)))
                let second = day == purchase.day ? max(0, purchase.second - 60 - browsing.below(3_600)) : 8 * 3_600 + browsing.below(14 * 3_600)
                stamps.append(Stamp(millis: WorldDays.millis(day, secondOfDay: second), sequence: stamps.count, product: purchase.product))
            }
        }
        stamps.sort { ($0.millis, $0.sequence) < ($1.millis, $1.sequence) }
        for stamp in stamps {
            let family = world.facts[stamp.product].family
            viewSequence += 1
            var event = Crm_Profiles_V1_ProductViewEvent()
            event.idempotencyKey = sketch.id + "-V" + String(viewSequence)
            event.customerID = sketch.id
            event.productCode = world.productCodes[stamp.product]
            event.productType = family.productTypeName
            event.viewedAt = Wire.timestamp(stamp.millis)
            events.productViews.append(event)
            tracker.viewed(family, on: WorldDays.day(ofMillis: stamp.millis))
        }
    }

    static let topics: [Crm_Profiles_V1_ContactOutcome: [String]] = [
        .reached: ["账户回访", "行情解读", "资产配置建议", "适当性复评提醒"],
        .notReached: ["账户回访", "产品推荐"],
        .interested: ["产品推荐", "新发基金介绍", "资产配置建议"],
        .declined: ["产品推荐", "两融业务介绍"],
        .complaint: ["投诉处理", "交易系统故障反馈"],
    ]

    /// Calls, visits and messages: by the manager in charge (or the service desk), more often for
    /// wealthier customers, and an interested call before purchases credited to a manager.
    mutating func simulateContacts(month: WorldCalendar.Month, purchases planned: [PlannedPurchase]) {
        var contacts: [(millis: Int64, sequence: Int, outcome: Crm_Profiles_V1_ContactOutcome, staff: Int?)] = []
        let days = month.tradingDays.filter { isKnown(on: $0) }
        if !days.isEmpty {
            let rate = sketch.contactsPerMonth * (sketch.assignments.isEmpty ? 0.6 : 1.5)
            for _ in 0..<activity.poisson(rate) {
                let day = days[activity.below(days.count)]
                let outcome: Crm_Profiles_V1_ContactOutcome = [.reached, .notReached, .interested, .declined, .complaint][activity.weighted([0.55, 0.25, 0.12, 0.06, 0.02])]
                contacts.append((WorldDays.millis(day, secondOfDay: 9 * 3_600 + activity.below(9 * 3_600)), contacts.count, outcome, sketch.manager(on: day)))
            }
        }
        for purchase in planned where purchase.channel == .clientManager {
            let day = max(month.firstDay, purchase.day - WorldDay(activity.below(6)))
            let second = day == purchase.day ? max(0, purchase.second - 300 - activity.below(3_600)) : 9 * 3_600 + activity.below(9 * 3_600)
            contacts.append((WorldDays.millis(day, secondOfDay: second), contacts.count, .interested, purchase.manager))
        }
        contacts.sort { ($0.millis, $0.sequence) < ($1.millis, $1.sequence) }
        for contact in contacts {
            contactSequence += 1
            var event = Crm_Profiles_V1_ServiceContactEvent()
            event.idempotencyKey = sketch.id + "-S" + String(contactSequence)
            event.customerID = sketch.id
            event.channel = [.call, .message, .visit][activity.weighted([0.6, 0.3, 0.1])]
            event.staffID = contact.staff.map { world.organisation.managers[$0].id } ?? "S" + Wire.padded(1 + activity.below(40), width: 3)
            event.topic = activity.pick(Self.topics[contact.outcome] ?? ["账户回访"])
            event.outcome = contact.outcome
            event.contactedAt = Wire.timestamp(contact.millis)
            events.serviceContacts.append(event)
            tracker.contacted(on: WorldDays.day(ofMillis: contact.millis))
        }
    }
}
