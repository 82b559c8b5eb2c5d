/// The product types of the products service (crm.products.v1.ProductType), as the product
/// dimensions group them. A daily position names a product's type as text; unknown or missing types
/// count as ``other``.
public enum ProductFamily: Int, Sendable, Hashable, CaseIterable {
    case moneyMarketFund, bondFund, mixedFund, equityFund, indexFund, qdiiFund
    case bond, assetManagement, structuredNote, advisoryPackage, other

    /// The family of a product type as the products service spells it (`FUND_BOND`), any case.
    public init(productType: String) {
        switch productType.uppercased() {
        case "FUND_MONEY_MARKET": self = .moneyMarketFund
        case "FUND_BOND": self = .bondFund
        case "FUND_MIXED": self = .mixedFund
        case "FUND_EQUITY": self = .equityFund
        case "FUND_INDEX": self = .indexFund
        case "FUND_QDII": self = .qdiiFund
        case "BOND": self = .bond
        case "ASSET_MANAGEMENT": self = .assetManagement
        case "STRUCTURED_NOTE": self = .structuredNote
        case "ADVISORY_PACKAGE": self = .advisoryPackage
        default: self = .other
        }
    }

    /// The snake_case name used in dimension names and category values.
    public var name: String {
        switch self {
        case .moneyMarketFund: return "money_market_fund"
        case .bondFund: return "bond_fund"
        case .mixedFund: return "mixed_fund"
        case .equityFund: return "equity_fund"
        case .indexFund: return "index_fund"
        case .qdiiFund: return "qdii_fund"
        case .bond: return "bond"
        case .assetManagement: return "asset_management"
        case .structuredNote: return "structured_note"
        case .advisoryPackage: return "advisory_package"
        case .other: return "other"
        }
    }

    /// The products service's type name(s) of the family, for definitions.
    var productTypeText: String {
        switch self {
        case .moneyMarketFund: return "FUND_MONEY_MARKET"
        case .bondFund: return "FUND_BOND"
        case .mixedFund: return "FUND_MIXED"
        case .equityFund: return "FUND_EQUITY"
        case .indexFund: return "FUND_INDEX"
        case .qdiiFund: return "FUND_QDII"
        case .bond: return "BOND"
        case .assetManagement: return "ASSET_MANAGEMENT"
        case .structuredNote: return "STRUCTURED_NOTE"
        case .advisoryPackage: return "ADVISORY_PACKAGE"
        case .other: return "any other or missing type"
        }
    }

    /// Money-market funds, bond funds and bonds: the fixed-income products.
    var isFixedIncome: Bool { self == .moneyMarketFund || self == .bondFund || self == .bond }

    /// Mixed, equity, index and QDII funds: the products carrying equity risk.
    var isEquityFund: Bool { self == .mixedFund || self == .equityFund || self == .indexFund || self == .qdiiFund }

    /// Asset-management plans, structured notes and advisory packages.
    var isWealthManagement: Bool { self == .assetManagement || self == .structuredNote || self == .advisoryPackage }
}
