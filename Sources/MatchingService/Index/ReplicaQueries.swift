import CRMProtos
import CRMRules
import CRMServiceHost
import CRMSuitability

/// The answers computed from ``ReplicaMemory``: suitability decisions, target lists and
/// recommendations.
extension ReplicaMemory {
    enum QueryError: Error, Sendable {
        case unknownCustomer(String)
        case unknownProduct(String)
        case ruleUnusable(code: String, problem: String)
        /// Ranked answers need a model: without one every score would be 0 and the order the ids'.
        case noModel
    }

    struct Decision: Sendable {
        let verdict: SuitabilityVerdict
        let inputs: [String]
    }

    func decide(customerID: String, productCode: String, today: Int32) throws(QueryError) -> Decision {
        guard let row = customers.row(of: customerID) else { throw .unknownCustomer(customerID) }
        guard let entry = catalog[productCode] else { throw .unknownProduct(productCode) }
        let facts = customers.facts[Int(row)]
        return Decision(
            verdict: rules.decide(customer: facts, product: entry.facts, today: today),
            inputs: SuitabilityMapping.inputs(facts, entry.facts, rules: rules)
        )
    }

    struct Ranked: Sendable {
        let row: Int32
        let score: Double
    }

    struct Explained: Sendable {
        let customerID: String
        let score: Double
        let reasons: [Crm_Matching_V1_ScoreReason]
    }

    // MARK: Product → target customers

    /// Every customer who MATCHes the product and satisfies its rule, best first (ties by id);
    /// `limit` nil for all. Family scores missing from the cache are computed (and kept) on the way,
    /// from the customers' dimensions and behaviour as of `now` (unix millis).
    mutating func targets(productCode: String, limit: Int?, now: Int64) throws(QueryError) -> (eligible: Int, ranked: [Ranked]) {
        guard scorer != nil else { throw .noModel }
        let today = BusinessDays.day(ofMillis: now)
        let entry = try usableEntry(productCode)
        refreshCatalogueDay(today: today)
        refreshScoresDay(today)
        let eligibleRows = eligibleRows(for: entry, today: today)
        let capacity = limit ?? Int.max
        // A product in no family the model knows: every eligible customer scores 0, ranked by id.
        guard let family = entry.family else {
            var heap = TopHeap(capacity: capacity, ids: customers.ids)
            for row in eligibleRows { heap.offer(Ranked(row: row, score: 0)) }
            return (eligibleRows.count, heap.sortedDescending())
        }
        // First the parts that fill caches: family scores not computed yet, and the product's
        // share of its family for each profile present (once per profile).
        var shareOfProfile = [Double](repeating: .nan, count: keys.profiles.count)
        for row in eligibleRows {
            if familyScores[family][Int(row)].isNaN { _ = familyScore(row: row, family: family, now: now) }
            let profile = Int(keyOfRow[Int(row)])
            if shareOfProfile[profile].isNaN {
                shareOfProfile[profile] = share(of: entry, profile: UInt32(profile), family: family, today: today)
            }
        }
        // Then the ranking, which only reads: a bounded heap per slice of the rows, on two cores
        // for large lists (when the process counts on two), merged at the end (ties broken by id, so the result does not depend on
        // the slicing).
        let scores = familyScores[family], profiles = keyOfRow, ids = customers.ids, rows = eligibleRows
        let shares = shareOfProfile
        let heaps = ParallelSlices.map(count: rows.count, slices: rows.count >= 50_000 ? min(cores, 2) : 1) { range in
            var heap = TopHeap(capacity: capacity, ids: ids)
            for index in range {
                let row = rows[index]
                heap.offer(Ranked(row: row, score: Double(scores[Int(row)]) * shares[Int(profiles[Int(row)])]))
            }
            return heap.sortedDescending()
        }
        var merged = TopHeap(capacity: capacity, ids: ids)
        for heap in heaps { for item in heap { merged.offer(item) } }
        return (eligibleRows.count, merged.sortedDescending())
    }

    /// The ids of every customer who MATCHes the product and satisfies its rule, unranked (campaign
    /// baselines need who was eligible, not in what order).
    func eligibleCustomerIDs(productCode: String, today: Int32) throws(QueryError) -> [String] {
        let entry = try usableEntry(productCode)
        return eligibleRows(for: entry, today: today).map { customers.ids[Int($0)] }
    }

    private func usableEntry(_ productCode: String) throws(QueryError) -> CatalogEntry {
        guard let entry = catalog[productCode] else { throw .unknownProduct(productCode) }
        if let problem = entry.ruleProblem { throw .ruleUnusable(code: productCode, problem: problem) }
        return entry
    }

    /// The rows that satisfy the product's rule and MATCH it today. Suitability is decided once per
    /// dateless profile, not per customer; each row then checks its profile and that its assessment is in force.
    private func eligibleRows(for entry: CatalogEntry, today: Int32) -> [Int32] {
        let profileMatches = keys.profiles.map { rules.matches(customer: $0, product: entry.facts, today: today) }
        let candidates: [Int32]
        if let rule = entry.rule {
            candidates = rule.filter(columns: customers.ruleColumns(for: Array(rule.rule.fields), schema: schema))
        } else {
            candidates = Array(0..<Int32(customers.count))
        }
        return candidates.filter { row in
            profileMatches[Int(keyOfRow[Int(row)])] && assessmentWindowOfRow[Int(row)].contains(today)
        }
    }

    /// The probability that the customer buys this product in the coming month: the family
    /// propensity times the product's share of the family among the products the customer may buy.
    /// Without a model every eligible customer scores 0 (ranked by id).
    mutating func score(row: Int32, profile: UInt32, entry: CatalogEntry, now: Int64) -> Double {
        guard scorer != nil, let family = entry.family else { return 0 }
        let propensity = familyScore(row: row, family: family, now: now)
        return propensity * share(of: entry, profile: profile, family: family, today: BusinessDays.day(ofMillis: now))
    }

    /// The product's share of its family among the products on sale today that MATCH the profile.
    mutating func share(of entry: CatalogEntry, profile: UInt32, family: Int, today: Int32) -> Double {
        let total = familyWeight(profile: profile, family: family, today: today)
        guard total > 0 else { return 0 }
        return min(1, utility(of: entry, facts: keys.profiles[Int(profile)], today: today) / total)
    }

    /// A product's utility within its family for a customer with these facts (the scorer's weight
    /// and choice model; 1 without a model).
    func utility(of entry: CatalogEntry, facts: SuitabilityCustomer, today: Int32) -> Double {
        utility(of: entry, facts: facts, today: today, choice: scorer?.choice)
    }

    /// The same with a given choice model (an evaluation's or a training's, which need not be the
    /// current one).
    func utility(of entry: CatalogEntry, facts: SuitabilityCustomer, today: Int32, choice: ProductChoice?) -> Double {
        guard let choice else { return 1 }
        let code = entry.product.productCode
        return choice.utility(of: code, features: ProductChoiceFeatures.values(customer: facts, entry: entry, day: today,
                                                                                recentSales: behaviour.recentSales(of: code, day: today)))
    }

    mutating func familyScore(row: Int32, family: Int, now: Int64) -> Double {
        let cached = familyScores[family][Int(row)]
        if !cached.isNaN { return Double(cached) }
        guard let scorer else { return 0 }
        let behaviour = scorer.space.readsBehaviour ? self.behaviour.features(row: row, at: now) : []
        let available = available(profile: keyOfRow[Int(row)], today: BusinessDays.day(ofMillis: now))
        // Kept as a Float, and answered as the Float too: the first answer (computed here) and every
        // later one (read from the cache, or on another replica that warmed it first) are the same.
        let probability = Float(Scorer.sigmoid(scorer.model.logit(features(row: row, family: family, space: scorer.space, behaviour: behaviour, available: available))))
        familyScores[family][Int(row)] = probability
        return Double(probability)
    }

    /// What the profile could buy of each family today (pair features), kept for the catalogue's
    /// day (a new model starts the day again).
    mutating func available(profile: UInt32, today: Int32) -> FamilyAvailability {
        refreshCatalogueDay(today: today)
        if let known = availableCache[profile] { return known }
        let computed = availability(facts: keys.profiles[Int(profile)], day: today, onSale: onSaleForCounts, choice: scorer?.choice)
        availableCache[profile] = computed
        return computed
    }

    /// Computes every missing family score (after a model change or a new day), so queries find
    /// them cached; a customer's behaviour is computed once for all families.
    mutating func warmScores(rows: Range<Int>, now: Int64) {
        guard let scorer else { return }
        refreshScoresDay(BusinessDays.day(ofMillis: now))
        for row in rows where row < customers.count {
            let missing = (0..<ProductFamilies.count).filter { familyScores[$0][row].isNaN }
            guard !missing.isEmpty else { continue }
            let behaviour = scorer.space.readsBehaviour ? self.behaviour.features(row: Int32(row), at: now) : []
            let available = available(profile: keyOfRow[row], today: BusinessDays.day(ofMillis: now))
            for family in missing {
                let values = features(row: Int32(row), family: family, space: scorer.space, behaviour: behaviour, available: available)
                familyScores[family][row] = Float(Scorer.sigmoid(scorer.model.logit(values)))
            }
        }
    }

    /// Starts the scores of a new day: every cached family score is computed again (windows and
    /// "days since" moved), and views and contacts too old to count are dropped.
    mutating func refreshScoresDay(_ today: Int32) {
        guard scoresDay != today else { return }
        if scoresDay != .min { invalidateScores(families: Array(familyScores.indices)) }
        behaviour.forget(before: today)
        scoresDay = today
    }

    /// Drops every customer's cached scores of these families (a new day, a product that changed),
    /// to be computed again by the next list or the background pass.
    mutating func invalidateScores(families: [Int]) {
        for family in families where familyScores.indices.contains(family) {
            familyScores[family].withUnsafeMutableBufferPointer { $0.update(repeating: .nan) }
        }
        scoresGeneration &+= 1
    }

    /// The feature row of a customer for a family in `space`: their dimensions from the columns,
    /// and the pair features with `behaviour` (``BehaviourFeatures/compute(_:at:)`` at the row's
    /// instant; empty when the space reads none) and `available` (per family, the products on sale
    /// that MATCH them on the row's day).
    func features(row: Int32, family: Int, space: FeatureSpace, behaviour: [Float], available: FamilyAvailability) -> [Float] {
        var values = [Float](repeating: .nan, count: space.count)
        let slots = featureSlots.count == space.customerCount ? featureSlots : space.names.prefix(space.customerCount).map { customers.numberSlots[$0] }
        for index in 0..<space.customerCount {
            if let slot = slots[index] { values[index] = customers.numbers[slot][Int(row)] }
        }
        space.fillPair(&values, family: family, inputs: .init(
            mostViewedType: customers.category("most_viewed_product_type_90d", row: row),
            largestFamily: customers.category("largest_product_type", row: row),
            familyValues: familyValueSlots.map { slot in slot.map { customers.numbers[$0][Int(row)] } ?? .nan },
            behaviour: behaviour, available: available))
        return values
    }

    /// The features that raised the customer's family propensity most, with a sentence each.
    mutating func reasons(row: Int32, family: Int?, now: Int64, count: Int = 3) -> [Crm_Matching_V1_ScoreReason] {
        guard let scorer, let family else { return [] }
        let behaviour = scorer.space.readsBehaviour ? self.behaviour.features(row: row, at: now) : []
        let available = available(profile: keyOfRow[Int(row)], today: BusinessDays.day(ofMillis: now))
        let values = features(row: row, family: family, space: scorer.space, behaviour: behaviour, available: available)
        let contributions = scorer.model.contributions(values)
        return contributions.indices
            .filter { contributions[$0] > 0 }
            .sorted { (contributions[$0], -$0) > (contributions[$1], -$1) }
            .prefix(count)
            .map { index in
                let name = scorer.space.names[index]
                return .with {
                    $0.feature = name
                    $0.contribution = contributions[index]
                    $0.value = Double(values[index])
                    $0.text = ReasonText.describe(feature: name, value: Double(values[index]), family: family, isMoney: moneyDimensions.contains(name))
                }
            }
    }

    /// Starts the catalogue's caches for `today` if they are for another day (or were reset).
    private mutating func refreshCatalogueDay(today: Int32) {
        guard catalogueDay != today else { return }
        onSale = catalog.values.filter { $0.isOnSale(today: today) && $0.ruleProblem == nil }
        onSaleForCounts = catalog.values.filter { $0.family != nil && $0.isOnSale(today: today) }
        familyWeightCache.removeAll(keepingCapacity: true)
        availableCache.removeAll(keepingCapacity: true)
        catalogueDay = today
    }

    /// The summed utilities of the family's products on sale today that MATCH the profile.
    mutating func familyWeight(profile: UInt32, family: Int, today: Int32) -> Double {
        let key = FamilyWeightKey(profile: profile, family: family)
        if let cached = familyWeightCache[key] { return cached }
        let facts = keys.profiles[Int(profile)]
        let total = matchingWeight(of: facts, family: family, today: today) { utility(of: $0, facts: facts, today: today) }
        familyWeightCache[key] = total
        return total
    }

    /// The summed `utility` of the family's products on sale on `today` that MATCH `facts`: the
    /// denominator of a product's share of what the customer may buy in its family.
    func matchingWeight(of facts: SuitabilityCustomer, family: Int, today: Int32, utility: (CatalogEntry) -> Double) -> Double {
        var total = 0.0
        for entry in catalog.values where entry.family == family && entry.isOnSale(today: today)
            && rules.matches(customer: facts, product: entry.facts, today: today) {
            total += utility(entry)
        }
        return total
    }

    // MARK: Customer → products

    struct Recommendation: Sendable {
        let entry: CatalogEntry
        let score: Double

        /// A higher score first; equal scores by the smaller product code.
        func ranks(before other: Recommendation) -> Bool {
            if score != other.score { return score > other.score }
            return entry.product.productCode < other.entry.product.productCode
        }
    }

    mutating func recommendations(customerID: String, limit: Int, now: Int64) throws(QueryError) -> (row: Int32, [Recommendation]) {
        guard scorer != nil else { throw .noModel }
        guard let row = customers.row(of: customerID) else { throw .unknownCustomer(customerID) }
        let today = BusinessDays.day(ofMillis: now)
        refreshCatalogueDay(today: today)
        refreshScoresDay(today)
        let facts = customers.facts[Int(row)]
        let profile = keyOfRow[Int(row)]
        let record = customers.record(row: row)
        // The best `limit` kept in rank order as the products go by (a higher score first, then the
        // smaller code) instead of sorting everything that MATCHes: most of the catalogue does.
        var found: [Recommendation] = []
        found.reserveCapacity(limit + 1)
        for entry in onSale where rules.matches(customer: facts, product: entry.facts, today: today) {
            if let rule = entry.rule, !rule.matches(record) { continue }
            let candidate = Recommendation(entry: entry, score: score(row: row, profile: profile, entry: entry, now: now))
            if found.count == limit, let last = found.last, !candidate.ranks(before: last) { continue }
            found.insert(candidate, at: found.firstIndex { candidate.ranks(before: $0) } ?? found.count)
            if found.count > limit { found.removeLast() }
        }
        return (row, found)
    }
}

/// The best `capacity` of a stream of scored rows, kept in a min-heap; ties prefer the smaller id.
struct TopHeap: Sendable {
    let capacity: Int
    let ids: [String]
    private var heap: [ReplicaMemory.Ranked] = []
    private var all: [ReplicaMemory.Ranked] = []

    init(capacity: Int, ids: [String]) {
        self.capacity = capacity
        self.ids = ids
    }

    /// Whether `a` ranks below `b`: a lower score, or the same score and a larger id.
    private func worse(_ a: ReplicaMemory.Ranked, _ b: ReplicaMemory.Ranked) -> Bool {
        if a.score != b.score { return a.score < b.score }
        return ids[Int(a.row)] > ids[Int(b.row)]
    }

    mutating func offer(_ item: ReplicaMemory.Ranked) {
        if capacity == Int.max {
            all.append(item)
            return
        }
        guard capacity > 0 else { return }
        if heap.count < capacity {
            heap.append(item)
            siftUp(heap.count - 1)
        } else if worse(heap[0], item) {
            heap[0] = item
            siftDown(0)
        }
    }

    func sortedDescending() -> [ReplicaMemory.Ranked] {
        (capacity == Int.max ? all : heap).sorted { worse($1, $0) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard worse(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count, worse(heap[left + 1], heap[left]) { smallest = left + 1 }
            guard worse(heap[smallest], heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
