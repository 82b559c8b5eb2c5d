/// How a world's customers decide what to buy.
public enum WorldLaw: String, Sendable, Hashable, CaseIterable {
    /// ``PurchaseLaw``: a family propensity from what profiles' month-end dimensions show (the
    /// family viewed most, the family held most, wealth, activity, appetite), then a product by
    /// popularity.
    case observedState = "observed-state"
    /// ``BehaviourLaw``: an independent chance per product, from recent behaviour towards its
    /// family (views, purchases, manager contacts), idle cash, risk headroom and account age,
    /// with unobserved monthly noise.
    case behaviour
}

/// What world to generate: its size, its seed, its calendar and its buying law. Equal
/// configurations give byte-identical worlds.
public struct WorldConfiguration: Sendable, Hashable {
    /// How many customers (indices `0..<customers`).
    public var customers: Int
    /// The seed every draw derives from.
    public var seed: UInt64
    /// The first month of the generated year (purchase month 0).
    public var firstMonth: WorldMonth
    /// Months in the generated year; the last is the held-out month.
    public var months: Int
    /// Months simulated before the year so that the first month's 90-day dimensions have history.
    /// They carry events (views, trades, positions …) but no purchases.
    public var warmUpMonths: Int
    /// Products in the library.
    public var products: Int
    /// The business date of the present (a day number): sales windows of products on sale cover it,
    /// and no event is after it.
    public var today: WorldDay
    /// How customers decide what to buy.
    public var law: WorldLaw

    /// A world of `customers` customers; `products` defaults to min(1000, max(60, customers / 5)).
    public init(customers: Int, seed: UInt64, firstMonth: WorldMonth = WorldMonth(2025, 11), months: Int = 12,
                warmUpMonths: Int = 3, products: Int? = nil, today: WorldDay = WorldDays.day(2026, 11, 29), law: WorldLaw = .observedState) {
        precondition(customers >= 0, "customers must not be negative")
        precondition(months >= 1, "the year needs at least one month")
        precondition(warmUpMonths >= 0, "warmUpMonths must not be negative")
        self.customers = customers
        self.seed = seed
        self.firstMonth = firstMonth
        self.months = months
        self.warmUpMonths = warmUpMonths
        self.products = max(products ?? min(1_000, max(60, customers / 5)), WorldFamily.allCases.count * 2)
        self.today = today
        self.law = law
        precondition(firstMonth.advanced(by: months - 1).lastDay < today, "the generated year must end before today")
    }

    /// The purchase-month index of the held-out month (the last one).
    public var heldOutMonth: Int { months - 1 }

    /// The calendar month of a purchase-month index.
    public func month(_ index: Int) -> WorldMonth { firstMonth.advanced(by: index) }
}
