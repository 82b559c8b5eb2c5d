/// What the second world's buying law reads of a customer at the start of a month: their recent
/// behaviour towards each product family (views, earlier purchases, a manager's contacts about
/// it), their idle cash, their latest contact with a manager, their tolerance and how long their
/// account has been open. Every field is something the firm could have recorded before the month
/// started; the generator computes it from the events it emitted (``BehaviourTracker``).
public struct BehaviourState: Sendable {
    /// The last day before the month.
    public let asOf: WorldDay
    /// Views of each family's product pages on the 7, 30 and 90 days up to asOf (by family).
    public let views7: [Int]
    public let views30: [Int]
    public let views90: [Int]
    /// Days from the last view of each family to asOf (0: on asOf); nil without one in 90 days.
    public let daysSinceView: [Int?]
    /// Subscriptions of each family before the month, and days since the latest.
    public let purchases: [Int]
    public let daysSincePurchase: [Int?]
    /// Cash on the latest end-of-day position, in yuan, and its share of total assets.
    public let cashYuan: Double
    public let cashShare: Double
    /// Days since a client manager last contacted the customer (about anything).
    public let daysSinceManagerContact: Int?
    /// Days since a contact about a product of each family.
    public let daysSinceContactAbout: [Int?]
    /// Days the account has been open on asOf; nil for a prospect.
    public let accountAgeDays: Int?
    /// The assessed tolerance, 1…5 (5 for a professional investor); nil when never assessed.
    public let riskTolerance: Int?

    /// Idle cash: at least 50,000 yuan and at least 40 % of the assets lying as cash.
    public var hasIdleCash: Bool { cashYuan >= 50_000 && cashShare >= 0.4 }
}

/// The history ``BehaviourState`` is computed from, appended as the simulation emits events.
struct BehaviourTracker {
    private var views: [(day: WorldDay, family: Int)] = []
    private var purchases: [(day: WorldDay, family: Int)] = []
    private var managerContacts: [WorldDay] = []
    private var contactsAbout: [(day: WorldDay, family: Int)] = []
    private var cashFen: Int64 = 0
    private var totalFen: Int64 = 0

    mutating func viewed(_ family: WorldFamily, on day: WorldDay) {
        views.append((day, family.rawValue))
    }

    mutating func bought(_ family: WorldFamily, on day: WorldDay) {
        purchases.append((day, family.rawValue))
    }

    mutating func contacted(on day: WorldDay, byManager: Bool, about family: WorldFamily?) {
        if byManager { managerContacts.append(day) }
        if let family { contactsAbout.append((day, family.rawValue)) }
    }

    mutating func position(cashFen: Int64, totalFen: Int64) {
        self.cashFen = cashFen
        self.totalFen = totalFen
    }

    /// The state at the end of `asOf`: valid while nothing after `asOf` has been recorded, which
    /// is how the simulation calls it (at each month's start, before the month's events).
    func state(asOf: WorldDay, openDay: WorldDay?, riskTolerance: Int?) -> BehaviourState {
        let families = WorldFamily.allCases.count
        var views7 = [Int](repeating: 0, count: families)
        var views30 = views7
        var views90 = views7
        var lastView = [Int?](repeating: nil, count: families)
        for view in views where view.day <= asOf {
            let age = Int(asOf - view.day)
            guard age < 90 else { continue }
            views90[view.family] += 1
            if age < 30 { views30[view.family] += 1 }
            if age < 7 { views7[view.family] += 1 }
            lastView[view.family] = min(lastView[view.family] ?? age, age)
        }
        var bought = [Int](repeating: 0, count: families)
        var lastBought = [Int?](repeating: nil, count: families)
        for purchase in purchases where purchase.day <= asOf {
            bought[purchase.family] += 1
            let age = Int(asOf - purchase.day)
            lastBought[purchase.family] = min(lastBought[purchase.family] ?? age, age)
        }
        var lastAbout = [Int?](repeating: nil, count: families)
        for contact in contactsAbout where contact.day <= asOf {
            let age = Int(asOf - contact.day)
            lastAbout[contact.family] = min(lastAbout[contact.family] ?? age, age)
        }
        let lastManager = managerContacts.filter { $0 <= asOf }.max().map { Int(asOf - $0) }
        return BehaviourState(
            asOf: asOf, views7: views7, views30: views30, views90: views90, daysSinceView: lastView,
            purchases: bought, daysSincePurchase: lastBought,
            cashYuan: Double(cashFen) / 100, cashShare: totalFen > 0 ? Double(cashFen) / Double(totalFen) : 0,
            daysSinceManagerContact: lastManager, daysSinceContactAbout: lastAbout,
            accountAgeDays: openDay.flatMap { $0 <= asOf ? Int(asOf - $0) : nil },
            riskTolerance: riskTolerance
        )
    }
}
