import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB

/// # CompensationService
///
/// What client managers are paid: the managers themselves (branch, team, grade), who serves which
/// customer, commission rules and the monthly settlement. Pay is private, so reads are scoped: a
/// manager sees only their own record, a branch head only their branch's. This library holds the
/// service's store, its pure domain rules and its RPC handlers; the `crm-compensation` executable
/// only runs it.
public struct CompensationService: CRMService {
    public static let name = "compensation"
    public static let defaultPort = 7104
    public static var migrator: DatabaseMigrator { CompensationSchema.migrator }

    let managers: ManagerStore

    public init(context: ServiceContext) throws {
        self.managers = ManagerStore(database: context.database)
    }

    public func register(into router: inout Router) {
        ManagerHandlers(store: managers).register(into: &router)
    }
}

/// The roles the compensation service's methods allow.
enum CompensationRoles {
    /// Human resources maintaining the manager roster.
    static let hr = "hr"
    /// Head-office analytics and operations: sees everything.
    static let headOffice = "head-office"
    /// A branch head: sees the managers of their branch (`branch_id` attribute).
    static let branchHead = "branch-head"
    /// A client manager: sees only their own record (`manager_id` attribute).
    static let manager = "manager"
    /// Other services reading managers.
    static let service = "service"
}
