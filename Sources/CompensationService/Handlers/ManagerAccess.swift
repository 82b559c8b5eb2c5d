import CRMProtos
import CRMRPC

/// Row-level access to manager records: pay is private, so a client manager reads only their own
/// record and a branch head only their branch's managers. Head office, services and admins read all.
enum ManagerAccess {
    /// Head office, services and operators read every record.
    static func seesEverything(_ principal: Principal) -> Bool {
        principal.isAdmin || principal.roles.contains(CompensationRoles.headOffice) || principal.roles.contains(CompensationRoles.service)
    }

    /// What a caller learns about a manager id that does not exist: NOT_FOUND for those who read
    /// every record, the same PERMISSION_DENIED as for a record outside their scope for the others,
    /// so a manager or branch head cannot learn which ids exist.
    static func missing(_ managerID: String, for principal: Principal?) -> RPCError {
        if let principal, !seesEverything(principal) {
            return RPCError(.permissionDenied, "\(principal.name) may not read manager \(managerID)")
        }
        return RPCError(.notFound, "no manager \(managerID)")
    }

    static func check(_ principal: Principal?, mayRead manager: Crm_Compensation_V1_ClientManager) throws {
        guard let principal else { throw RPCError(.unauthenticated, "a token is required") }
        if seesEverything(principal) {
            return
        }
        if principal.roles.contains(CompensationRoles.manager),
            let managerID = principal.attributes["manager_id"], managerID == manager.managerID
        {
            return
        }
        if principal.roles.contains(CompensationRoles.branchHead),
            let branchID = principal.attributes["branch_id"], branchID == manager.branchID
        {
            return
        }
        throw RPCError(.permissionDenied, "\(principal.name) may not read manager \(manager.managerID)")
    }
}
