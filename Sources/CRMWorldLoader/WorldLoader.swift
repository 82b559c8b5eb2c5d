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
/// Loading a chunk again completes what an earlier load of it did (see ``loadCustomers(_:)``), so
/// a load cut short resumes by loading the same chunks again: nothing is counted twice.
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
    /// Where a chunk's events go instead of the ingestion RPCs, when set: a tool that runs profiles
    /// in its own process appends them straight to the store (`StoreSeeding.appendEvents`), which
    /// builds a million-customer year in minutes rather than the hour the RPCs take. Customers,
    /// status changes, assessments and orders still go through the RPCs, in the same order.
    public var directEvents: (@Sendable ([CustomerEvents]) async throws -> Void)?

    public init(world: World, clients: Clients) {
        self.world = world
        self.clients = clients
    }
    public func loadCatalogue() async throws {
        try await forEachConcurrently(world.products, limit: concurrency) { product in
            _ = try await clients.products.unary(Crm_Products_V1_Products.upsertProduct, Crm_Products_V1_UpsertProductRequest.with {
                $0.product = product.record
            })
            _ = try await clients.products.unary(Crm_Products_V1_Products.putContractTemplate, Crm_Products_V1_PutContractTemplateRequest.with {
                $0.template = product.contractTemplate
            })
        }
    }

    /// Figures of one loaded chunk.
    public struct ChunkReport: Sendable {
        public var customers = 0
        public var events = 0
        public var orders = 0
    }

    /// Loads customers `range` (any chunk, in any order, any number of times).
    ///
    /// A chunk loaded before, wholly or in part (a load cut short), is completed rather than
    /// repeated: customers found in profiles are not created again, and only the status changes
    /// and assessments their history does not hold yet are applied (both are appended, not keyed,
    /// so repeating them would add history). Events and orders are keyed and simply counted as
    /// duplicates, except that once an earlier load got past the chunk's events they are skipped:
    /// a closed account's trades are refused even as duplicates.
    public func loadCustomers(_ range: Range<Int>) async throws -> ChunkReport {
        let customers = Array(world.customers(range))
        var report = ChunkReport()
        report.customers = customers.count
        let earlier = try await alreadyLoaded(customers, range: range)
        // Identity, early status changes and assessments: per customer, customers side by side.
        try await forEachConcurrently(customers, limit: concurrency) { customer in
            let previous = earlier[customer.id]
            if previous == nil {
                _ = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.upsertCustomer, customer.creation)
            }
            for change in customer.statusChanges.prefix(customer.statusChangesBeforeEvents).dropFirst(previous?.statusChanges ?? 0) {
                try await changeStatus(change)
            }
            for assessment in customer.assessments.dropFirst(previous?.assessments ?? 0) {
                _ = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.recordAssessment, assessment)
            }
        }
        // Events, every kind in batches across the chunk's customers. Later status changes come
        // after the whole chunk's events: a customer already past the status of its events means
        // an earlier load stored them all.
        let eventsStored = customers.contains { customer in
            earlier[customer.id].map { $0.status != Self.statusDuringEvents(customer) } ?? false
        }
        let events = eventsStored ? [] : customers.map(\.events)
        report.events = customers.reduce(0) { $0 + $1.events.count }
        if let directEvents {
            if !events.isEmpty { try await directEvents(events) }
        } else {
            try await ingestEvents(events)
        }
        // Later status changes not applied yet (a customer frozen or closed after their activity),
        // then the record as it stands today (the current client manager after any transfer).
        try await forEachConcurrently(customers, limit: concurrency) { customer in
            let applied = max(0, (earlier[customer.id]?.statusChanges ?? 0) - customer.statusChangesBeforeEvents)
            for change in customer.statusChanges[...].dropFirst(customer.statusChangesBeforeEvents + applied) {
                try await changeStatus(change)
            }
            _ = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = customer.record
            })
        }
        // The order history, as the previous system recorded it (the generator sells MATCHes only),
        // with the redemptions the behaviour law's world records (NOT_CHECKED, as imported).
        let orders = customers.flatMap(\.purchases).map { purchase -> Crm_Products_V1_Order in
            var order = purchase.order
            order.suitability = .match
            order.suitabilityRuleVersion = "legacy-import"
            return order
        } + customers.flatMap(\.redemptions)
        report.orders = orders.count
        for start in stride(from: 0, to: orders.count, by: batchSize) {
            _ = try await clients.products.unary(Crm_Products_V1_Products.importOrders, Crm_Products_V1_ImportOrdersRequest.with {
                $0.orders = Array(orders[start..<min(orders.count, start + batchSize)])
            })
        }
        return report
    }

    /// How far an earlier load got with one customer: the status changes and assessments its
    /// history holds (the creation is not a change), and its status now.
    struct EarlierLoad: Sendable {
        var statusChanges: Int
        var assessments: Int
        var status: Crm_Profiles_V1_AccountStatus
    }

    /// The chunk's customers profiles holds already (one stream over the chunk's ids, then one
    /// 360° view for each found; nothing more on a first load).
    func alreadyLoaded(_ customers: [GeneratedCustomer], range: Range<Int>) async throws -> [String: EarlierLoad] {
        let ids = Set(customers.map(\.id))
        let found = try await clients.profiles.serverStreaming(Crm_Profiles_V1_Profiles.streamCustomers, Crm_Profiles_V1_StreamCustomersRequest.with {
            $0.afterCustomerID = range.lowerBound == 0 ? "" : World.customerID(range.lowerBound - 1)
            $0.limit = UInt32(customers.count)
        }).collect().map(\.customerID).filter(ids.contains)
        let loads = Loads()
        try await forEachConcurrently(found, limit: concurrency) { id in
            let view = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with {
                $0.customerID = id
                $0.recentLimit = 1
            }).view
            loads.set(id, EarlierLoad(statusChanges: max(0, view.statusHistory.count - 1), assessments: view.assessmentHistory.count, status: view.customer.status))
        }
        return loads.all
    }

    /// The status a customer has while its events are ingested: after the early changes.
    static func statusDuringEvents(_ customer: GeneratedCustomer) -> Crm_Profiles_V1_AccountStatus {
        customer.statusChanges.prefix(customer.statusChangesBeforeEvents).last?.newStatus ?? customer.creation.customer.status
    }

    /// A chunk's events through the ingestion RPCs, kind by kind in batches across its customers.
    private func ingestEvents(_ events: [CustomerEvents]) async throws {
        for call in IngestionCall.batches(of: events, batchSize: batchSize) {
            _ = try await call.send(through: clients.profiles)
        }
    }

    /// A status change the service already applied (a retried chunk) is not an error.
    private func changeStatus(_ change: Crm_Profiles_V1_ChangeAccountStatusRequest) async throws {
        do {
            _ = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.changeAccountStatus, change)
        } catch let error as RPCError where error.code == .failedPrecondition || error.code == .alreadyExists {
            // Already in that status after an earlier, interrupted load of this chunk.
        }
    }
}

import SwiftProtobuf
import Synchronization

/// Earlier loads found by concurrent tasks.
final class Loads: Sendable {
    private let value = Mutex<[String: WorldLoader.EarlierLoad]>([:])

    func set(_ id: String, _ load: WorldLoader.EarlierLoad) { value.withLock { $0[id] = load } }
    var all: [String: WorldLoader.EarlierLoad] { value.withLock { $0 } }
}

/// Runs `body` for every element, at most `limit` at a time.
public func forEachConcurrently<Element: Sendable>(
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
