import CRMPrimitives
import CRMProtos
import CRMRPC

/// Row-level access to sales: a client manager's workbench reads and acts only for the customers
/// in the manager's book, as profiles and compensation scope their reads. Products keeps no
/// customers, so it asks profiles (its `profiles` peer) who a customer's manager is; head office,
/// the website, other services and operators act for any customer.
///
/// What a scoped caller learns stays within the book: an order, contract or customer outside it and
/// one that does not exist are both PERMISSION_DENIED, so the scope's edges reveal nothing. When
/// profiles cannot be asked, a scoped caller gets UNAVAILABLE (retryable), never an unchecked answer.
struct SalesAccess: Sendable {
    /// Profiles, asked with this service's own (service-role) token; nil when none is configured.
    let profiles: RPCClient?

    /// The manager whose book bounds `principal`, or nil when it acts for every customer. Without
    /// a principal the call comes from inside the service (the runtime gives every method these
    /// checks guard an authenticated principal).
    static func scopedManager(_ principal: Principal?) throws -> String? {
        guard let principal else { return nil }
        if principal.actsForEveryCustomer([ProductsRoles.headOffice, ProductsRoles.website, ProductsRoles.service]) { return nil }
        guard let managerID = principal.managerID else {
            throw RPCError(.permissionDenied, "\(principal.name) has no manager_id to scope its sales to")
        }
        return managerID
    }

    /// Throws PERMISSION_DENIED unless `principal` may act for `customerID` (placing an order,
    /// signing a contract, subscribing).
    func check(_ principal: Principal?, customerID: String) async throws {
        guard let managerID = try Self.scopedManager(principal) else { return }
        guard try await book(of: managerID, holds: customerID) else {
            throw RPCError(.permissionDenied, "\(principal?.name ?? "the caller") is not the client manager of customer \(customerID)")
        }
    }

    /// Throws unless `principal` may read a sale record (`what`: "order O1") of `owner`, the
    /// record's customer (nil: no such record): NOT_FOUND for a missing record only for callers who
    /// see every customer; for a client manager a missing record and another manager's customer's
    /// are the same PERMISSION_DENIED, which names neither the customer nor whether it exists.
    func checkRecord(_ principal: Principal?, owner: String?, what: String, field: String) async throws {
        guard let managerID = try Self.scopedManager(principal) else {
            if owner == nil { throw Refusal.refused(.notFound, field: field, "no \(what)") }
            return
        }
        guard let owner, try await book(of: managerID, holds: owner) else {
            throw RPCError(.permissionDenied, "\(principal?.name ?? "the caller") may not read \(what)")
        }
    }

    /// Whether profiles names `managerID` as the manager in charge of `customerID` (false for a
    /// customer profiles does not know).
    private func book(of managerID: String, holds customerID: String) async throws -> Bool {
        guard let profiles else {
            throw RPCError(.unavailable, "products cannot check a client manager's book: no profiles peer is configured")
        }
        do {
            let customer = try await profiles.unary(
                Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = customerID }).customer
            return customer.managerID == managerID
        } catch let error as RPCError where error.code == .notFound {
            return false
        } catch let error as RPCError {
            throw RPCError(.unavailable, "products cannot check a client manager's book: profiles answered \(error.code): \(error.message)")
        }
    }
}
