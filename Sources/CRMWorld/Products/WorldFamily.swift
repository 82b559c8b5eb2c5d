import CRMProtos

/// A product family: one product type of the products service, as the profiles service's product
/// dimensions group them (`ProductFamily` there; the same order and the same names, so the
/// generator's observable state and the service's dimensions speak of the same things). The
/// purchase law draws a family first, then a product within it.
public enum WorldFamily: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case moneyMarketFund, bondFund, mixedFund, equityFund, indexFund, qdiiFund
    case bond, assetManagement, structuredNote, advisoryPackage

    /// The family of a product type; nil for UNSPECIFIED or unknown values.
    public init?(_ type: Crm_Products_V1_ProductType) {
        switch type {
        case .fundMoneyMarket: self = .moneyMarketFund
        case .fundBond: self = .bondFund
        case .fundMixed: self = .mixedFund
        case .fundEquity: self = .equityFund
        case .fundIndex: self = .indexFund
        case .fundQdii: self = .qdiiFund
        case .bond: self = .bond
        case .assetManagement: self = .assetManagement
        case .structuredNote: self = .structuredNote
        case .advisoryPackage: self = .advisoryPackage
        default: return nil
        }
    }

    /// The products service's type.
    public var productType: Crm_Products_V1_ProductType {
        switch self {
        case .moneyMarketFund: return .fundMoneyMarket
        case .bondFund: return .fundBond
        case .mixedFund: return .fundMixed
        case .equityFund: return .fundEquity
        case .indexFund: return .fundIndex
        case .qdiiFund: return .fundQdii
        case .bond: return .bond
        case .assetManagement: return .assetManagement
        case .structuredNote: return .structuredNote
        case .advisoryPackage: return .advisoryPackage
        }
    }

    /// The type as the products service spells it (`FUND_BOND`): what views and positions carry in
    /// `product_type`, and the value of the `most_viewed_product_type_90d` dimension.
    public var productTypeName: String {
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
        }
    }

    /// The profiles service's snake_case family name (`bond_fund`): the value of the
    /// `largest_product_type` dimension and the suffix of `product_value_<family>`.
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
        }
    }

    public var description: String { name }

    /// The investment variety products of this family belong to.
    var variety: Crm_Products_V1_InvestmentVariety {
        switch self {
        case .moneyMarketFund: return .depositsAndMoneyMarket
        case .bondFund, .mixedFund, .equityFund, .indexFund, .qdiiFund: return .funds
        case .bond: return .bonds
        case .assetManagement: return .assetManagement
        case .structuredNote: return .structured
        case .advisoryPackage: return .advisory
        }
    }

    /// The families in the order of their type names, so that the first of a tie is the smallest
    /// name: the tie-break of `most_viewed_product_type_90d`.
    static let byTypeName: [WorldFamily] = allCases.sorted { $0.productTypeName < $1.productTypeName }
}
