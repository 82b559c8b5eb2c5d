import CRMProtos
import CRMRPC
import CRMWorld
import Foundation

/// Loads a generated ``World`` into the running services through their public RPCs, the way the
/// trading system (events), the website and a migration of the previous system's order history
/// would: products and contract templates, then customers a chunk at a time (creation, status
/// history, assessments, every event kind in batches of thousands, later status changes, and the
/// order history through ImportOrders).
///
/// Every call is idempotent (customer ids, event idempotency keys, order ids), so a load cut short
/// resumes by loading the same chunks again: nothing is counted twice.
public struct WorldLoader: Sendable {
    public struct Clients: Sendable {
        public let profiles: RPCClient
        public let products: RPCClient
        /// When given, the organisation and assignments are loaded into compensation too.
        public let compensation: RPCClient?

        public init(profiles: RPCClient, products: RPCClient, compensation: RPCClient? = nil) {
            self.profiles = profiles
            self.products = products
            self.compensation = compensation
        }
    }

    public let world: World
    public let clients: Clients
    /// Customers loaded side by side within a chunk.
    public var concurrency = 16
    /// Events per ingestion call.
    public var batchSize = 2_000

    public init(world: World, clients: Clients) {
        self.world = world
        self.clients = clients
    }

    static let profiles = "/crm.profiles.v1.Profiles/"
    static let products = "/crm.products.v1.Products/"

    /// The product library and its contract templates.
    public func loadCatalogue() async throws {
        try await forEachConcurrently(world.products, limit: concurrency) { product in
            _ = try await clients.products.unary(Self.products + "UpsertProduct", Crm_Products_V1_UpsertProductRequest.with {
                $0.product = product.record
            }, as: Crm_Products_V1_UpsertProductResponse.self)
            _ = try await clients.products.unary(Self.products + "PutContractTemplate", Crm_Products_V1_PutContractTemplateRequest.with {
                $0.template = product.contractTemplate
            }, as: Crm_Products_V1_PutContractTemplateResponse.self)
        }
    }

    /// Figures of one loaded chunk.
    public struct ChunkReport: Sendable {
        public var customers = 0
        public var events = 0
        public var orders = 0
    }

    /// Loads customers `range` (any chunk, in any order, any number of times).
    public func loadCustomers(_ range: Range<Int>) async throws -> ChunkReport {
        let customers = Array(world.customers(range))
        var report = ChunkReport()
        report.customers = customers.count
        // Identity, early status changes and assessments: per customer, customers side by side.
        try await forEachConcurrently(customers, limit: concurrency) { customer in
            _ = try await clients.profiles.unary(Self.profiles + "UpsertCustomer", customer.creation, as: Crm_Profiles_V1_UpsertCustomerResponse.self)
            for change in customer.statusChanges.prefix(customer.statusChangesBeforeEvents) {
                try await changeStatus(change)
            }
            for assessment in customer.assessments {
                _ = try await clients.profiles.unary(Self.profiles + "RecordAssessment", assessment, as: Crm_Profiles_V1_RecordAssessmentResponse.self)
            }
        }
        // Events, every kind in batches across the chunk's customers.
        let events = customers.map(\.events)
        report.events = events.reduce(0) { $0 + $1.count }
        try await ingest("IngestTrades", events.flatMap(\.trades)) { batch in Crm_Profiles_V1_IngestTradesRequest.with { $0.events = batch } }
        try await ingest("IngestFundTransfers", events.flatMap(\.fundTransfers)) { batch in Crm_Profiles_V1_IngestFundTransfersRequest.with { $0.events = batch } }
        try await ingest("IngestDailyPositions", events.flatMap(\.dailyPositions)) { batch in Crm_Profiles_V1_IngestDailyPositionsRequest.with { $0.events = batch } }
        try await ingest("IngestMarginAccounts", events.flatMap(\.marginAccounts)) { batch in Crm_Profiles_V1_IngestMarginAccountsRequest.with { $0.events = batch } }
        try await ingest("IngestMarginInterest", events.flatMap(\.marginInterest)) { batch in Crm_Profiles_V1_IngestMarginInterestRequest.with { $0.events = batch } }
        try await ingest("IngestServiceContacts", events.flatMap(\.serviceContacts)) { batch in Crm_Profiles_V1_IngestServiceContactsRequest.with { $0.events = batch } }
        try await ingest("IngestProductViews", events.flatMap(\.productViews)) { batch in Crm_Profiles_V1_IngestProductViewsRequest.with { $0.events = batch } }
        // Later status changes (a customer frozen or closed after their activity), then the record
        // as it stands today (the current client manager after any transfer).
        try await forEachConcurrently(customers, limit: concurrency) { customer in
            for change in customer.statusChanges.dropFirst(customer.statusChangesBeforeEvents) {
                try await changeStatus(change)
            }
            _ = try await clients.profiles.unary(Self.profiles + "UpsertCustomer", Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = customer.record
            }, as: Crm_Profiles_V1_UpsertCustomerResponse.self)
        }
        // The order history, as the previous system recorded it (the generator sells MATCHes only).
        let orders = customers.flatMap(\.purchases).map { purchase -> Crm_Products_V1_Order in
            var order = purchase.order
            order.suitability = .match
            order.suitabilityRuleVersion = "legacy-import"
            return order
        }
        report.orders = orders.count
        for start in stride(from: 0, to: orders.count, by: batchSize) {
            _ = try await clients.products.unary(Self.products + "ImportOrders", Crm_Products_V1_ImportOrdersRequest.with {
                $0.orders = Array(orders[start..<min(orders.count, start + batchSize)])
            }, as: Crm_Products_V1_ImportOrdersResponse.self)
        }
        return report
    }

    /// A status change the service already applied (a retried chunk) is not an error.
    private func changeStatus(_ change: Crm_Profiles_V1_ChangeAccountStatusRequest) async throws {
        do {
            _ = try await clients.profiles.unary(Self.profiles + "ChangeAccountStatus", change, as: Crm_Profiles_V1_ChangeAccountStatusResponse.self)
        } catch let error as RPCError where error.code == .failedPrecondition || error.code == .alreadyExists {
            // Already in that status after an earlier, interrupted load of this chunk.
        }
    }

    private func ingest<Event: Sendable, Request: SwiftProtobufMessage>(
        _ method: String, _ events: [Event], _ request: @Sendable ([Event]) -> Request
    ) async throws {
        for start in stride(from: 0, to: events.count, by: batchSize) {
            let batch = Array(events[start..<min(events.count, start + batchSize)])
            _ = try await clients.profiles.unary(Self.profiles + method, request(batch), as: Crm_Profiles_V1_IngestResponse.self)
        }
    }
}

import SwiftProtobuf
typealias SwiftProtobufMessage = SwiftProtobuf.Message

/// Runs `body` for every element, at most `limit` at a time.
func forEachConcurrently<Element: Sendable>(
    _ elements: [Element], limit: Int, _ body: @escaping @Sendable (Element) async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        while next < elements.count && next < limit {
            let element = elements[next]
            group.addTask { try await body(element) }
            next += 1
        }
        while try await group.next() != nil {
            if next < elements.count {
                let element = elements[next]
                group.addTask { try await body(element) }
                next += 1
            }
        }
    }
}
