import CRMProtos
import CRMRPC
import CRMStore
import GRDB

/// The methods of `crm.products.v1.Products`.
struct ProductHandlers: Sendable {
    let store: ProductStore

    func register(into router: inout Router) {
        router.unary(
            "/crm.products.v1.Products/UpsertProduct",
            Crm_Products_V1_UpsertProductRequest.self,
            policy: .roles(ProductsRoles.productAdmin, ProductsRoles.headOffice)
        ) { request, _ in
            try await upsert(request)
        }
        router.unary(
            "/crm.products.v1.Products/GetProduct",
            Crm_Products_V1_GetProductRequest.self,
            policy: .roles(
                ProductsRoles.website, ProductsRoles.workbench, ProductsRoles.headOffice, ProductsRoles.service,
                ProductsRoles.productAdmin
            )
        ) { request, _ in
            try await get(request)
        }
    }

    func upsert(_ request: Crm_Products_V1_UpsertProductRequest) async throws -> Crm_Products_V1_UpsertProductResponse {
        guard request.hasProduct else { throw RPCError.invalidArgument(field: "product", "is required") }
        let violations = ProductValidation.violations(of: request.product)
        guard violations.isEmpty else { throw RPCError.invalidArguments(violations) }
        do {
            let (stored, created) = try await store.upsert(request.product)
            return .with {
                $0.product = stored
                $0.created = created
            }
        } catch let error as DatabaseError where error.isUniqueViolation {
            // Only another process writing the same file can get here (this one serializes writes):
            // its version won; a retry stores this one on top.
            throw RPCError(.aborted, "product \(request.product.productCode) changed concurrently; retry")
        }
    }

    func get(_ request: Crm_Products_V1_GetProductRequest) async throws -> Crm_Products_V1_GetProductResponse {
        if let problem = ProductValidation.codeProblem(request.productCode) {
            throw RPCError.invalidArgument(field: "product_code", problem)
        }
        guard let product = try await store.product(code: request.productCode) else {
            throw RPCError(.notFound, "no product \(request.productCode)")
        }
        return .with { $0.product = product }
    }
}
