/// A customer's behaviour towards each product family at one instant: the features that the
/// propensity model reads beside the customer's dimensions, computed by one function for the
/// training rows (at a month's start, from the store) and for live scoring (now, from memory), so
/// the two cannot drift apart.
///
/// Point in time: only events strictly before the instant count. Windows are whole business days
/// (Beijing): "in the last N days" is the N days before the instant's day plus the instant's day
/// up to the instant, and "days since" counts business days, 0 for earlier the same day. So
/// features move only when an event arrives or the day changes, which is when a replica's cached
/// scores are recomputed. Views older than ``viewRetentionDays`` and contacts older than
/// ``contactRetentionDays`` never count (a replica may forget them); orders count however old.
enum BehaviourFeatures {
    /// The per-family features, in the order ``compute(_:at:)`` writes them.
    static let names = [
        "family_views_7d", "family_views_30d", "family_views_90d", "days_since_family_view",
        "family_orders", "family_order_amount", "days_since_family_order", "family_redemptions",
        "contacts_7d", "contacts_30d", "family_contacts_7d", "family_contacts_30d",
        "days_since_contact", "days_since_family_contact",
    ]
    static var count: Int { names.count }

    static let viewRetentionDays: Int32 = 90
    static let contactRetentionDays: Int32 = 30

    enum Slot: Int {
        case views7, views30, views90, daysSinceView
        case orders, orderAmount, daysSinceOrder, redemptions
        case contacts7, contacts30, familyContacts7, familyContacts30
        case daysSinceContact, daysSinceFamilyContact
    }

    /// Every family's features at `at` (unix millis) from `events` (any order), as one array:
    /// `values[family * count + slot]`. A "days since" with no event in reach is NaN; counts and
    /// amounts start at 0. Amounts are in yuan.
    static func compute(_ events: some Sequence<BehaviourEvent>, at: Int64) -> [Float] {
        let families = ProductFamilies.count
        var values = [Float](repeating: 0, count: families * count)
        var lastView = [Int32](repeating: .min, count: families)
        var lastOrder = [Int32](repeating: .min, count: families)
        var lastFamilyContact = [Int32](repeating: .min, count: families)
        var lastContact = Int32.min
        var contacts7: Float = 0
        var contacts30: Float = 0
        let today = BusinessDays.day(ofMillis: at)
        func add(_ family: Int, _ slot: Slot, _ value: Float = 1) {
            values[family * count + slot.rawValue] += value
        }
        for event in events where event.at < at {
            let day = BusinessDays.day(ofMillis: event.at)
            let age = today - day
            let family = Int(event.family)
            let known = family >= 0 && family < families
            switch event.kind {
            case .view:
                guard known, age <= viewRetentionDays else { continue }
                if age <= 7 { add(family, .views7) }
                if age <= 30 { add(family, .views30) }
                add(family, .views90)
                lastView[family] = max(lastView[family], day)
            case .contact:
                guard age <= contactRetentionDays else { continue }
                if age <= 7 { contacts7 += 1 }
                contacts30 += 1
                lastContact = max(lastContact, day)
                if known {
                    if age <= 7 { add(family, .familyContacts7) }
                    add(family, .familyContacts30)
                    lastFamilyContact[family] = max(lastFamilyContact[family], day)
                }
            case .subscription:
                guard known else { continue }
                add(family, .orders)
                add(family, .orderAmount, Float(Double(event.amountFen) / 100))
                lastOrder[family] = max(lastOrder[family], day)
            case .redemption:
                guard known else { continue }
                add(family, .redemptions)
            }
        }
        for family in 0..<families {
            let base = family * count
            values[base + Slot.daysSinceView.rawValue] = lastView[family] == .min ? .nan : Float(today - lastView[family])
            values[base + Slot.daysSinceOrder.rawValue] = lastOrder[family] == .min ? .nan : Float(today - lastOrder[family])
            values[base + Slot.contacts7.rawValue] = contacts7
            values[base + Slot.contacts30.rawValue] = contacts30
            values[base + Slot.daysSinceContact.rawValue] = lastContact == .min ? .nan : Float(today - lastContact)
            values[base + Slot.daysSinceFamilyContact.rawValue] = lastFamilyContact[family] == .min ? .nan : Float(today - lastFamilyContact[family])
        }
        return values
    }

    /// The features of one family out of ``compute(_:at:)``'s array, indexed by ``Slot``.
    static func family(_ values: [Float], _ family: Int) -> [Float] {
        Array(values[(family * count)..<((family + 1) * count)])
    }
}
