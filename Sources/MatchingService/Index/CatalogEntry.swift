import CRMProtos
import CRMRules
import CRMSuitability

/// A product of the replica's copy, ready for matching: its suitability facts, its family and its
/// target rule compiled against the customer schema.
struct CatalogEntry: Sendable {
    let product: Crm_Products_V1_Product
    let facts: SuitabilityProduct
    let family: Int?
    /// nil when the product has no rule (every customer qualifies) or it did not compile.
    let rule: CompiledRule?
    /// Why the rule could not be compiled against the current schema (then nobody qualifies).
    let ruleProblem: String?

    init(product: Crm_Products_V1_Product, schema: RuleSchema) {
        self.product = product
        self.facts = SuitabilityMapping.product(product)
        self.family = ProductFamilies.family(of: product.type)
        let text = product.targetRule.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty {
            rule = nil
            ruleProblem = nil
        } else {
            do {
                rule = try Rule.parse(text).compile(against: schema)
                ruleProblem = nil
            } catch {
                rule = nil
                ruleProblem = "\(error)"
            }
        }
    }

    /// On sale on `today` (Beijing day number): status ON_SALE and inside the sales window.
    func isOnSale(today: Int32) -> Bool {
        guard product.status == .onSale else { return false }
        if product.hasSalesWindow {
            let window = product.salesWindow
            if window.hasStart, window.start.isValid, today < BusinessDays.day(window.start) { return false }
            if window.hasEnd, window.end.isValid, today > BusinessDays.day(window.end) { return false }
        }
        return true
    }
}

import Foundation
