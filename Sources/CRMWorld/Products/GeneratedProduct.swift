import CRMProtos

/// A product of the library: the record for `UpsertProduct`, its contract template, and what the
/// purchase law needs to know of it (its family, popularity and when it can be bought).
public struct GeneratedProduct: Sendable {
    /// Position in ``World/products``.
    public let index: Int
    /// A valid `crm.products.v1.Product` (version and updated_at left to the service).
    public let record: Crm_Products_V1_Product
    /// The template customers sign before ordering (for `PutContractTemplate`).
    public let contractTemplate: Crm_Products_V1_ContractTemplate
    public let family: WorldFamily
    /// The popularity weight w_p (long-tailed): given a purchase in the family, the product is drawn
    /// with probability w_p / Σ w_q over the family's products on sale that month that match the
    /// customer.
    public let popularity: Double
    /// The first purchase month (0-based) in which the product is on sale for the whole month; nil
    /// when it is never bought in the generated year (closed, suspended, pre-sale, draft).
    public let firstPurchaseMonth: Int?

    public var code: String { record.productCode }

    /// Whether the product is on sale for the whole of purchase month `month`: ON_SALE now, with a
    /// sales window that had opened by the month's first day and lasts past today.
    public func isPurchasable(inMonth month: Int) -> Bool {
        firstPurchaseMonth.map { month >= $0 } ?? false
    }
}

/// The compact facts of a product the simulation reads in its inner loops.
struct ProductFacts: Sendable {
    let family: WorldFamily
    /// R1…R5 as 1…5.
    let risk: Int
    /// The product's horizon as the enum's raw value, 1…4.
    let horizon: Int
    /// The product's variety as the enum's raw value, 1…8.
    let variety: Int
    let popularity: Double
    let minimumFen: Int64
    /// The middle of the expected-return range, as a yearly fraction.
    let expectedReturnMid: Double
    let firstPurchaseMonth: Int?
    /// The first day the product's page can be viewed; nil when it never can (draft, closed).
    let visibleFrom: WorldDay?
    /// Whether customers hold it as an asset (an advisory package is a service, not a holding).
    var isHeldAsAsset: Bool { family != .advisoryPackage }
}
