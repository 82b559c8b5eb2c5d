/// How a customer and a product family become the model's feature vector.
///
/// The customer part is a fixed list of the profiles service's numeric dimensions (the ones that
/// describe wealth, activity, interests and relationship; the long tail of near-duplicates is
/// left out to keep training fast), then the features of the (customer, family) pair
/// (``pairFeatures``): the family itself, the customer's behaviour towards it and what they hold
/// of it. A model stores its feature names, so a replica scores with exactly the features it was
/// trained on (older models with fewer pair features keep scoring).
struct FeatureSpace: Sendable, Hashable {
    static let customerDimensions: [String] = {
        var names = [
            "age_years", "account_age_days", "risk_tolerance_level", "assessment_expires_in_days", "has_margin_account",
            "total_assets", "cash", "securities_value", "products_value", "position_ratio", "cash_ratio", "products_ratio",
            "holdings_count", "product_holding_count", "product_type_count", "products_unrealised_profit",
            "days_since_last_trade", "days_since_last_activity", "days_since_last_deposit", "days_since_last_view",
            "days_since_last_contact", "lifetime_trade_count", "margin_utilisation",
            "distinct_product_types_viewed_90d", "interested_contact_count_365d", "net_inflow_ratio_365d",
            "commission_rate_365d", "contribution_to_assets_365d",
        ]
        for window in ["_30d", "_90d", "_365d"] {
            names += [
                "avg_assets" + window, "assets_growth" + window, "trade_count" + window, "trade_amount" + window,
                "turnover_rate" + window, "active_trading_days" + window, "net_deposit" + window,
                "product_view_count" + window, "distinct_products_viewed" + window, "contact_count" + window,
                "contribution" + window,
            ]
        }
        return names
    }()

    /// The features of the (customer, family) pair, after the customer's dimensions. The family
    /// is there twice: as its number and as one indicator per family, so that a tree isolates any
    /// one family in a single split (on the number alone, a family in the middle of the order
    /// takes two splits, which a depth-limited tree then lacks for the family's own thresholds).
    /// Then the customer's behaviour towards the family (``BehaviourFeatures``: views, orders,
    /// redemptions, contacts, from matching's copy of the event log and the orders) and the value
    /// they hold in it (profiles' `product_value_<family>`, from end-of-day positions, which only
    /// profiles receives), how many of the family's products on sale MATCH them and how appealing
    /// those are together (``FamilyAvailability``: where customers weigh each product on its own
    /// merits, more and better choices mean more buying from the family).
    static let pairFeatures = ["family", "viewed_family_90d", "holds_family_most"] + ProductFamilies.familyNames.map { "family_is_" + $0 }
        + BehaviourFeatures.names + ["family_value_held", "family_products_available", "family_choice_value"]

    /// Profiles' dimensions holding the value held per family, by family.
    static let familyValueDimensions = ProductFamilies.familyNames.map { "product_value_" + $0 }

    /// One pair feature, read by name so that a stored model scores with exactly its own list.
    enum PairFeature: Sendable, Hashable {
        case family
        case viewedFamily
        case holdsFamilyMost
        case isFamily(Int)
        case behaviour(Int)
        case valueHeld
        case productsAvailable
        case choiceValue

        init?(name: String) {
            switch name {
            case "family": self = .family
            case "viewed_family_90d": self = .viewedFamily
            case "holds_family_most": self = .holdsFamilyMost
            case "family_value_held": self = .valueHeld
            case "family_products_available": self = .productsAvailable
            case "family_choice_value": self = .choiceValue
            default:
                if let index = BehaviourFeatures.names.firstIndex(of: name) {
                    self = .behaviour(index)
                    return
                }
                guard name.hasPrefix("family_is_"),
                      let index = ProductFamilies.familyNames.firstIndex(of: String(name.dropFirst("family_is_".count))) else { return nil }
                self = .isFamily(index)
            }
        }

        /// Whether the feature reads the customer's behaviour (then a row needs the events).
        var readsBehaviour: Bool {
            if case .behaviour = self { return true }
            return false
        }
    }

    /// What the pair features of one customer read besides the family: two of their category
    /// dimensions, the value they hold per family, their behaviour at the instant of the row
    /// (``BehaviourFeatures/compute(_:at:)``'s array; empty when the space reads none of it), and
    /// per family the products on sale that MATCH them on the row's day.
    struct PairInputs {
        var mostViewedType: String?
        var largestFamily: String?
        var familyValues: [Float] = []
        var behaviour: [Float] = []
        var available = FamilyAvailability.none
    }

    /// The customer dimensions this space reads, in order, then the pair features.
    let names: [String]
    let customerCount: Int
    let pairs: [PairFeature]

    /// The space over the dimensions the replica knows (a name profiles does not have is dropped).
    init(knownDimensions: Set<String>) {
        let customer = Self.customerDimensions.filter { knownDimensions.contains($0) }
        self.init(names: customer + Self.pairFeatures)
    }

    /// A stored model's space: its customer dimensions, then its pair features (a model trained
    /// before the family indicators has only the first three).
    init(names: [String]) {
        self.names = names
        let customerCount = names.firstIndex { PairFeature(name: $0) != nil } ?? names.count
        self.customerCount = customerCount
        self.pairs = names[customerCount...].compactMap(PairFeature.init(name:))
    }

    /// Why this replica cannot compute the space `names` (an imported model's), or nil when it can:
    /// known customer dimensions, then only pair features.
    static func problem(computing names: [String]) -> String? {
        let known = Set(customerDimensions)
        let space = FeatureSpace(names: names)
        if let unknown = names.prefix(space.customerCount).first(where: { !known.contains($0) }) {
            return "\(unknown) is not a feature this replica computes"
        }
        if space.pairs.count != names.count - space.customerCount {
            return "after the first pair feature (\(names[space.customerCount])) only pair features may follow: \(pairFeatures.joined(separator: ", "))"
        }
        return nil
    }

    var count: Int { names.count }

    /// Whether any pair feature reads the customer's behaviour.
    var readsBehaviour: Bool { pairs.contains(where: \.readsBehaviour) }

    /// Writes the pair features for `family` after the customer part already in `row`.
    func fillPair(_ row: inout [Float], family: Int, inputs: PairInputs) {
        for (offset, pair) in pairs.enumerated() {
            let value: Float
            switch pair {
            case .family: value = Float(family)
            case .viewedFamily: value = inputs.mostViewedType?.uppercased() == ProductFamilies.typeNames[family] ? 1 : 0
            case .holdsFamilyMost: value = inputs.largestFamily == ProductFamilies.familyNames[family] ? 1 : 0
            case .isFamily(let index): value = index == family ? 1 : 0
            case .behaviour(let slot):
                let index = family * BehaviourFeatures.count + slot
                value = index < inputs.behaviour.count ? inputs.behaviour[index] : .nan
            case .valueHeld: value = family < inputs.familyValues.count ? inputs.familyValues[family] : .nan
            case .productsAvailable: value = family < inputs.available.counts.count ? inputs.available.counts[family] : .nan
            case .choiceValue: value = family < inputs.available.choiceValues.count ? inputs.available.choiceValues[family] : .nan
            }
            row[customerCount + offset] = value
        }
    }
}
