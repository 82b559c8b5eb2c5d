import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB

/// # ProductsService
///
/// The product library: every fund, bond and note the firm sells, with the suitability attributes
/// (risk level, status) that matching and compensation depend on. Every change is kept as a new
/// version, so "what was this product's risk level when it was sold" stays answerable. This library
/// holds the service's store, its pure domain rules and its RPC handlers; the `crm-products`
/// executable only runs it.
public struct ProductsService: CRMService {
    public static let name = "products"
    public static let defaultPort = 7102
    public static var migrator: DatabaseMigrator { ProductsSchema.migrator }

    let products: ProductStore

    public init(context: ServiceContext) throws {
        self.products = ProductStore(database: context.database)
    }

    public func register(into router: inout Router) {
        ProductHandlers(store: products).register(into: &router)
    }
}

/// The roles the products service's methods allow.
enum ProductsRoles {
    /// The product team maintaining the library.
    static let productAdmin = "product-admin"
    /// Head-office analytics and operations: sees and changes everything.
    static let headOffice = "head-office"
    /// The public website showing products to customers.
    static let website = "website"
    /// A client manager's workbench.
    static let workbench = "workbench"
    /// Other services (matching, compensation) reading products.
    static let service = "service"
}
