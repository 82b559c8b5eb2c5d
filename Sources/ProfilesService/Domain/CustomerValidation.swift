import CRMPrimitives
import CRMProtos

/// The rules a customer record must satisfy before it is stored. Pure: no I/O.
enum CustomerValidation {
    static let maxIDLength = 64

    /// Every violated field of `customer`, named by its path under `prefix`.
    static func violations(of customer: Crm_Profiles_V1_Customer, prefix: String = "customer") -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        if customer.customerID.isEmpty {
            violations.append(Refusal.Field(field: "\(prefix).customer_id", description: "is required"))
        } else if customer.customerID.count > maxIDLength {
            violations.append(Refusal.Field(field: "\(prefix).customer_id", description: "is longer than \(maxIDLength) characters"))
        }
        if customer.kind == .unspecified || !Crm_Profiles_V1_CustomerKind.allCases.contains(customer.kind) {
            violations.append(Refusal.Field(field: "\(prefix).kind", description: "must be INDIVIDUAL or INSTITUTION"))
        }
        if customer.name.trimmingCharacters(in: .whitespaces).isEmpty {
            violations.append(Refusal.Field(field: "\(prefix).name", description: "is required"))
        }
        if customer.status == .unspecified || !Crm_Profiles_V1_AccountStatus.allCases.contains(customer.status) {
            violations.append(Refusal.Field(field: "\(prefix).status", description: "must be one of PROSPECT, NORMAL, FROZEN, REPORTED_LOST, CLOSED"))
        }
        if customer.hasOpenDate, !customer.openDate.isValid {
            violations.append(Refusal.Field(field: "\(prefix).open_date", description: "is not a calendar date"))
        }
        if customer.status != .prospect, customer.status != .unspecified, !customer.hasOpenDate {
            violations.append(Refusal.Field(field: "\(prefix).open_date", description: "is required once an account is opened"))
        }
        return violations
    }
}
