import CRMProtos
import CRMRPC

/// Row-level access to manager records: pay is private, so a client manager reads only their own
/// record and a branch head only their branch's managers. Head office, services and admins read all.
enum ManagerAccess {
    static func check(_ principal: Principal?, mayRead manager: Crm_Compensation_V1_ClientManager) throws {
        guard let principal else { throw RPCError(.unauthenticated, "a token is required") }
        if principal.isAdmin || principal.roles.contains(CompensationRoles.headOffice)
            || principal.roles.contains(CompensationRoles.service)
        {
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
