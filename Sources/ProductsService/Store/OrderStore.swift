import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore
import Foundation
import GRDB

/// Accepted orders and advisory-package subscriptions. Every write is one transaction that also
/// appends to the change feed.
struct OrderStore: Sendable {
    let database: DatabasePool

    typealias Order = Crm_Products_V1_Order
    typealias Subscription = Crm_Products_V1_PackageSubscription

    /// The outcome of storing an order under its id.
    enum Placement: Sendable {
        /// Stored now.
        case created(Order)
        /// The same order was already stored: here it is, unchanged.
        case existing(Order)
    }

    func order(id: String) async throws -> Order? {
        try await database.read { db in try Self.order(db, id: id) }
    }

    /// Stores an accepted order, re-checking inside the transaction what may have changed since the
    /// caller checked it: another call with the same id (same content → that order; different →
    /// ALREADY_EXISTS) and the product's status and sales window on `today`.
    func place(_ order: Order, today: Crm_Common_V1_Date) async throws -> Placement {
        try await database.write { db -> Placement in
            if let existing = try Self.order(db, id: order.orderID) {
                return .existing(try Self.sameOrder(existing, as: order))
            }
            guard let product = try ProductStore.current(db, code: order.productCode) else {
                throw Refusal.refused(.notFound, field: "order.product_code", "no product \(order.productCode)")
            }
            try SaleRules.check(order, against: product, today: today)
            try Self.insert(db, order)
            return .created(order)
        }
    }

    /// Stores a batch of historical orders in one transaction (all or none), skipping the ids
    /// stored before with the same content; returns (imported, duplicates).
    /// Each order comes with its index in the request, which errors name.
    func importOrders(_ batch: [(index: Int, order: Order)]) async throws -> (imported: Int, duplicates: Int) {
        try await database.write { db -> (imported: Int, duplicates: Int) in
            var imported = 0
            var duplicates = 0
            var seen: [String: Order] = [:]
            for (index, incoming) in batch {
                if let existing = try Self.order(db, id: incoming.orderID) ?? seen[incoming.orderID] {
                    guard OrderValidation.content(of: existing) == OrderValidation.content(of: incoming) else {
                        throw Refusal.refused(.alreadyExists, field: "orders[\(index)].order_id",
                                               "order \(incoming.orderID) already exists with different content")
                    }
                    duplicates += 1
                    continue
                }
                guard let product = try ProductStore.current(db, code: incoming.productCode) else {
                    throw Refusal.refused(.notFound, field: "orders[\(index)].product_code", "no product \(incoming.productCode)")
                }
                let order = OrderImport.stored(incoming, productVersion: product.version)
                try Self.insert(db, order)
                seen[order.orderID] = order
                imported += 1
            }
            return (imported, duplicates)
        }
    }

    private static func insert(_ db: Database, _ order: Order) throws {
        let body: Data = try order.serializedBytes()
        try db.execute(
            sql: """
            INSERT INTO product_order (order_id, customer_id, product_code, side, amount_minor, currency, channel,
                                       manager_id, contract_id, accepted_at, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [
                order.orderID, order.customerID, order.productCode, order.side.rawValue, order.amount.minorUnits,
                MoneyText.currency(order.amount), order.channel.rawValue, order.managerID,
                Int64(clamping: order.contractID), order.acceptedAt.unixMillis, body,
            ]
        )
        try ChangeLog.append(db, kind: .orderPlaced, productCode: order.productCode, customerID: order.customerID,
                             at: order.acceptedAt.unixMillis) { $0.order = order }
    }

    /// `existing` when `incoming` has the same caller content, else ALREADY_EXISTS.
    static func sameOrder(_ existing: Order, as incoming: Order) throws -> Order {
        guard OrderValidation.content(of: existing) == OrderValidation.content(of: incoming) else {
            throw Refusal.refused(.alreadyExists, field: "order.order_id", "order \(incoming.orderID) already exists with different content")
        }
        return existing
    }

    /// Stores a subscription unless the customer already has one to the package (same content →
    /// that one, `created` false; different → ALREADY_EXISTS).
    func subscribe(_ subscription: Subscription) async throws -> (Subscription, created: Bool) {
        let now = currentUnixMillis()
        return try await database.write { db -> (Subscription, created: Bool) in
            if let body = try Data.fetchOne(
                db,
                sql: "SELECT body FROM package_subscription WHERE customer_id = ? AND package_code = ?",
                arguments: [subscription.customerID, subscription.packageCode]
            ) {
                let existing = try Subscription(serializedBytes: body)
                guard PackageValidation.content(of: existing) == PackageValidation.content(of: subscription) else {
                    throw Refusal.refused(
                        .alreadyExists, field: "subscription.package_code",
                        "customer \(subscription.customerID) already subscribes to package \(subscription.packageCode) on other terms"
                    )
                }
                return (existing, false)
            }
            var stored = PackageValidation.content(of: subscription)
            stored.subscribedAt = .with { $0.unixMillis = now }
            let body: Data = try stored.serializedBytes()
            try db.execute(
                sql: "INSERT INTO package_subscription (customer_id, package_code, subscribed_at, body) VALUES (?, ?, ?, ?)",
                arguments: [stored.customerID, stored.packageCode, now, body]
            )
            try ChangeLog.append(db, kind: .packageSubscribed, productCode: stored.packageCode, customerID: stored.customerID, at: now) {
                $0.subscription = stored
            }
            return (stored, true)
        }
    }

    private static func order(_ db: Database, id: String) throws -> Order? {
        try Data.fetchOne(db, sql: "SELECT body FROM product_order WHERE order_id = ?", arguments: [id]).map { try Order(serializedBytes: $0) }
    }
}
