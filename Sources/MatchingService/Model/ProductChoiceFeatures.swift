import CRMSuitability

/// The features of a (customer, product) pair that the within-family choice model reads: how the
/// product sits against the customer's assessment, and how established and how much in demand it
/// is on the day. They depend on the customer only through their suitability facts, so a product's
/// share is computed once per suitability profile, not per customer.
enum ProductChoiceFeatures {
    /// The risk headroom (the customer's tolerance level minus the product's risk level, 0…4 for a
    /// product that MATCHes) enters as one indicator per level above 0, not as a number: how much
    /// room a customer likes to leave need not grow with the room (a product right at the limit and
    /// one far below it may both be less attractive than one a step below).
    static let names = ["risk_headroom_1", "risk_headroom_2", "risk_headroom_3", "risk_headroom_4", "horizon_gap", "log_days_on_sale", "log_sales_30d"]

    /// The values for `customer` and `entry` on `day`, the product having had `recentSales`
    /// subscriptions in the 30 days before.
    static func values(customer: SuitabilityCustomer, entry: CatalogEntry, day: Int32, recentSales: Int) -> [Double] {
        let assessment = customer.assessment
        // A professional investor may buy every risk level: their tolerance is the highest.
        let tolerance = assessment?.investorClass == .professional ? 5 : (assessment?.riskTolerance ?? 0)
        let headroom = Double(tolerance - entry.facts.riskLevel)
        var gap = 0.0
        if let own = assessment?.horizon, let wanted = entry.facts.horizon { gap = Double(own - wanted) }
        var daysOnSale = 365.0
        let window = entry.product.salesWindow
        if entry.product.hasSalesWindow, window.hasStart, window.start.isValid {
            daysOnSale = Double(max(0, day - BusinessDays.day(window.start)))
        }
        return [headroom == 1 ? 1 : 0, headroom == 2 ? 1 : 0, headroom == 3 ? 1 : 0, headroom >= 4 ? 1 : 0,
                gap, (1 + daysOnSale).logarithm, (1 + Double(recentSales)).logarithm]
    }
}

private extension Double {
    var logarithm: Double { Foundation.log(self) }
}

import Foundation
