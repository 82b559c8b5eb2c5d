import CRMPrimitives
import CRMProtos
import Foundation

/// The rules a client manager record must satisfy before it is stored. Pure: no I/O.
enum ManagerValidation {
    static let maxIDLength = 64

    /// Every violated field of `manager`, named by its path under `prefix`.
    static func violations(of manager: Crm_Compensation_V1_ClientManager, prefix: String = "manager") -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        if let problem = idProblem(manager.managerID) {
            violations.append(Refusal.Field(field: "\(prefix).manager_id", description: problem))
        }
        if manager.name.trimmingCharacters(in: .whitespaces).isEmpty {
            violations.append(Refusal.Field(field: "\(prefix).name", description: "is required"))
        }
        if manager.branchID.trimmingCharacters(in: .whitespaces).isEmpty {
            violations.append(Refusal.Field(field: "\(prefix).branch_id", description: "is required"))
        }
        if manager.status == .unspecified || !Crm_Compensation_V1_ManagerStatus.allCases.contains(manager.status) {
            violations.append(Refusal.Field(field: "\(prefix).status", description: "must be one of ACTIVE, SUSPENDED, LEFT"))
        }
        if manager.hasLeftOn, manager.status != .left {
            violations.append(Refusal.Field(field: "\(prefix).left_on", description: "only a manager who has LEFT has a last working day"))
        }
        return violations
    }

    /// Why `id` is not a usable manager id, or nil when it is.
    static func idProblem(_ id: String) -> String? {
        if id.isEmpty { return "is required" }
        if id.count > maxIDLength { return "is longer than \(maxIDLength) characters" }
        return nil
    }
}
