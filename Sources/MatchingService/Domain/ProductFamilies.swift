import CRMProtos

/// The product families the propensity model scores (one per product type), named as the profiles
/// service's dimensions name them: `most_viewed_product_type_90d` holds the type's wire name
/// (FUND_BOND), `largest_product_type` the family's snake_case name (bond_fund).
enum ProductFamilies {
    static let typeNames = [
        "FUND_MONEY_MARKET", "FUND_BOND", "FUND_MIXED", "FUND_EQUITY", "FUND_INDEX", "FUND_QDII",
        "BOND", "ASSET_MANAGEMENT", "STRUCTURED_NOTE", "ADVISORY_PACKAGE",
    ]
    static let familyNames = [
        "money_market_fund", "bond_fund", "mixed_fund", "equity_fund", "index_fund", "qdii_fund",
        "bond", "asset_management", "structured_note", "advisory_package",
    ]
    static var count: Int { typeNames.count }

    /// The family of a product type; nil for an unspecified or unknown type.
    static func family(of type: Crm_Products_V1_ProductType) -> Int? {
        let raw = type.rawValue
        return (1...count).contains(raw) ? raw - 1 : nil
    }

    static func typeName(_ type: Crm_Products_V1_ProductType) -> String {
        family(of: type).map { typeNames[$0] } ?? "UNSPECIFIED"
    }
}
