/// How a customer and a product family become the model's feature vector.
///
/// The customer part is a fixed list of the profiles service's numeric dimensions (the ones that
/// describe wealth, activity, interests and relationship; the long tail of near-duplicates is
/// left out to keep training fast), then three features of the (customer, family) pair: the family
/// itself, whether the family is what the customer viewed most in the last 90 days, and whether it
/// is the family the customer holds most of. A model stores its feature names, so a replica scores
/// with exactly the features it was trained on.
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

    static let pairFeatures = ["family", "viewed_family_90d", "holds_family_most"]

    /// The customer dimensions this space reads, in order, then the pair features.
    let names: [String]
    let customerCount: Int

    /// The space over the dimensions the replica knows (a name profiles does not have is dropped).
    init(knownDimensions: Set<String>) {
        let customer = Self.customerDimensions.filter { knownDimensions.contains($0) }
        self.init(names: customer + Self.pairFeatures)
    }

    /// A stored model's space.
    init(names: [String]) {
        self.names = names
        self.customerCount = max(0, names.count - Self.pairFeatures.count)
    }

    var count: Int { names.count }

    /// Writes the pair features for `family` after the customer part already in `row`.
    func fillPair(_ row: inout [Float], family: Int, mostViewedType: String?, largestFamily: String?) {
        row[customerCount] = Float(family)
        row[customerCount + 1] = mostViewedType?.uppercased() == ProductFamilies.typeNames[family] ? 1 : 0
        row[customerCount + 2] = largestFamily == ProductFamilies.familyNames[family] ? 1 : 0
    }
}
