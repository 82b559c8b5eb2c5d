import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB

/// # MatchingService
///
/// Who should be offered what: suitability decisions, target customers, recommendations and the
/// marketing campaigns that carry them. It reads customers from profiles and products from products
/// over RPC, never from their stores. This library holds the service's store, its pure domain rules
/// and its RPC handlers; the `crm-matching` executable only runs it, possibly as several replicas,
/// each with its own store.
public struct MatchingService: CRMService {
    public static let name = "matching"
    public static let defaultPort = 7103
    public static var migrator: DatabaseMigrator { MatchingSchema.migrator }

    let campaigns: CampaignStore

    public init(context: ServiceContext) throws {
        self.campaigns = CampaignStore(database: context.database)
    }

    public func register(into router: inout Router) {
        CampaignHandlers(store: campaigns).register(into: &router)
    }
}

/// The roles the matching service's methods allow.
enum MatchingRoles {
    /// The marketing team creating and running campaigns.
    static let marketing = "marketing"
    /// Head-office analytics and operations: sees and changes everything.
    static let headOffice = "head-office"
    /// A client manager's workbench, reading the campaigns it is asked to work.
    static let workbench = "workbench"
    /// Other services reading campaigns.
    static let service = "service"
}
