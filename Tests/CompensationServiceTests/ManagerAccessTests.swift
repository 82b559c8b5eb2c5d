import CRMProtos
import CRMRPC
import Testing
@testable import CompensationService

/// Row-level access to manager records, including ids that do not exist.
@Suite struct ManagerAccessTests {
    @Test func scopedCallersCannotTellAMissingIDFromSomeoneElses() {
        let manager = Principal(name: "manager:M1", roles: [CompensationRoles.manager], attributes: ["manager_id": "M1"])
        let office = Principal(name: "head-office", roles: [CompensationRoles.headOffice])
        #expect(ManagerAccess.missing("M404", for: manager).code == .permissionDenied)
        #expect(ManagerAccess.missing("M404", for: office).code == .notFound)
        let other = Crm_Compensation_V1_ClientManager.with { $0.managerID = "M2"; $0.branchID = "B01" }
        do {
            try ManagerAccess.check(manager, mayRead: other)
            Issue.record("a manager read another manager's record")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
            #expect(error.message == ManagerAccess.missing("M2", for: manager).message)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
