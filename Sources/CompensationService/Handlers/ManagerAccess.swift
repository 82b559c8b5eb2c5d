import CompensationSettlement
import CRMProtos
import CRMRPC

/// Row-level access: pay is private, so a client manager reads only their own records (manager,
/// customers, statements, figures) and a branch head only their branch's. Head office, HR, services
/// and admins read all.
enum ManagerAccess {
    /// What a caller may read.
    enum Scope: Sendable, Hashable {
        case everything
        /// The managers of one branch, and what belongs to them.
        case branch(String)
        /// One manager's own records.
        case manager(String)

        /// Whether a manager placed in `branchID` is inside the scope.
        func covers(managerID: String, branchID: String) -> Bool {
            switch self {
            case .everything: return true
            case .branch(let id): return id == branchID
            case .manager(let id): return id == managerID
            }
        }
    }

    /// Head office, HR, services and operators read every record.
    static func seesEverything(_ principal: Principal) -> Bool {
        principal.isAdmin || principal.roles.contains(CompensationRoles.headOffice) || principal.roles.contains(CompensationRoles.service)
            || principal.roles.contains(CompensationRoles.hr)
    }

    /// The caller's scope; a caller with a scoped role but no scope attribute reads nothing.
    static func scope(of principal: Principal?) throws -> Scope {
        guard let principal else { throw RPCError(.unauthenticated, "a token is required") }
        if seesEverything(principal) { return .everything }
        if principal.roles.contains(CompensationRoles.branchHead), let branchID = principal.attributes["branch_id"], !branchID.isEmpty {
            return .branch(branchID)
        }
        if principal.roles.contains(CompensationRoles.manager), let managerID = principal.managerID {
            return .manager(managerID)
        }
        throw RPCError(.permissionDenied, "\(principal.name) has no branch_id or manager_id to scope its reads")
    }

    /// What a caller learns about a manager id that does not exist: NOT_FOUND for those who read
    /// every record, the same PERMISSION_DENIED as for a record outside their scope for the others,
    /// so a manager or branch head cannot learn which ids exist.
    static func missing(_ managerID: String, for principal: Principal?) -> RPCError {
        if let principal, !seesEverything(principal) {
            return denied(managerID, for: principal)
        }
        return RPCError(.notFound, "no manager \(managerID)")
    }

    static func denied(_ managerID: String, for principal: Principal?) -> RPCError {
        RPCError(.permissionDenied, "\(principal?.name ?? "the caller") may not read manager \(managerID)")
    }

    static func check(_ principal: Principal?, mayRead manager: Crm_Compensation_V1_ClientManager) throws {
        let scope = try scope(of: principal)
        guard scope.covers(managerID: manager.managerID, branchID: manager.branchID) else {
            throw denied(manager.managerID, for: principal)
        }
    }
}
