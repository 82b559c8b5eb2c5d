import CRMProtos

/// A seeded synthetic brokerage: its organisation and product library (generated eagerly, small)
/// and its customers (generated on demand, each a pure function of the seed and its index), with the
/// true purchase probabilities of the law that generated their orders.
///
/// ```swift
/// let world = World(WorldConfiguration(customers: 100_000, seed: 42))
/// for index in 0..<world.configuration.customers {
///     let customer = world.customer(at: index)     // independent per index: parallel, resumable
///     … customer.creation, customer.events.trades, customer.purchases …
/// }
/// world.trueProbability(customer: 17, product: "020031", month: world.configuration.heldOutMonth)
/// ```
///
/// The same configuration gives byte-identical messages on every run (on one platform: the
/// generator uses the C library's `exp` and `log`). The world is immutable and `Sendable`: share
/// one instance between threads.
public final class World: Sendable {
    public let configuration: WorldConfiguration
    public let calendar: WorldCalendar
    public let organisation: Organisation
    /// The product library, in a fixed order (by family, then ordinal).
    public let products: [GeneratedProduct]

    let facts: [ProductFacts]
    /// The products' codes, by index (read in the inner loops without copying the records).
    let productCodes: [String]
    let market: Market
    let matchTable: MatchTable
    /// Per family, the products bought at some point of the year (indices, library order).
    let purchasable: [[Int]]
    /// Per span month and family, the products whose pages can be viewed, with running popularity.
    let viewCatalogue: [[ViewCatalogueEntry]]
    /// Per family, products a customer may already hold when the span starts.
    let heldBeforeSpan: [[Int]]
    private let productIndex: [String: Int]
    /// Each family's mean product popularity (the behaviour law's popularity is relative to it).
    let meanPopularity: [Double]

    public init(_ configuration: WorldConfiguration) {
        precondition(configuration.customers < 10_000_000, "customer ids have seven digits")
        self.configuration = configuration
        calendar = WorldCalendar(firstMonth: configuration.firstMonth, months: configuration.months,
                                 warmUpMonths: configuration.warmUpMonths, today: configuration.today)
        organisation = Organisation(configuration: configuration, calendar: calendar)
        let library = ProductLibrary(configuration: configuration, calendar: calendar)
        products = library.products
        facts = library.facts
        productCodes = library.products.map(\.code)
        market = Market(seed: configuration.seed, calendar: calendar, products: library.facts)
        matchTable = MatchTable(facts: library.facts, months: configuration.months)
        var purchasable = [[Int]](repeating: [], count: WorldFamily.allCases.count)
        var held = [[Int]](repeating: [], count: WorldFamily.allCases.count)
        for (index, fact) in library.facts.enumerated() {
            if fact.firstPurchaseMonth != nil { purchasable[fact.family.rawValue].append(index) }
            let start = library.products[index].record.salesWindow.start
            if fact.isHeldAsAsset, library.products[index].record.hasSalesWindow, WorldDays.day(of: start) < calendar.spanStart {
                held[fact.family.rawValue].append(index)
            }
        }
        self.purchasable = purchasable
        heldBeforeSpan = held
        viewCatalogue = calendar.months.map { month in
            WorldFamily.allCases.map { family in
                let visible = library.facts.indices.filter { index in
                    let fact = library.facts[index]
                    return fact.family == family && (fact.visibleFrom.map { $0 <= month.firstDay } ?? false)
                }
                return ViewCatalogueEntry(products: visible, totals: runningTotals(visible.map { library.facts[$0].popularity }))
            }
        }
        productIndex = Dictionary(uniqueKeysWithValues: library.products.map { ($0.code, $0.index) })
        meanPopularity = WorldFamily.allCases.map { family in
            let values = library.facts.filter { $0.family == family }.map(\.popularity)
            return values.isEmpty ? 1 : values.reduce(0, +) / Double(values.count)
        }
    }

    // MARK: Customers

    /// The id of the customer at `index`: `C` and seven digits, so ids sort in index order.
    public static func customerID(_ index: Int) -> String {
        "C" + Wire.padded(index + 1, width: 7)
    }

    /// The index of a customer id of this world, or nil.
    public func customerIndex(of id: String) -> Int? {
        guard id.first == "C", let number = Int(id.dropFirst()), number >= 1, number <= configuration.customers else { return nil }
        return number - 1
    }

    /// The customer at `index`, generated afresh: a pure function of the seed and the index.
    public func customer(at index: Int) -> GeneratedCustomer {
        precondition(index >= 0 && index < configuration.customers, "customer index \(index) is outside 0..<\(configuration.customers)")
        let seed = WorldRandom.derive(configuration.seed, 0xC0_0000_0000 &+ UInt64(index))
        var identity = WorldRandom(seed: seed, salt: 1)
        let sketch = SketchFactory(configuration: configuration, calendar: calendar, organisation: organisation).sketch(index: index, &identity)
        var simulation = CustomerSimulation(world: self, sketch: sketch, seed: seed)
        let (events, purchases, months, redemptions) = simulation.run()
        let managerToday = sketch.manager(on: configuration.today).map { organisation.managers[$0].id } ?? ""
        let changes = CustomerRecords.statusChanges(sketch)
        return GeneratedCustomer(
            index: index, id: sketch.id,
            record: CustomerRecords.record(sketch, status: sketch.timeline.final, managerID: managerToday),
            creation: CustomerRecords.creation(sketch, managers: organisation),
            statusChanges: changes,
            statusChangesBeforeEvents: sketch.timeline.initial == .prospect && changes.first?.newStatus == .normal ? 1 : 0,
            assessments: CustomerRecords.assessments(sketch),
            profile: sketch.profile,
            assignments: CustomerRecords.assignments(sketch, managers: organisation),
            events: events, purchases: purchases, redemptions: redemptions, months: months
        )
    }

    /// Which client manager had customer `index` when: the same as `customer(at: index).assignments`,
    /// drawn from the customer's identity alone, without simulating their year (a hundred times
    /// cheaper), for loaders that need only the organisation's side of a customer.
    public func managerAssignments(ofCustomer index: Int) -> [ManagerAssignment] {
        precondition(index >= 0 && index < configuration.customers, "customer index \(index) is outside 0..<\(configuration.customers)")
        let seed = WorldRandom.derive(configuration.seed, 0xC0_0000_0000 &+ UInt64(index))
        var identity = WorldRandom(seed: seed, salt: 1)
        let sketch = SketchFactory(configuration: configuration, calendar: calendar, organisation: organisation).sketch(index: index, &identity)
        return CustomerRecords.assignments(sketch, managers: organisation)
    }

    /// The customers of `range`, generated lazily one at a time.
    public func customers(_ range: Range<Int>) -> LazyMapSequence<Range<Int>, GeneratedCustomer> {
        range.lazy.map { self.customer(at: $0) }
    }

    // MARK: Products

    /// The product with this code, or nil.
    public func product(code: String) -> GeneratedProduct? {
        productIndex[code].map { products[$0] }
    }

    // MARK: The law

    /// P_f(c, m): the probability that customer `customer` buys some product of `family` in purchase
    /// month `month`. Regenerates the customer; with a ``GeneratedCustomer`` at hand use
    /// ``GeneratedCustomer/familyPropensity(_:month:)``.
    public func familyPropensity(customer: Int, family: WorldFamily, month: Int) -> Double {
        self.customer(at: customer).familyPropensity(family, month: month)
    }

    /// The true probability that customer `customer` buys product `product` (a code) in purchase
    /// month `month`: P_f · w_p / W_f when the product is on sale that month and matches the
    /// customer, else 0. Regenerates the customer.
    public func trueProbability(customer: Int, product: String, month: Int) -> Double {
        guard let product = self.product(code: product) else { return 0 }
        return trueProbability(of: self.customer(at: customer), product: product, month: month)
    }

    /// The true probability that `customer` buys `product` in purchase month `month`.
    public func trueProbability(of customer: GeneratedCustomer, product: GeneratedProduct, month: Int) -> Double {
        let facts = self.facts[product.index]
        guard let profile = customer.profile, product.isPurchasable(inMonth: month),
              WorldSuitability.matches(profile, risk: facts.risk, horizon: facts.horizon, variety: facts.variety) else { return 0 }
        let numbers = customer.months[month]
        if let behaviour = numbers.behaviour {
            guard numbers.eligible else { return 0 }
            return BehaviourLaw.sigmoid(behaviourScore(behaviour.state, product: product.index) + behaviour.noise[facts.family.rawValue])
        }
        let total = numbers.matchingWeight[facts.family.rawValue]
        guard total > 0 else { return 0 }
        return numbers.propensity[facts.family.rawValue] * facts.popularity / total
    }

    /// What the best possible model could know of `customer`'s chance of buying `product` in
    /// `month` at the month's start: the true probability under the observed-state law (its
    /// inputs are all known then); under the behaviour law the probability without the month's
    /// unobserved noise, which ranks customers as its expectation over the noise does.
    public func knowableProbability(of customer: GeneratedCustomer, product: GeneratedProduct, month: Int) -> Double {
        guard let behaviour = customer.months[month].behaviour else { return trueProbability(of: customer, product: product, month: month) }
        guard trueProbability(of: customer, product: product, month: month) > 0 else { return 0 }
        return BehaviourLaw.sigmoid(behaviourScore(behaviour.state, product: product.index))
    }

    /// s(c, p) of ``BehaviourLaw`` for the product at `index`.
    func behaviourScore(_ state: BehaviourState, product index: Int) -> Double {
        let facts = self.facts[index]
        return BehaviourLaw.score(state, family: facts.family, risk: facts.risk, relativePopularity: facts.popularity / meanPopularity[facts.family.rawValue])
    }

    /// Every product's true probability for `customer` in `month`, indexed like ``products``.
    public func trueProbabilities(of customer: GeneratedCustomer, month: Int) -> [Double] {
        products.map { trueProbability(of: customer, product: $0, month: month) }
    }
}

/// The products of one family whose pages can be viewed in one month, with running popularity.
struct ViewCatalogueEntry: Sendable {
    let products: [Int]
    let totals: [Double]
}

/// W_f for every suitability profile, family and purchase month, computed once per world.
///
/// Products are pooled by (risk, horizon, variety); a profile is keyed by its risk ceiling, horizon
/// and chosen varieties (or "professional"), so the table has 5 × 4 × 256 + 1 rows.
struct MatchTable: Sendable {
    let months: Int
    private let weights: [Double]
    private static let families = WorldFamily.allCases.count
    static let professionalKey = 5 * 4 * 256

    init(facts: [ProductFacts], months: Int) {
        self.months = months
        // Pool: [risk 1…5][horizon 0…4][variety 0…8][family][first month] → popularity.
        let families = Self.families
        var pool = [Double](repeating: 0, count: 5 * 5 * 9 * families * months)
        func poolIndex(_ risk: Int, _ horizon: Int, _ variety: Int, _ family: Int, _ month: Int) -> Int {
            ((((risk - 1) * 5 + horizon) * 9 + variety) * families + family) * months + month
        }
        for fact in facts {
            guard let first = fact.firstPurchaseMonth, first < months else { continue }
            pool[poolIndex(fact.risk, fact.horizon, fact.variety, fact.family.rawValue, first)] += fact.popularity
        }
        var weights = [Double](repeating: 0, count: (Self.professionalKey + 1) * families * months)
        for key in 0...Self.professionalKey {
            let professional = key == Self.professionalKey
            let ceiling = key / (4 * 256) + 1
            let horizon = key / 256 % 4 + 1
            let bits = UInt16(key % 256) << 1
            for risk in 1...5 where professional || risk <= ceiling {
                for productHorizon in 0...4 where professional || productHorizon <= horizon {
                    for variety in 0...8 where professional || (variety > 0 && bits & (1 << UInt16(variety)) != 0) {
                        for family in 0..<families {
                            for month in 0..<months {
                                let value = pool[poolIndex(risk, productHorizon, variety, family, month)]
                                if value > 0 { weights[(key * families + family) * months + month] += value }
                            }
                        }
                    }
                }
            }
            // Products on sale from a month stay on sale: running totals over the months.
            for family in 0..<families {
                let base = (key * families + family) * months
                for month in 1..<max(1, months) { weights[base + month] += weights[base + month - 1] }
            }
        }
        self.weights = weights
    }

    /// The row of a profile.
    static func key(_ profile: SuitabilityProfile) -> Int {
        if profile.investorClass == .professional { return professionalKey }
        let ceiling = profile.lowestCategory ? 1 : min(5, max(1, profile.riskTolerance))
        let horizon = min(4, max(1, profile.horizon))
        return ((ceiling - 1) * 4 + (horizon - 1)) * 256 + Int((profile.varietyBits >> 1) & 0xFF)
    }

    func weight(key: Int, family: WorldFamily, month: Int) -> Double {
        weights[(key * Self.families + family.rawValue) * months + month]
    }
}
