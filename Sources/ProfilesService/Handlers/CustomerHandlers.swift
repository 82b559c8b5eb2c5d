import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore
import CustomerDimensions

/// Customers, statuses and assessments: the methods of `crm.profiles.v1.Profiles` that write them
/// and read one back.
struct CustomerHandlers: Sendable {
    let store: CustomerStore
    let assessmentValidityYears: Int32
    /// Wakes the dimension updater: statuses and assessments feed classes.
    let onChanged: @Sendable () -> Void

    static let maxStreamPage = 1_000
    func register(into router: inout Router) {
        router.unary(Crm_Profiles_V1_Profiles.upsertCustomer,
                     policy: .roles(ProfilesRoles.ingest, ProfilesRoles.headOffice), audit: .customers { [$0.customer.customerID] }) { request, context in
            try await upsert(request, context: context)
        }
        router.unary(Crm_Profiles_V1_Profiles.getCustomer,
                     policy: .roles(ProfilesRoles.manager, ProfilesRoles.headOffice, ProfilesRoles.service, ProfilesRoles.ingest),
                     audit: .customers { [$0.customerID] }) { request, context in
            try await get(request, context: context)
        }
        // A bulk copy (another service's replica, an export): recorded as its range and count, not
        // every id, which would make one record of a million names.
        router.serverStreaming(Crm_Profiles_V1_Profiles.streamCustomers,
                               policy: .roles(ProfilesRoles.headOffice, ProfilesRoles.service), audit: .declaredByHandler) { request, writer, _ in
            try await stream(request, writer: writer)
        }
        router.unary(Crm_Profiles_V1_Profiles.changeAccountStatus,
                     policy: .roles(ProfilesRoles.ingest, ProfilesRoles.headOffice), audit: .customers { [$0.customerID] }) { request, context in
            try await changeStatus(request, context: context)
        }
        router.unary(Crm_Profiles_V1_Profiles.recordAssessment,
                     policy: .roles(ProfilesRoles.ingest, ProfilesRoles.headOffice), audit: .customers { [$0.customerID] }) { request, _ in
            try await recordAssessment(request)
        }
    }

    func upsert(_ request: Crm_Profiles_V1_UpsertCustomerRequest, context: CallContext) async throws -> Crm_Profiles_V1_UpsertCustomerResponse {
        guard request.hasCustomer else { throw RPCError.invalidArgument(field: "customer", "is required") }
        let violations = CustomerValidation.violations(of: request.customer)
        guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        let (stored, created) = try await store.upsert(request.customer, reason: request.reason, by: context.principal?.name ?? "?")
        onChanged()
        return .with {
            $0.customer = stored
            $0.created = created
        }
    }

    func get(_ request: Crm_Profiles_V1_GetCustomerRequest, context: CallContext) async throws -> Crm_Profiles_V1_GetCustomerResponse {
        guard !request.customerID.isEmpty else { throw RPCError.invalidArgument(field: "customer_id", "is required") }
        guard let customer = try await store.customer(id: request.customerID) else {
            throw CustomerAccess.missing(request.customerID, for: context.principal)
        }
        try CustomerAccess.check(context.principal, mayRead: customer)
        return .with { $0.customer = customer }
    }

    func stream(_ request: Crm_Profiles_V1_StreamCustomersRequest, writer: ResponseStreamWriter<Crm_Profiles_V1_Customer>) async throws {
        var after = request.afterCustomerID
        var remaining = request.limit == 0 ? Int.max : Int(request.limit)
        let audit = CallAudit.current
        audit?.aggregate(rule: "customer_id > \"\(request.afterCustomerID)\"" + (request.limit == 0 ? "" : " limit \(request.limit)"), count: 0)
        while remaining > 0 {
            let pageSize = min(remaining, Self.maxStreamPage)
            let page = try await store.customers(after: after, limit: pageSize)
            for customer in page {
                try await writer.write(customer)
                audit?.counted(1)
            }
            guard let last = page.last, page.count == pageSize else { return }
            after = last.customerID
            remaining -= page.count
        }
    }

    func changeStatus(_ request: Crm_Profiles_V1_ChangeAccountStatusRequest, context: CallContext) async throws -> Crm_Profiles_V1_ChangeAccountStatusResponse {
        var violations: [FieldViolation] = []
        if request.customerID.isEmpty { violations.append(FieldViolation(field: "customer_id", description: "is required")) }
        if !(1...5).contains(request.newStatus.rawValue) {
            violations.append(FieldViolation(field: "new_status", description: "must be one of PROSPECT, NORMAL, FROZEN, REPORTED_LOST, CLOSED"))
        }
        if request.hasEffectiveDate, !request.effectiveDate.isValid {
            violations.append(FieldViolation(field: "effective_date", description: "is not a calendar date"))
        }
        guard violations.isEmpty else { throw RPCError.invalidArguments(violations) }
        let (customer, change) = try await store.changeStatus(
            id: request.customerID,
            to: request.newStatus,
            reason: request.reason,
            effectiveDate: request.hasEffectiveDate ? request.effectiveDate : nil,
            by: context.principal?.name ?? "?"
        )
        onChanged()
        return .with {
            $0.customer = customer
            $0.change = change
        }
    }

    func recordAssessment(_ request: Crm_Profiles_V1_RecordAssessmentRequest) async throws -> Crm_Profiles_V1_RecordAssessmentResponse {
        guard !request.customerID.isEmpty else { throw RPCError.invalidArgument(field: "customer_id", "is required") }
        guard request.hasAssessment else { throw RPCError.invalidArgument(field: "assessment", "is required") }
        var assessment = request.assessment
        let violations = AssessmentValidation.normalise(&assessment, validityYears: assessmentValidityYears,
                                                        today: Days.day(ofMillis: currentUnixMillis()))
        guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        let stored = try await store.recordAssessment(id: request.customerID, assessment)
        onChanged()
        return .with { $0.assessment = stored }
    }
}

/// Row-level access: a client manager reads only the customers in their charge.
enum CustomerAccess {
    /// Whether the principal sees every customer (head office, operators, other services, feeders).
    static func seesEverything(_ principal: Principal) -> Bool {
        principal.isAdmin || principal.roles.contains(ProfilesRoles.headOffice) || principal.roles.contains(ProfilesRoles.service)
            || principal.roles.contains(ProfilesRoles.ingest)
    }

    /// What a caller learns about an id that does not exist: NOT_FOUND for callers who see every
    /// customer, but the same PERMISSION_DENIED as for someone else's customer for a client
    /// manager, who must not learn which ids exist outside their book.
    static func missing(_ customerID: String, for principal: Principal?) -> RPCError {
        if let principal, !seesEverything(principal) {
            return notTheirs(customerID, principal)
        }
        return RPCError(.notFound, "no customer \(customerID)")
    }

    static func notTheirs(_ customerID: String, _ principal: Principal) -> RPCError {
        RPCError(.permissionDenied, "\(principal.name) is not the client manager of customer \(customerID)")
    }

    static func check(_ principal: Principal?, mayRead customer: Crm_Profiles_V1_Customer) throws {
        guard let principal else { throw RPCError(.unauthenticated, "a token is required") }
        if seesEverything(principal) { return }
        guard let managerID = principal.attributes["manager_id"], managerID == customer.managerID else {
            throw notTheirs(customer.customerID, principal)
        }
    }
}
