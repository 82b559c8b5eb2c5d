import CRMProtos

/// When a product gets a new version, and what that version is. Pure: no I/O.
///
/// A version is the product's content: every field a caller sets. `version` and `updated_at` are
/// the service's bookkeeping and never count as a change, so re-sending the current product is a
/// no-op rather than a new version.
enum ProductVersioning {
    /// The caller-settable content of `product`: bookkeeping and unknown fields dropped, and an
    /// absent minimum purchase made an explicit zero (as the store reads it back).
    static func content(of product: Crm_Products_V1_Product) -> Crm_Products_V1_Product {
        .with {
            $0.productCode = product.productCode
            $0.name = product.name
            $0.issuer = product.issuer
            $0.type = product.type
            $0.riskLevel = product.riskLevel
            $0.status = product.status
            $0.minimumPurchase = .with {
                $0.minorUnits = product.minimumPurchase.minorUnits
                $0.currency = product.minimumPurchase.currency
            }
            $0.tags = product.tags
        }
    }

    /// True when storing `incoming` over `current` would change what callers see.
    static func hasChanges(from current: Crm_Products_V1_Product, to incoming: Crm_Products_V1_Product) -> Bool {
        content(of: current) != content(of: incoming)
    }

    /// 1 for a new product, else one more than the current version.
    static func nextVersion(after current: UInt32?) -> UInt32 {
        (current ?? 0) + 1
    }

    /// The time a new version takes effect: now, but never before the previous version, so history
    /// stays ordered by time even when the wall clock steps back.
    static func changeTime(now: Int64, previous: Int64?) -> Int64 {
        max(now, previous ?? now)
    }
}
