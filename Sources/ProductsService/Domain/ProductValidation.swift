import CRMProtos
import CRMRPC
import Foundation

/// The rules a product must satisfy before it is stored. Pure: no I/O.
enum ProductValidation {
    static let maxCodeLength = 32

    /// Every violated field of `product`, named by its path under `prefix`.
    static func violations(of product: Crm_Products_V1_Product, prefix: String = "product") -> [FieldViolation] {
        var violations: [FieldViolation] = []
        if let problem = codeProblem(product.productCode) {
            violations.append(FieldViolation(field: "\(prefix).product_code", description: problem))
        }
        if product.name.trimmingCharacters(in: .whitespaces).isEmpty {
            violations.append(FieldViolation(field: "\(prefix).name", description: "is required"))
        }
        if product.type == .unspecified || !Crm_Products_V1_ProductType.allCases.contains(product.type) {
            violations.append(FieldViolation(field: "\(prefix).type", description: "must be a known product type"))
        }
        if product.riskLevel == .unspecified || !Crm_Common_V1_RiskLevel.allCases.contains(product.riskLevel) {
            violations.append(FieldViolation(field: "\(prefix).risk_level", description: "must be one of R1, R2, R3, R4, R5"))
        }
        if product.status == .unspecified || !Crm_Products_V1_ProductStatus.allCases.contains(product.status) {
            violations.append(FieldViolation(field: "\(prefix).status", description: "must be one of DRAFT, PRE_SALE, ON_SALE, SUSPENDED, CLOSED"))
        }
        if product.minimumPurchase.minorUnits < 0 {
            violations.append(FieldViolation(field: "\(prefix).minimum_purchase.minor_units", description: "must not be negative"))
        }
        return violations
    }

    /// Why `code` is not a usable product code, or nil when it is.
    static func codeProblem(_ code: String) -> String? {
        if code.isEmpty { return "is required" }
        if code.count > maxCodeLength { return "is longer than \(maxCodeLength) characters" }
        return nil
    }
}
