import CRMPrimitives
import CRMProtos
import CRMRules
import Foundation

/// The rules a product must satisfy before it is stored. Pure: no I/O.
enum ProductValidation {
    static let maxCodeLength = 32
    /// Expected returns beyond these bounds (-100% … +1000% a year) are typing mistakes.
    static let returnBounds: ClosedRange<Int32> = -10_000...100_000
    static let maxRateBp: UInt32 = 10_000

    /// Every violated field of `product`, named by its path under `prefix`.
    static func violations(of product: Crm_Products_V1_Product, prefix: String = "product") -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        func add(_ field: String, _ description: String) {
            violations.append(Refusal.Field(field: "\(prefix).\(field)", description: description))
        }
        if let problem = codeProblem(product.productCode) { add("product_code", problem) }
        if product.name.trimmingCharacters(in: .whitespaces).isEmpty { add("name", "is required") }
        if product.type == .unspecified || !Crm_Products_V1_ProductType.allCases.contains(product.type) {
            add("type", "must be a known product type")
        }
        if product.riskLevel == .unspecified || !Crm_Common_V1_RiskLevel.allCases.contains(product.riskLevel) {
            add("risk_level", "must be one of R1, R2, R3, R4, R5")
        }
        if product.status == .unspecified || !Crm_Products_V1_ProductStatus.allCases.contains(product.status) {
            add("status", "must be one of DRAFT, PRE_SALE, ON_SALE, SUSPENDED, CLOSED")
        }
        if !Crm_Products_V1_InvestmentHorizon.allCases.contains(product.horizon) {
            add("horizon", "must be a known investment horizon")
        }
        if !Crm_Products_V1_InvestmentVariety.allCases.contains(product.variety) {
            add("variety", "must be a known investment variety")
        }
        if product.minimumPurchase.minorUnits < 0 { add("minimum_purchase.minor_units", "must not be negative") }
        if let problem = MoneyText.currencyProblem(product.minimumPurchase.currency) { add("minimum_purchase.currency", problem) }
        if product.hasExpectedReturn {
            let range = product.expectedReturn
            if !returnBounds.contains(range.lowBp) { add("expected_return.low_bp", "must be within \(returnBounds.lowerBound)..\(returnBounds.upperBound)") }
            if !returnBounds.contains(range.highBp) { add("expected_return.high_bp", "must be within \(returnBounds.lowerBound)..\(returnBounds.upperBound)") }
            if range.lowBp > range.highBp { add("expected_return", "low_bp \(range.lowBp) is above high_bp \(range.highBp)") }
        }
        let fees = product.fees
        for (name, value) in [("subscription_bp", fees.subscriptionBp), ("redemption_bp", fees.redemptionBp),
                              ("management_bp", fees.managementBp), ("custody_bp", fees.custodyBp)] where value > maxRateBp {
            add("fees.\(name)", "must be at most \(maxRateBp) (100%)")
        }
        if product.salesRebateBp > maxRateBp { add("sales_rebate_bp", "must be at most \(maxRateBp) (100%)") }
        if product.hasSalesWindow {
            let window = product.salesWindow
            if window.hasStart, !window.start.isValid { add("sales_window.start", "is not a calendar date") }
            if window.hasEnd, !window.end.isValid { add("sales_window.end", "is not a calendar date") }
            if window.hasStart, window.hasEnd, window.start.isValid, window.end.isValid, window.start.isoString > window.end.isoString {
                add("sales_window", "starts \(window.start.isoString), after its end \(window.end.isoString)")
            }
        }
        if let problem = targetRuleProblem(product.targetRule) { add("target_rule", problem) }
        for (index, tag) in product.tags.enumerated() where tag.trimmingCharacters(in: .whitespaces).isEmpty {
            add("tags[\(index)]", "must not be empty")
        }
        return violations
    }

    /// Why `code` is not a usable product code, or nil when it is.
    static func codeProblem(_ code: String) -> String? {
        if code.isEmpty { return "is required" }
        if code.count > maxCodeLength { return "is longer than \(maxCodeLength) characters" }
        return nil
    }

    /// The syntax error of a target-customer rule as "position N: reason", or nil when it parses
    /// (or is empty: no rule). Fields are not checked: the customer schema is matching's.
    static func targetRuleProblem(_ text: String) -> String? {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        do {
            _ = try Rule.parse(text)
            return nil
        } catch {
            return error.description
        }
    }
}

/// Money as people read it, and the one currency rule: empty means CNY.
enum MoneyText {
    static func currency(_ money: Crm_Common_V1_Money) -> String {
        money.currency.isEmpty ? "CNY" : money.currency
    }

    /// Why `code` is not an ISO 4217 code (three upper-case letters, or empty for CNY).
    static func currencyProblem(_ code: String) -> String? {
        if code.isEmpty { return nil }
        guard code.count == 3, code.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
            return "must be an ISO 4217 code such as CNY (or empty for CNY)"
        }
        return nil
    }

    /// `1234.56 CNY` for 123456 minor units (two decimals, as for every currency the firm sells in).
    static func text(_ money: Crm_Common_V1_Money) -> String {
        let units = money.minorUnits
        let sign = units < 0 ? "-" : ""
        let magnitude = units.magnitude
        let cents = magnitude % 100
        return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents) \(currency(money))"
    }
}
