import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB

/// # ProfilesService
///
/// The customer 360° view: every customer the firm knows of, in every account state. This library
/// holds the service's store, its pure domain rules and its RPC handlers; the `crm-profiles`
/// executable only runs it.
public struct ProfilesService: CRMService {
    public static let name = "profiles"
    public static let defaultPort = 7101
    public static var migrator: DatabaseMigrator { ProfilesSchema.migrator }

    let customers: CustomerStore
    let events: EventStore
    let database: DatabasePool
    let settings: [String: String]

    public init(context: ServiceContext) throws {
        self.database = context.database
        self.customers = CustomerStore(database: context.database)
        self.events = EventStore(database: context.database)
        self.settings = context.configuration.settings
    }

    public func register(into router: inout Router) {
        let validity = Int32(settings["assessment.validity_years"] ?? "") ?? 2
        CustomerHandlers(store: customers, assessmentValidityYears: validity).register(into: &router)
        IngestionHandlers(events: events, onIngested: {}).register(into: &router)
        FeedHandlers(database: database).register(into: &router)
    }
}

/// The roles the profiles service's methods allow.
enum ProfilesRoles {
    /// The trading system, the website and the service desk feeding data in.
    static let ingest = "ingest"
    /// A client manager's workbench: sees only that manager's customers.
    static let manager = "manager"
    /// Head-office analytics and operations: sees everything.
    static let headOffice = "head-office"
    /// Other services reading the change feed and customer data.
    static let service = "service"
}
