import CRMProtos

/// When a product gets a new version, and what that version is. Pure: no I/O.
///
/// A version is the product's content: every field a caller sets. `version` and `updated_at` are
/// the service's bookkeeping and never count as a change, so re-sending the current product is a
/// no-op rather than a new version.
enum ProductVersioning {
    /// The caller-settable content of `product`: bookkeeping and unknown fields dropped, and an
    /// absent minimum purchase, fee table or return range made explicit zeros (as the store reads
    /// them back).
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
            $0.horizon = product.horizon
            $0.variety = product.variety
            $0.expectedReturn = .with {
                $0.lowBp = product.expectedReturn.lowBp
                $0.highBp = product.expectedReturn.highBp
            }
            $0.fees = .with {
                $0.subscriptionBp = product.fees.subscriptionBp
                $0.redemptionBp = product.fees.redemptionBp
                $0.managementBp = product.fees.managementBp
                $0.custodyBp = product.fees.custodyBp
            }
            $0.salesRebateBp = product.salesRebateBp
            if product.hasSalesWindow {
                let window = product.salesWindow
                $0.salesWindow = .with {
                    if window.hasStart { $0.start = .init(year: window.start.year, month: window.start.month, day: window.start.day) }
                    if window.hasEnd { $0.end = .init(year: window.end.year, month: window.end.month, day: window.end.day) }
                }
            }
            $0.targetRule = product.targetRule
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
