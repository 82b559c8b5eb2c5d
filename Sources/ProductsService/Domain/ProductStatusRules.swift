import CRMPrimitives
import CRMProtos

/// Which product-status changes are allowed. Pure: no I/O.
///
/// A draft goes to pre-sale or straight on sale (or is dropped, closed); pre-sale opens or is
/// suspended; a product on sale is suspended and resumed; closed is final. A new product may start in
/// any status (loading an existing library). Everything else is FAILED_PRECONDITION.
enum ProductStatusRules {
    typealias Status = Crm_Products_V1_ProductStatus

    static let allowed: [Status: Set<Status>] = [
        .draft: [.preSale, .onSale, .closed],
        .preSale: [.onSale, .suspended, .closed],
        .onSale: [.suspended, .closed],
        .suspended: [.onSale, .closed],
        .closed: [],
    ]

    static func isAllowed(from: Status, to: Status) -> Bool {
        from == to || (allowed[from]?.contains(to) ?? false)
    }

    /// Throws FAILED_PRECONDITION naming both statuses when the change is not allowed.
    static func check(from: Status, to: Status, productCode: String) throws {
        guard !isAllowed(from: from, to: to) else { return }
        let options = (allowed[from] ?? []).map(\.name).sorted().joined(separator: ", ")
        throw Refusal.refused(
            .failedPrecondition,
            field: "product.status",
            "product \(productCode) is \(from.name); it cannot become \(to.name) (allowed: \(options.isEmpty ? "none, the product is closed" : options))"
        )
    }
}

extension Crm_Products_V1_ProductStatus {
    /// The wire name: DRAFT, PRE_SALE, ON_SALE, SUSPENDED, CLOSED.
    var name: String {
        switch self {
        case .unspecified: return "PRODUCT_STATUS_UNSPECIFIED"
        case .draft: return "DRAFT"
        case .preSale: return "PRE_SALE"
        case .onSale: return "ON_SALE"
        case .suspended: return "SUSPENDED"
        case .closed: return "CLOSED"
        case let .UNRECOGNIZED(value): return "STATUS_\(value)"
        }
    }
}
