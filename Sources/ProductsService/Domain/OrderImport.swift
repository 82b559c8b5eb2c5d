import CRMPrimitives
import CRMProtos

/// The rules for an order imported from the previous system's history (see ImportOrders in the
/// proto): the shape of a placed order, plus what the old system must have recorded. Pure.
enum OrderImport {
    static let maxBatch = 10_000

    /// Every violated field of the order at `index` (paths under `orders[index].`).
    static func violations(of order: Crm_Products_V1_Order, index: Int, nowMillis: Int64) -> [Refusal.Field] {
        var violations = OrderValidation.violations(of: order).map {
            Refusal.Field(field: "orders[\(index)]" + $0.field.dropFirst("order".count), description: $0.description)
        }
        func add(_ field: String, _ description: String) {
            violations.append(Refusal.Field(field: "orders[\(index)].\(field)", description: description))
        }
        if !order.hasAcceptedAt {
            add("accepted_at", "is required for an imported order")
        } else if order.acceptedAt.unixMillis > nowMillis {
            add("accepted_at", "is in the future")
        }
        switch order.side {
        case .subscription:
            if order.suitability != .match && order.suitability != .mismatchConfirmed {
                add("suitability", "a subscription records MATCH or MISMATCH_CONFIRMED as decided when it was sold")
            }
            if order.suitabilityRuleVersion.isEmpty { add("suitability_rule_version", "is required for a subscription") }
        case .redemption:
            if order.suitability != .notChecked && order.suitability != .unspecified {
                add("suitability", "a redemption is NOT_CHECKED")
            }
        default:
            break
        }
        return violations
    }

    /// The order as stored: the caller's content and its recorded history, the current product version.
    static func stored(_ order: Crm_Products_V1_Order, productVersion: UInt32) -> Crm_Products_V1_Order {
        var stored = OrderValidation.content(of: order)
        stored.contractID = order.contractID
        stored.productVersion = productVersion
        stored.suitability = order.side == .redemption ? .notChecked : order.suitability
        stored.suitabilityReasons = order.suitabilityReasons
        stored.suitabilityRuleVersion = order.suitabilityRuleVersion
        stored.acceptedAt = order.acceptedAt
        return stored
    }
}
