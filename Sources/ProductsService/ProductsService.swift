import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB
import ServiceLifecycle

/// # ProductsService
///
/// The product library and the place where sales happen: every fund, bond, note and advisory package
/// the firm sells, with the suitability attributes (risk level, horizon, variety), sales status and
/// window, fees and rebate that matching and compensation depend on; contract templates and signed,
/// verifiable e-contracts; orders, each admitted only after matching's suitability decision; advisory
/// package subscriptions; and a change feed of all of it.
///
/// Every product change is kept as a new version, so "what was this product's risk level when it was
/// sold" stays answerable. The catalogue is held in memory (built from the store at start-up, updated
/// on each write) so catalogue queries never touch the store.
///
/// Peers: `matching` (the suitability gate of every order) and `profiles` (whose customers a client
/// manager's workbench may sell to and read the sales of).
///
/// The change feed's StreamChanges may wait for a change (`wait_ms`): followers hold one call open
/// instead of polling.
///
/// Settings (`settings` in the configuration file):
/// - `suitability.timeout_ms`: how long an order waits for matching's decision (default 3000).
public struct ProductsService: CRMService {
    public static let name = "products"
    public static let defaultPort = 7102
    public static var migrator: DatabaseMigrator { ProductsSchema.migrator }

    let products: ProductStore
    let contracts: ContractStore
    let orders: OrderStore
    let catalogue: Catalogue
    let gate: any SuitabilityGate
    let access: SalesAccess
    let database: DatabasePool
    let orderMetrics: OrderMetrics
    /// Commits to the change feed, for StreamChanges calls that wait (`wait_ms`).
    let feedCommits = FeedCommits(tables: ["change_log"])

    public init(context: ServiceContext) throws {
        self.database = context.database
        self.products = ProductStore(database: context.database)
        self.contracts = ContractStore(database: context.database)
        self.orders = OrderStore(database: context.database)
        self.catalogue = Catalogue(products: try products.allCurrent())
        let settings = try ProductsSettings(context.configuration.settings)
        let orderMetrics = OrderMetrics(context.metrics)
        self.orderMetrics = orderMetrics
        self.gate = MatchingSuitabilityGate(client: context.peers["matching"], timeoutMilliseconds: Int64(settings.suitabilityTimeoutMilliseconds),
                                            logger: context.logger, metrics: orderMetrics)
        self.access = SalesAccess(profiles: context.peers["profiles"])
        feedCommits.observe(context.database)
    }

    public func register(into router: inout Router) {
        ProductHandlers(store: products, catalogue: catalogue).register(into: &router)
        ContractHandlers(products: products, contracts: contracts, access: access).register(into: &router)
        OrderHandlers(products: products, contracts: contracts, orders: orders, gate: gate, access: access, metrics: orderMetrics).register(into: &router)
        FeedHandlers(database: database, commits: feedCommits).register(into: &router)
    }

    /// Ends held feed reads at shutdown.
    public func backgroundServices() -> [any Service] {
        [FeedCommitsCloser(feedCommits)]
    }

    public func healthDetails() async -> [String: String] {
        ["products": "\(catalogue.count)"]
    }
}

/// The roles the products service's methods allow (``Principal/adminRole`` may call everything).
enum ProductsRoles {
    /// The product team maintaining the library.
    static let productAdmin = "product-admin"
    /// Head-office analytics and operations: sees and changes everything.
    static let headOffice = "head-office"
    /// The public website and app showing products to customers and taking their orders.
    static let website = "website"
    /// A client manager's workbench.
    static let workbench = "workbench"
    /// Other services (matching, compensation) reading products and the feed.
    static let service = "service"

    /// Products and contract templates.
    static let libraryWriters = AccessPolicy.roles(productAdmin, headOffice)
    /// The library and the catalogue.
    static let libraryReaders = AccessPolicy.roles(website, workbench, headOffice, service, productAdmin)
    /// Signing contracts, placing orders, subscribing to packages.
    static let sellers = AccessPolicy.roles(website, workbench, headOffice)
    /// Reading and verifying one contract or order.
    static let salesReaders = AccessPolicy.roles(website, workbench, headOffice, service)
    /// The change feed.
    static let feedReaders = AccessPolicy.roles(service, headOffice)
}
