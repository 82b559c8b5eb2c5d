import CRMPrimitives
import CRMProtos

/// Whether a product may be sold today, and whether an order's amount suits it. Pure: no I/O; the
/// caller passes the product as stored and today's Beijing date.
enum SaleRules {
    /// Throws the refusal of the first rule `order` breaks against `product` on `today`:
    /// not on sale or outside the sales window (FAILED_PRECONDITION, `order.product_code`), another
    /// currency than the product's (INVALID_ARGUMENT, `order.amount.currency`), a subscription below
    /// the minimum purchase (INVALID_ARGUMENT, `order.amount.minor_units`).
    static func check(_ order: Crm_Products_V1_Order, against product: Crm_Products_V1_Product, today: Crm_Common_V1_Date) throws {
        try checkOnSale(product, today: today, field: "order.product_code")
        let currency = MoneyText.currency(product.minimumPurchase)
        guard MoneyText.currency(order.amount) == currency else {
            throw Refusal.invalidArgument(field: "order.amount.currency", "must be \(currency), the currency of product \(product.productCode)")
        }
        if order.side == .subscription, order.amount.minorUnits < product.minimumPurchase.minorUnits {
            throw Refusal.invalidArgument(
                field: "order.amount.minor_units",
                "\(MoneyText.text(order.amount)) is below the minimum purchase of \(MoneyText.text(product.minimumPurchase)) for product \(product.productCode)"
            )
        }
    }

    /// Throws FAILED_PRECONDITION naming `field` unless `product` is ON_SALE and `today` lies
    /// within its sales window (both ends included).
    static func checkOnSale(_ product: Crm_Products_V1_Product, today: Crm_Common_V1_Date, field: String) throws {
        guard product.status == .onSale else {
            throw Refusal.refused(.failedPrecondition, field: field, "product \(product.productCode) is \(product.status.name), not ON_SALE")
        }
        guard product.hasSalesWindow else { return }
        let window = product.salesWindow
        let day = today.isoString
        if window.hasStart, day < window.start.isoString {
            throw Refusal.refused(.failedPrecondition, field: field, "sales of product \(product.productCode) open on \(window.start.isoString) (today is \(day))")
        }
        if window.hasEnd, day > window.end.isoString {
            throw Refusal.refused(.failedPrecondition, field: field, "sales of product \(product.productCode) closed after \(window.end.isoString) (today is \(day))")
        }
    }
}
