import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore
import NIOCore

/// Orders and advisory-package subscriptions: where sales happen.
struct OrderHandlers: Sendable {
    let products: ProductStore
    let contracts: ContractStore
    let orders: OrderStore
    let gate: any SuitabilityGate
    /// A client manager's workbench sells and reads only for the customers in their book.
    var access = SalesAccess(profiles: nil)
    /// Today's Beijing date; the clock is a parameter so the rules can be tested on any day.
    var today: @Sendable () -> Crm_Common_V1_Date = { BeijingCalendar.date(ofUnixMillis: currentUnixMillis()) }
    /// Orders by outcome (nil: not counted).
    var metrics: OrderMetrics? = nil

    func register(into router: inout Router) {
        let metrics = self.metrics
        router.unary(Crm_Products_V1_Products.placeOrder, policy: ProductsRoles.sellers, audit: .customers { [$0.order.customerID] }) { request, context in
            do {
                let response = try await place(request, principal: context.principal, deadline: context.deadline)
                metrics?.order(outcome: response.created ? "accepted" : "duplicate", status: "OK")
                return response
            } catch {
                metrics?.order(outcome: "refused", status: RPCMetricNames.statusLabel(of: error))
                throw error
            }
        }
        router.unary(Crm_Products_V1_Products.getOrder, policy: ProductsRoles.salesReaders, audit: .returned { [$0.order.customerID] }) { request, context in
            try await get(request, principal: context.principal)
        }
        router.unary(Crm_Products_V1_Products.importOrders, policy: .roles(ProductsRoles.headOffice), audit: .customers { $0.orders.map(\.customerID) }) { request, _ in
            try await importOrders(request)
        }
        router.unary(Crm_Products_V1_Products.subscribePackage, policy: ProductsRoles.sellers, audit: .customers { [$0.subscription.customerID] }) { request, context in
            try await subscribe(request, principal: context.principal)
        }
    }

    /// Checks the order in this order, each refusal naming its field: its shape; the same id stored
    /// before (answered at once, without asking matching again); the product (exists, on sale today,
    /// currency, minimum purchase); the customer's signed contract; then, for a subscription, the
    /// suitability gate. Only then is it stored (re-checking the id and the product in the write).
    func place(_ request: Crm_Products_V1_PlaceOrderRequest, principal: Principal?, deadline: NIODeadline? = nil) async throws
        -> Crm_Products_V1_PlaceOrderResponse {
        guard request.hasOrder else { throw RPCError.invalidArgument(field: "order", "is required") }
        var order = request.order
        try OrderValidation.applyCrediting(&order, own: SalesAccess.scopedManager(principal))
        let violations = OrderValidation.violations(of: order)
        guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        try await access.check(principal, customerID: order.customerID)

        if let existing = try await orders.order(id: order.orderID) {
            let same = try OrderStore.sameOrder(existing, as: order)
            return .with { $0.order = same }
        }
        guard let product = try await products.product(code: order.productCode) else {
            throw Refusal.refused(.notFound, field: "order.product_code", "no product \(order.productCode)")
        }
        let today = today()
        try SaleRules.check(order, against: product, today: today)
        guard let contract = try await contracts.latestContract(customerID: order.customerID, productCode: order.productCode) else {
            throw Refusal.refused(
                .failedPrecondition, field: "order.customer_id",
                "customer \(order.customerID) has signed no contract for product \(order.productCode); SignContract first"
            )
        }

        var accepted = OrderValidation.content(of: order)
        accepted.contractID = contract.contractID
        accepted.productVersion = product.version
        if order.side == .subscription {
            let decision = try await gate.decide(.with {
                $0.customerID = order.customerID
                $0.productCode = order.productCode
                $0.amount = order.amount
                $0.orderID = order.orderID
            }, deadline: deadline)
            accepted.suitability = try SuitabilityAdmission.admit(decision, contract: contract, order: order)
            accepted.suitabilityReasons = SuitabilityAdmission.stored(decision.reasons)
            accepted.suitabilityRuleVersion = decision.ruleVersion
        } else {
            // A redemption is the customer leaving, not a sale: no suitability check applies.
            accepted.suitability = .notChecked
        }
        accepted.acceptedAt = .with { $0.unixMillis = currentUnixMillis() }
        switch try await orders.place(accepted, today: today) {
        case let .created(stored):
            return .with {
                $0.order = stored
                $0.created = true
            }
        case let .existing(stored):
            return .with { $0.order = stored }
        }
    }

    /// Checks the whole batch before writing any of it, then writes it in one transaction, in
    /// accepted_at order so the feed reads like the history it records.
    func importOrders(_ request: Crm_Products_V1_ImportOrdersRequest) async throws -> Crm_Products_V1_ImportOrdersResponse {
        guard request.orders.count <= OrderImport.maxBatch else {
            throw RPCError.invalidArgument(field: "orders", "at most \(OrderImport.maxBatch) orders per call")
        }
        let now = currentUnixMillis()
        for (index, order) in request.orders.enumerated() {
            let violations = OrderImport.violations(of: order, index: index, nowMillis: now)
            guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        }
        let ordered = request.orders.enumerated().sorted {
            ($0.element.acceptedAt.unixMillis, $0.offset) < ($1.element.acceptedAt.unixMillis, $1.offset)
        }.map { (index: $0.offset, order: $0.element) }
        let (imported, duplicates) = try await orders.importOrders(ordered)
        return .with {
            $0.imported = UInt32(imported)
            $0.duplicates = UInt32(duplicates)
        }
    }

    func get(_ request: Crm_Products_V1_GetOrderRequest, principal: Principal?) async throws -> Crm_Products_V1_GetOrderResponse {
        guard !request.orderID.isEmpty else { throw RPCError.invalidArgument(field: "order_id", "is required") }
        let order = try await orders.order(id: request.orderID)
        try await access.checkRecord(principal, owner: order?.customerID, what: "order \(request.orderID)", field: "order_id")
        return .with { if let order { $0.order = order } }
    }

    func subscribe(_ request: Crm_Products_V1_SubscribePackageRequest, principal: Principal?) async throws -> Crm_Products_V1_SubscribePackageResponse {
        guard request.hasSubscription else { throw RPCError.invalidArgument(field: "subscription", "is required") }
        let subscription = request.subscription
        let violations = PackageValidation.violations(of: subscription)
        guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        try await access.check(principal, customerID: subscription.customerID)
        guard let product = try await products.product(code: subscription.packageCode) else {
            throw Refusal.refused(.notFound, field: "subscription.package_code", "no product \(subscription.packageCode)")
        }
        try PackageValidation.checkSubscribable(product, today: today())
        let (stored, created) = try await orders.subscribe(subscription)
        return .with {
            $0.subscription = stored
            $0.created = created
        }
    }
}
