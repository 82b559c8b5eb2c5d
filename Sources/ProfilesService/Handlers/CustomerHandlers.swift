import CRMProtos
import CRMRPC

/// The customer methods of `crm.profiles.v1.Profiles`.
struct CustomerHandlers: Sendable {
    let store: CustomerStore

    static let maxStreamPage = 1_000

    func register(into router: inout Router) {
        router.unary(
            "/crm.profiles.v1.Profiles/UpsertCustomer",
            Crm_Profiles_V1_UpsertCustomerRequest.self,
            policy: .roles(ProfilesRoles.ingest, ProfilesRoles.headOffice)
        ) { request, _ in
            try await upsert(request)
        }
        router.unary(
            "/crm.profiles.v1.Profiles/GetCustomer",
            Crm_Profiles_V1_GetCustomerRequest.self,
            policy: .roles(ProfilesRoles.manager, ProfilesRoles.headOffice, ProfilesRoles.service, ProfilesRoles.ingest)
        ) { request, context in
            try await get(request, context: context)
        }
        router.serverStreaming(
            "/crm.profiles.v1.Profiles/StreamCustomers",
            Crm_Profiles_V1_StreamCustomersRequest.self,
            Crm_Profiles_V1_Customer.self,
            policy: .roles(ProfilesRoles.headOffice, ProfilesRoles.service)
        ) { request, writer, _ in
            try await stream(request, writer: writer)
        }
    }

    func upsert(_ request: Crm_Profiles_V1_UpsertCustomerRequest) async throws -> Crm_Profiles_V1_UpsertCustomerResponse {
        guard request.hasCustomer else { throw RPCError.invalidArgument(field: "customer", "is required") }
        let violations = CustomerValidation.violations(of: request.customer)
        guard violations.isEmpty else { throw RPCError.invalidArguments(violations) }
        let (stored, created) = try await store.upsert(request.customer)
        return .with {
            $0.customer = stored
            $0.created = created
        }
    }

    func get(_ request: Crm_Profiles_V1_GetCustomerRequest, context: CallContext) async throws -> Crm_Profiles_V1_GetCustomerResponse {
        guard !request.customerID.isEmpty else { throw RPCError.invalidArgument(field: "customer_id", "is required") }
        guard let customer = try await store.customer(id: request.customerID) else {
            throw RPCError(.notFound, "no customer \(request.customerID)")
        }
        try CustomerAccess.check(context.principal, mayRead: customer)
        return .with { $0.customer = customer }
    }

    func stream(_ request: Crm_Profiles_V1_StreamCustomersRequest, writer: ResponseStreamWriter<Crm_Profiles_V1_Customer>) async throws {
        var after = request.afterCustomerID
        var remaining = request.limit == 0 ? Int.max : Int(request.limit)
        while remaining > 0 {
            let page = try await store.customers(after: after, limit: min(remaining, Self.maxStreamPage))
            for customer in page {
                try await writer.write(customer)
            }
            guard let last = page.last, page.count == min(remaining, Self.maxStreamPage) else { return }
            after = last.customerID
            remaining -= page.count
        }
    }
}

/// Row-level access: a client manager reads only the customers in their charge.
enum CustomerAccess {
    static func check(_ principal: Principal?, mayRead customer: Crm_Profiles_V1_Customer) throws {
        guard let principal else { throw RPCError(.unauthenticated, "a token is required") }
        if principal.isAdmin || principal.roles.contains(ProfilesRoles.headOffice) || principal.roles.contains(ProfilesRoles.service)
            || principal.roles.contains(ProfilesRoles.ingest)
        {
            return
        }
        guard let managerID = principal.attributes["manager_id"], managerID == customer.managerID else {
            throw RPCError(.permissionDenied, "\(principal.name) is not the client manager of customer \(customer.customerID)")
        }
    }
}
