import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore
import GRDB

/// The library methods of `crm.products.v1.Products`: products, their versions, the catalogue.
struct ProductHandlers: Sendable {
    let store: ProductStore
    let catalogue: Catalogue
    func register(into router: inout Router) {
        router.unary(Crm_Products_V1_Products.upsertProduct, policy: ProductsRoles.libraryWriters) { request, _ in
            try await upsert(request)
        }
        router.unary(Crm_Products_V1_Products.getProduct, policy: ProductsRoles.libraryReaders) { request, _ in
            try await get(request)
        }
        router.unary(Crm_Products_V1_Products.getProductAsOf, policy: ProductsRoles.libraryReaders) { request, _ in
            try await getAsOf(request)
        }
        router.unary(Crm_Products_V1_Products.listProductVersions, policy: ProductsRoles.libraryReaders) { request, _ in
            try await versions(request)
        }
        router.unary(Crm_Products_V1_Products.listProducts, policy: ProductsRoles.libraryReaders) { request, _ in
            try list(request)
        }
    }

    func upsert(_ request: Crm_Products_V1_UpsertProductRequest) async throws -> Crm_Products_V1_UpsertProductResponse {
        guard request.hasProduct else { throw RPCError.invalidArgument(field: "product", "is required") }
        let violations = ProductValidation.violations(of: request.product)
        guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        do {
            let (stored, created) = try await store.upsert(request.product)
            catalogue.apply(stored)
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
        let product = try await current(code: request.productCode, field: "product_code")
        return .with { $0.product = product }
    }

    func getAsOf(_ request: Crm_Products_V1_GetProductAsOfRequest) async throws -> Crm_Products_V1_GetProductAsOfResponse {
        if let problem = ProductValidation.codeProblem(request.productCode) {
            throw RPCError.invalidArgument(field: "product_code", problem)
        }
        guard request.hasAt else { throw RPCError.invalidArgument(field: "at", "is required") }
        guard let product = try await store.product(code: request.productCode, asOf: request.at.unixMillis) else {
            if try await store.product(code: request.productCode) == nil {
                throw Refusal.refused(.notFound, field: "product_code", "no product \(request.productCode)")
            }
            throw Refusal.refused(.notFound, field: "at", "product \(request.productCode) did not exist yet at \(request.at.unixMillis)")
        }
        return .with { $0.product = product }
    }

    func versions(_ request: Crm_Products_V1_ListProductVersionsRequest) async throws -> Crm_Products_V1_ListProductVersionsResponse {
        if let problem = ProductValidation.codeProblem(request.productCode) {
            throw RPCError.invalidArgument(field: "product_code", problem)
        }
        let versions = try await store.versions(code: request.productCode)
        guard !versions.isEmpty else { throw Refusal.refused(.notFound, field: "product_code", "no product \(request.productCode)") }
        return .with { $0.versions = versions }
    }

    /// Answered from the in-memory catalogue: no store access.
    func list(_ request: Crm_Products_V1_ListProductsRequest) throws -> Crm_Products_V1_ListProductsResponse {
        let size = try CatalogueFilter.pageSize(request.page)
        let after = try CatalogueFilter.code(fromToken: request.page.pageToken)
        let (page, total, more) = catalogue.query(CatalogueFilter(request), afterCode: after, limit: size)
        return .with {
            $0.products = page
            $0.page = .with {
                $0.totalCount = UInt64(total)
                if more, let last = page.last { $0.nextPageToken = CatalogueFilter.token(after: last.productCode) }
            }
        }
    }

    /// The current version of `code`, or the refusal naming `field`.
    func current(code: String, field: String) async throws -> Crm_Products_V1_Product {
        if let problem = ProductValidation.codeProblem(code) { throw RPCError.invalidArgument(field: field, problem) }
        guard let product = try await store.product(code: code) else {
            throw Refusal.refused(.notFound, field: field, "no product \(code)")
        }
        return product
    }
}
