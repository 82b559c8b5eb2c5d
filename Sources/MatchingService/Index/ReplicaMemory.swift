import CRMProtos
import CRMRules
import CRMServiceHost
import CRMSuitability

/// The replica's in-memory view of its copy: customers column by column, their recent behaviour
/// (views, contacts, orders), the product catalogue, the customer schema for target rules and the
/// current model with its cached family scores.
///
/// A value type mutated only inside ``Replica``'s lock; every answer is computed from it without
/// touching the store or another service.
struct ReplicaMemory: Sendable {
    var rules: SuitabilityRules
    var customers = CustomerColumns()
    var keys = SuitabilityKeys()
    /// Per row: the dateless suitability profile's code and the days the assessment is in force.
    var keyOfRow: [UInt32] = []
    var assessmentWindowOfRow: [AssessmentWindow] = []
    var catalog: [String: CatalogEntry] = [:]
    var schema: RuleSchema = ReplicaMemory.baseSchema
    var scorer: Scorer?
    /// `familyScores[family][row]`: the model's probability that the customer buys any product of
    /// the family in the coming month; NaN until computed (after a model change, new dimensions,
    /// a behaviour event of the customer, or a new day: `scoresDay` is the day they are for).
    var familyScores: [[Float]] = []
    var scoresDay: Int32 = .min
    /// Moves whenever scores are dropped in bulk (a model, a day, a product): a background pass
    /// that started before a move has not left the scores complete.
    var scoresGeneration = 0
    /// Views, contacts and orders by customer row, and each product's subscriptions.
    var behaviour = BehaviourCopy()
    /// Events about products not in the catalogue yet, by product code.
    var unresolved: [String: [UnresolvedEvent]] = [:]
    /// What the catalogue gives on `catalogueDay`, started again by the first query of a new day
    /// and after the catalogue, the dictionary or the model changes (they set the day to `.min`):
    /// the products on sale whose target rule compiled (what recommendations walk), and per
    /// (profile code, family) the summed weights of the family's products on sale that MATCH the
    /// profile (filled as queries need them).
    var onSale: [CatalogEntry] = []
    var familyWeightCache: [FamilyWeightKey: Double] = [:]
    /// The products on sale with a family, target rules or not (what a customer may buy), and per
    /// profile code how many of each family MATCH it (a pair feature of the model).
    var onSaleForCounts: [CatalogEntry] = []
    var availableCache: [UInt32: FamilyAvailability] = [:]
    var catalogueDay: Int32 = .min
    /// The column slot of each of the scorer's customer features (nil: not in the copy yet), so
    /// scoring reads columns by position; refreshed when the model or the columns change.
    var featureSlots: [Int?] = []
    /// The column slot of profiles' `product_value_<family>` for each family (the value held).
    var familyValueSlots: [Int?] = []
    /// The dimensions in fen (reasons show them in yuan).
    var moneyDimensions: Set<String> = []
    /// Profiles' dictionary by position, and the column slot of each numeric position (-1 for a
    /// category), for the feed's positional form.
    var positions = DimensionPositions()
    var slotOfPosition: [Int] = []
    /// The category column slot of each dimension position (-1 for a number) and of each scheme.
    var categorySlotOfPosition: [Int] = []
    var categorySlotOfScheme: [Int] = []

    struct FamilyWeightKey: Hashable, Sendable {
        let profile: UInt32
        let family: Int
    }

    /// The column slots of the customer's own fields, in ``CustomerColumns/recordFields`` order
    /// (status, kind, branch, manager, province, channel).
    private var recordSlots: [Int] = []

    /// The cores the process counts on (``HostConfiguration/cores``): a large target list's ranking is split over up to two.
    let cores: Int

    init(rules: SuitabilityRules, cores: Int = HostConfiguration.coresAvailable) {
        self.rules = rules
        self.cores = max(1, cores)
        recordSlots = CustomerColumns.recordFields.map { customers.categorySlot($0) }
    }

    static let statusNames = ["prospect", "normal", "frozen", "reported_lost", "closed"]

    /// The fields every customer has, before profiles' data dictionary is known.
    static var baseSchema: RuleSchema {
        var schema = RuleSchema()
        schema.add("status", .categories(Set(statusNames)))
        schema.add("kind", .categories(["individual", "institution"]))
        for field in ["branch_id", "manager_id", "province", "channel"] { schema.add(field, .anyCategory) }
        return schema
    }

    // MARK: Applying the feeds

    mutating func applyCustomer(_ customer: Crm_Profiles_V1_Customer) {
        applyCustomer(customer, row: ensureRow(customer.customerID))
    }

    private mutating func applyCustomer(_ customer: Crm_Profiles_V1_Customer, row: Int32) {
        var facts = customers.facts[Int(row)]
        facts.status = SuitabilityMapping.status(customer.status)
        setFacts(facts, row: row)
        // In CustomerColumns.recordFields order; set one by one (this runs per customer of a
        // snapshot, and an array of the six would be an allocation each time).
        customers.setCategory(slot: recordSlots[0], Self.statusName(customer.status), row: row)
        customers.setCategory(slot: recordSlots[1], customer.kind == .institution ? "institution" : "individual", row: row)
        customers.setCategory(slot: recordSlots[2], customer.branchID, row: row)
        customers.setCategory(slot: recordSlots[3], customer.managerID, row: row)
        customers.setCategory(slot: recordSlots[4], customer.province, row: row)
        customers.setCategory(slot: recordSlots[5], customer.channel, row: row)
    }

    /// One snapshot entry: the customer's record, assessment and every value, the row found once.
    /// A customer already in memory (a snapshot started again) has its values cleared first; a new
    /// row starts with every value missing anyway.
    mutating func applySnapshot(_ entry: Crm_Profiles_V1_SnapshotEntry) {
        let known = customers.row(of: entry.customer.customerID) != nil
        let row = ensureRow(entry.customer.customerID)
        applyCustomer(entry.customer, row: row)
        if entry.hasAssessment { applyAssessment(entry.assessment, row: row) }
        applyDimensions(entry.dimensions, row: row, replacing: known)
    }

    mutating func applyAssessment(customerID: String, _ assessment: Crm_Profiles_V1_SuitabilityAssessment) {
        applyAssessment(assessment, row: ensureRow(customerID))
    }

    private mutating func applyAssessment(_ assessment: Crm_Profiles_V1_SuitabilityAssessment, row: Int32) {
        var facts = customers.facts[Int(row)]
        facts.assessment = SuitabilityMapping.assessment(assessment)
        setFacts(facts, row: row)
    }

    /// Applies a customer's dimension values (a feed delta, or with `replacing` a snapshot's
    /// complete set, which first marks every value missing).
    mutating func applyDimensions(_ dimensions: Crm_Profiles_V1_CustomerDimensions, replacing: Bool = false) {
        applyDimensions(dimensions, row: ensureRow(dimensions.customerID), replacing: replacing)
    }

    private mutating func applyDimensions(_ dimensions: Crm_Profiles_V1_CustomerDimensions, row: Int32, replacing: Bool) {
        if replacing { customers.clearNumbers(row: row) }
        let slotsBefore = customers.numberSlots.count
        DimensionPositions.pairs(dimensions.numberPositions, dimensions.numberValues) { position, value in
            if let slot = Self.slot(at: position, in: slotOfPosition) { customers.setNumber(slot: slot, value, row: row) }
        }
        for (name, value) in dimensions.numbers { customers.setNumber(name, value, row: row) }
        if customers.numberSlots.count != slotsBefore { refreshFeatureSlots() }
        DimensionPositions.pairs(dimensions.categoryPositions, dimensions.categoryValues) { position, value in
            if let slot = Self.slot(at: position, in: categorySlotOfPosition) { customers.setCategory(slot: slot, value, row: row) }
        }
        DimensionPositions.pairs(dimensions.classPositions, dimensions.classValues) { position, value in
            if let slot = Self.slot(at: position, in: categorySlotOfScheme) { customers.setCategory(slot: slot, value, row: row) }
        }
        for (name, value) in dimensions.categories { customers.setCategory(name, value, row: row) }
        for (name, value) in dimensions.classes { customers.setCategory(name, value, row: row) }
        for family in familyScores.indices { familyScores[family][Int(row)] = .nan }
    }

    /// The column slot a position maps to; nil past the dictionary or for the other kind (-1).
    private static func slot(at position: Int, in slots: [Int]) -> Int? {
        position < slots.count && slots[position] >= 0 ? slots[position] : nil
    }

    /// A new or changed product: the products available to customers of its family (old and new)
    /// may have changed, so those families' scores are computed again.
    mutating func applyProduct(_ product: Crm_Products_V1_Product) {
        let before = catalog[product.productCode]
        let entry = CatalogEntry(product: product, schema: schema)
        catalog[product.productCode] = entry
        catalogueDay = .min
        if let waiting = unresolved.removeValue(forKey: product.productCode), let family = entry.family {
            for item in waiting where behaviour.resolve(item.event, row: item.row, family: family) {
                for scored in familyScores.indices { familyScores[scored][Int(item.row)] = .nan }
            }
        }
        if scorer?.space.pairs.contains(.productsAvailable) == true {
            invalidateScores(families: Array(Set([before?.family, entry.family].compactMap { $0 })))
        }
    }

    /// Installs profiles' data dictionary: dimension types and ordered classes, then recompiles
    /// every product's rule against it.
    mutating func setDictionary(dimensions: [Crm_Profiles_V1_DimensionDefinition], schemes: [Crm_Profiles_V1_ClassificationScheme]) {
        var schema = Self.baseSchema
        // Classes compare in their listed order (lowest first), so `asset_tier >= gold` works.
        for scheme in schemes { schema.add(scheme.name, .category(values: Set(scheme.classes), ordered: scheme.classes)) }
        for definition in dimensions {
            switch definition.type {
            case .category: schema.add(definition.name, .anyCategory)
            default: schema.add(definition.name, .number)
            }
        }
        self.schema = schema
        moneyDimensions = Set(dimensions.filter { $0.type == .money }.map(\.name))
        for (code, entry) in catalog { catalog[code] = CatalogEntry(product: entry.product, schema: schema) }
        catalogueDay = .min
        positions = DimensionPositions(dimensions, schemes: schemes.map(\.name))
        slotOfPosition = dimensions.map { $0.type == .category ? -1 : customers.numberSlot($0.name) }
        categorySlotOfPosition = dimensions.map { $0.type == .category ? customers.categorySlot($0.name) : -1 }
        categorySlotOfScheme = schemes.map { customers.categorySlot($0.name) }
        refreshFeatureSlots()
    }

    mutating func install(_ scorer: Scorer?) {
        self.scorer = scorer
        refreshFeatureSlots()
        familyScores = scorer == nil ? [] : [[Float]](repeating: [Float](repeating: .nan, count: customers.count), count: ProductFamilies.count)
        scoresGeneration &+= 1
        catalogueDay = .min
    }

    private mutating func refreshFeatureSlots() {
        familyValueSlots = FeatureSpace.familyValueDimensions.map { customers.numberSlots[$0] }
        guard let space = scorer?.space else {
            featureSlots = []
            return
        }
        featureSlots = space.names.prefix(space.customerCount).map { customers.numberSlots[$0] }
    }

    // MARK: Behaviour

    /// The family of a product in the catalogue, if it has one.
    func family(ofProduct code: String) -> Int? {
        catalog[code]?.family
    }

    /// Adds a view, contact or order of a customer; their cached scores are computed again. An
    /// event about a product the catalogue does not hold yet (the products feed is behind the
    /// event log) counts without a family until the product arrives (``applyProduct(_:)``). One
    /// whose family was looked up before its product arrived (the caller reads the catalogue
    /// outside this lock, then writes the store) takes the product's family here.
    mutating func applyBehaviour(_ event: BehaviourEvent, customerID: String, productCode: String = "") {
        let row = ensureRow(customerID)
        var event = event
        if event.family < 0, !productCode.isEmpty {
            if let entry = catalog[productCode] {
                if let family = entry.family {
                    event = BehaviourEvent(at: event.at, kind: event.kind, family: family, amountFen: event.amountFen)
                }
            } else {
                unresolved[productCode, default: []].append(UnresolvedEvent(row: row, event: event))
            }
        }
        behaviour.add(event, row: row)
        for family in familyScores.indices { familyScores[family][Int(row)] = .nan }
    }

    struct UnresolvedEvent: Sendable {
        let row: Int32
        let event: BehaviourEvent
    }

    /// Notes a subscription of `product` (its recent sales move the product's share). The day's
    /// cached shares count sales before the day only, so a sale made today leaves them standing;
    /// only one dated before the cached day (arriving late) starts them again.
    mutating func applySale(product: String, at: Int64) {
        behaviour.addSale(product: product, at: at)
        if BusinessDays.day(ofMillis: at) < catalogueDay { catalogueDay = .min }
    }

    private mutating func ensureRow(_ id: String) -> Int32 {
        let before = customers.count
        let row = customers.ensureRow(id)
        if customers.count > before {
            keyOfRow.append(0)
            assessmentWindowOfRow.append(.none)
            let (code, window) = keys.intern(customers.facts[Int(row)], rules: rules)
            keyOfRow[Int(row)] = code
            assessmentWindowOfRow[Int(row)] = window
            for family in familyScores.indices { familyScores[family].append(.nan) }
            behaviour.addRow()
        }
        return row
    }

    private mutating func setFacts(_ facts: SuitabilityCustomer, row: Int32) {
        customers.setFacts(facts, row: row)
        let (code, window) = keys.intern(facts, rules: rules)
        keyOfRow[Int(row)] = code
        assessmentWindowOfRow[Int(row)] = window
    }

    static func statusName(_ status: Crm_Profiles_V1_AccountStatus) -> String {
        switch status {
        case .normal: return "normal"
        case .frozen: return "frozen"
        case .reportedLost: return "reported_lost"
        case .closed: return "closed"
        default: return "prospect"
        }
    }
}
