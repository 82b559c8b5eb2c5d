import CRMPrimitives
import CRMProtos

/// The shape of an order before anything is looked up, and what makes two orders "the same" for
/// idempotency. Pure: no I/O.
enum OrderValidation {
    static let maxIDLength = 64

    /// Every violated field of `order` (paths under `order.`).
    static func violations(of order: Crm_Products_V1_Order) -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        func add(_ field: String, _ description: String) {
            violations.append(Refusal.Field(field: "order.\(field)", description: description))
        }
        if order.orderID.isEmpty { add("order_id", "is required") } else if order.orderID.count > maxIDLength {
            add("order_id", "is longer than \(maxIDLength) characters")
        }
        if order.customerID.isEmpty { add("customer_id", "is required") }
        if let problem = ProductValidation.codeProblem(order.productCode) { add("product_code", problem) }
        if order.side != .subscription, order.side != .redemption { add("side", "must be SUBSCRIPTION or REDEMPTION") }
        if !order.hasAmount {
            add("amount", "is required")
        } else {
            if order.amount.minorUnits <= 0 { add("amount.minor_units", "must be greater than zero") }
            if let problem = MoneyText.currencyProblem(order.amount.currency) { add("amount.currency", problem) }
        }
        if order.channel == .unspecified || !Crm_Products_V1_SalesChannel.allCases.contains(order.channel) {
            add("channel", "must be one of WEBSITE, APP, BRANCH, CLIENT_MANAGER")
        }
        if order.channel == .clientManager, order.managerID.isEmpty {
            add("manager_id", "is required for the CLIENT_MANAGER channel")
        }
        return violations
    }

    /// The caller's part of an order (the service's fields cleared, the currency made explicit):
    /// two requests with equal content are the same order.
    static func content(of order: Crm_Products_V1_Order) -> Crm_Products_V1_Order {
        .with {
            $0.orderID = order.orderID
            $0.customerID = order.customerID
            $0.productCode = order.productCode
            $0.side = order.side
            $0.amount = .with {
                $0.minorUnits = order.amount.minorUnits
                $0.currency = MoneyText.currency(order.amount)
            }
            $0.channel = order.channel
            $0.managerID = order.managerID
        }
    }

    /// A client manager's workbench (`own`: its manager) credits only its own manager: an empty
    /// `manager_id` becomes theirs, another manager's is PERMISSION_DENIED. Head office, the website
    /// and operators (`own` nil) credit whoever the order names.
    static func applyCrediting(_ order: inout Crm_Products_V1_Order, own: String?) throws {
        guard let own else { return }
        if order.managerID.isEmpty {
            order.managerID = own
        } else if order.managerID != own {
            throw Refusal.refused(.permissionDenied, field: "order.manager_id", "a client manager's workbench may only credit manager \(own)")
        }
    }
}
