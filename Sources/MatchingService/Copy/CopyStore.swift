import CRMProfilesClient
import CRMProtos
import Foundation
import GRDB

/// The replica's copy of profiles and products in its own SQLite file: written a feed page per
/// transaction together with the feed's cursor, so a restart resumes exactly after the last change
/// applied, and read back whole at start-up to rebuild the in-memory index.
enum CopyStore {
    enum Source: String {
        case profiles, products
        /// Profiles' event log, read for product views and service contacts.
        case events
    }

    /// The cursor name of `source`'s feed read from profiles process `owner`: the source's own name
    /// for a map of one owner (`owner` empty), so a replica that followed one process resumes where
    /// it was; `<source>.<owner>` (`profiles.profiles-1`, `events.profiles-1`) for each owner of a
    /// map of several, since each numbers its own feed (docs/partitioning.md §7).
    static func feed(_ source: Source, owner: String) -> String {
        ProfilesOwner.cursor(source.rawValue, owner: owner)
    }

    static func cursor(_ db: Database, _ feed: String) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db, sql: "SELECT position FROM feed_cursor WHERE source = ?", arguments: [feed]) ?? 0)
    }

    /// Every feed's cursor, by name (the `caught_up_at` mark is not a cursor).
    static func cursors(_ db: Database) throws -> [String: UInt64] {
        var cursors: [String: UInt64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT source, position FROM feed_cursor WHERE source <> ?", arguments: [caughtUpKey]) {
            cursors[row[0] as String] = UInt64(clamping: row[1] as Int64)
        }
        return cursors
    }

    static func setCursor(_ db: Database, _ feed: String, _ position: UInt64) throws {
        try db.execute(
            sql: "INSERT INTO feed_cursor (source, position) VALUES (?, ?) ON CONFLICT(source) DO UPDATE SET position = excluded.position",
            arguments: [feed, Int64(clamping: position)]
        )
    }

    static func deleteCursor(_ db: Database, _ feed: String) throws {
        try db.execute(sql: "DELETE FROM feed_cursor WHERE source = ?", arguments: [feed])
    }

    /// The owner part of a cursor of profiles' change feed or event log (``feed(_:owner:)``): ""
    /// for a single process's, the owner or the partition (`p0007`) otherwise; nil for any
    /// other cursor (products').
    static func profilesOwner(ofCursor name: String) -> String? {
        for source in [Source.profiles, Source.events] {
            if name == source.rawValue { return "" }
            let prefix = source.rawValue + "."
            if name.hasPrefix(prefix) { return String(name.dropFirst(prefix.count)) }
        }
        return nil
    }

    /// The `feed_cursor` row that records when the copy first read its feeds (profiles, the event log, products) to their end.
    private static let caughtUpKey = "caught_up_at"

    /// When the copy first read its feeds to their end (unix millis); nil while it never has.
    static func caughtUpAt(_ db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT position FROM feed_cursor WHERE source = ?", arguments: [caughtUpKey])
    }

    /// The copy no longer holds all it should (its group gained partitions): it becomes ready
    /// again only once every feed is read to its end.
    static func forgetCaughtUp(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM feed_cursor WHERE source = ?", arguments: [caughtUpKey])
    }

    static func markCaughtUp(_ db: Database, at millis: Int64) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO feed_cursor (source, position) VALUES (?, ?)", arguments: [caughtUpKey, millis])
    }

    // MARK: Profiles

    /// Applies one page of the profiles feed and moves `feed`'s cursor to `sequence`, the page's
    /// last position (a matching group's replica applies only its customers' changes of a page).
    /// Dimension deltas are merged into the stored dimensions (the feed sends only what changed),
    /// which are kept in the positional form.
    static func applyProfiles(_ db: Database, _ changes: [Crm_Profiles_V1_ChangeEvent], positions: DimensionPositions, feed: String,
                              through sequence: UInt64) throws {
        for change in changes {
            switch change.kind {
            case .customerCreated, .customerUpdated, .statusChanged:
                try db.execute(
                    sql: "INSERT INTO copy_customer (customer_id, customer) VALUES (?, ?) ON CONFLICT(customer_id) DO UPDATE SET customer = excluded.customer",
                    arguments: [change.customerID, try change.customer.serializedBytes() as Data]
                )
            case .reassessed:
                try ensureCustomer(db, change.customerID)
                try db.execute(sql: "UPDATE copy_customer SET assessment = ? WHERE customer_id = ?",
                               arguments: [try change.assessment.serializedBytes() as Data, change.customerID])
            case .dimensionsChanged:
                try ensureCustomer(db, change.customerID)
                var merged = Crm_Profiles_V1_CustomerDimensions()
                let select = try db.cachedStatement(sql: "SELECT dimensions FROM copy_customer WHERE customer_id = ?")
                if let stored = try Data.fetchOne(select, arguments: [change.customerID]) {
                    merged = try Crm_Profiles_V1_CustomerDimensions(serializedBytes: stored)
                }
                merge(change.dimensions, into: &merged, positions: positions)
                try db.cachedStatement(sql: "UPDATE copy_customer SET dimensions = ? WHERE customer_id = ?")
                    .execute(arguments: [try merged.serializedBytes() as Data, change.customerID])
            default:
                continue
            }
        }
        try setCursor(db, feed, sequence)
    }

    /// Merges a delta into the stored dimensions. The numbers end in the positional form whatever
    /// form either side used (a copy written before the feed was positional converts on its first
    /// change), holding only values that are present.
    static func merge(_ delta: Crm_Profiles_V1_CustomerDimensions, into merged: inout Crm_Profiles_V1_CustomerDimensions, positions: DimensionPositions) {
        merged.customerID = delta.customerID
        if delta.hasAsOf { merged.asOf = delta.asOf }
        // Dense by position, then back to the present entries only. Positions past the dictionary
        // (it grew and is being re-read) are kept, so nothing is lost in the meantime.
        func width(_ positions: [UInt32]...) -> Int { positions.map { Int($0.max() ?? 0) + 1 }.max() ?? 0 }
        let dimensionWidth = max(positions.count, width(merged.numberPositions, delta.numberPositions, merged.categoryPositions, delta.categoryPositions))
        let schemeWidth = max(positions.schemes.count, width(merged.classPositions, delta.classPositions))
        var numbers = [Double](repeating: .nan, count: dimensionWidth)
        var categories = [String](repeating: "", count: dimensionWidth)
        var classes = [String?](repeating: nil, count: schemeWidth)
        for source in [merged, delta] {
            positions.numericEntries(of: source) { numbers[$0] = $1 }
            positions.categoryEntries(of: source) { categories[$0] = $1 }
            positions.classEntries(of: source) { classes[$0] = $1 }
        }
        var result = Crm_Profiles_V1_CustomerDimensions()
        result.customerID = merged.customerID
        if merged.hasAsOf { result.asOf = merged.asOf }
        for (position, value) in numbers.enumerated() where !value.isNaN {
            result.numberPositions.append(UInt32(position))
            result.numberValues.append(value)
        }
        for (position, value) in categories.enumerated() where !value.isEmpty {
            result.categoryPositions.append(UInt32(position))
            result.categoryValues.append(value)
        }
        for (position, value) in classes.enumerated() {
            guard let value else { continue }
            result.classPositions.append(UInt32(position))
            result.classValues.append(value)
        }
        merged = result
    }

    /// Writes snapshot entries, each replacing the customer's row whole.
    static func applySnapshot(_ db: Database, _ entries: [Crm_Profiles_V1_SnapshotEntry]) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO copy_customer (customer_id, customer, assessment, dimensions) VALUES (?, ?, ?, ?)
            ON CONFLICT(customer_id) DO UPDATE SET customer = excluded.customer, assessment = excluded.assessment,
              dimensions = excluded.dimensions
            """)
        for entry in entries {
            let assessment: Data? = entry.hasAssessment ? try entry.assessment.serializedBytes() : nil
            let dimensions: Data? = entry.hasDimensions ? try entry.dimensions.serializedBytes() : nil
            try upsert.execute(arguments: [entry.customer.customerID, try entry.customer.serializedBytes() as Data, assessment, dimensions])
        }
    }

    /// A change about a customer the copy has not seen created (it cannot happen with an ordered
    /// feed, but the copy stays consistent if it does): a placeholder the later record replaces.
    private static func ensureCustomer(_ db: Database, _ id: String) throws {
        let placeholder: Data = try Crm_Profiles_V1_Customer.with { $0.customerID = id }.serializedBytes()
        try db.execute(sql: "INSERT INTO copy_customer (customer_id, customer) VALUES (?, ?) ON CONFLICT(customer_id) DO NOTHING",
                       arguments: [id, placeholder])
    }

    // MARK: Products

    /// Returns how many purchases were new (a replayed order is not counted again). Orders are also
    /// written as behaviour events (subscriptions and redemptions), with `family(of:)`'s family.
    @discardableResult
    static func applyProducts(_ db: Database, _ changes: [Crm_Products_V1_ChangeEvent], family: (String) -> Int? = { _ in nil }) throws -> Int {
        guard let last = changes.last else { return 0 }
        var newPurchases = 0
        for change in changes {
            switch change.body {
            case .product(let product)?:
                try db.execute(
                    sql: "INSERT INTO copy_product (product_code, product) VALUES (?, ?) ON CONFLICT(product_code) DO UPDATE SET product = excluded.product",
                    arguments: [product.productCode, try product.serializedBytes() as Data]
                )
            case .order(let order)?:
                if let event = BehaviourStore.event(of: order, family: family(order.productCode)) {
                    try BehaviourStore.insert(db, key: "o" + order.orderID, customerID: order.customerID, productCode: order.productCode, event: event)
                }
                guard order.side == .subscription else { continue }
                let month = BusinessMonth(day: BusinessDays.day(ofMillis: order.acceptedAt.unixMillis))
                try db.execute(
                    sql: """
                    INSERT INTO purchase (order_id, customer_id, product_code, amount_minor, accepted_at, month)
                    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(order_id) DO NOTHING
                    """,
                    arguments: [order.orderID, order.customerID, order.productCode, order.amount.minorUnits,
                                order.acceptedAt.unixMillis, month.description]
                )
                newPurchases += db.changesCount
            default:
                continue
            }
        }
        try setCursor(db, Source.products.rawValue, last.sequence)
        return newPurchases
    }

    static func purchaseCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM purchase") ?? 0
    }

    // MARK: Dictionary

    static func saveDictionary(_ db: Database, dimensions: Crm_Profiles_V1_ListDimensionsResponse, schemes: Crm_Profiles_V1_ListClassificationSchemesResponse) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO dictionary (name, body) VALUES ('dimensions', ?), ('schemes', ?)",
                       arguments: [try dimensions.serializedBytes() as Data, try schemes.serializedBytes() as Data])
    }

    static func dictionary(_ db: Database) throws -> (Crm_Profiles_V1_ListDimensionsResponse, Crm_Profiles_V1_ListClassificationSchemesResponse)? {
        guard let dimensions = try Data.fetchOne(db, sql: "SELECT body FROM dictionary WHERE name = 'dimensions'"),
              let schemes = try Data.fetchOne(db, sql: "SELECT body FROM dictionary WHERE name = 'schemes'")
        else { return nil }
        return (try .init(serializedBytes: dimensions), try .init(serializedBytes: schemes))
    }

    // MARK: Loading the index

    /// Deletes the copied customers (and their month-end snapshots) `keeping` refuses, each table
    /// in one pass; returns how many customers. Their views and contacts stay: without the
    /// customer they are never read.
    static func dropCustomers(_ db: Database, keeping: @escaping @Sendable (String) -> Bool) throws -> Int {
        let kept = DatabaseFunction("crm_keeps_customer", argumentCount: 1, pure: true) { values in
            String.fromDatabaseValue(values[0]).map(keeping) ?? true
        }
        db.add(function: kept)
        defer { db.remove(function: kept) }
        try db.execute(sql: "DELETE FROM copy_customer WHERE NOT crm_keeps_customer(customer_id)")
        let dropped = db.changesCount
        try db.execute(sql: "DELETE FROM snapshot WHERE NOT crm_keeps_customer(customer_id)")
        return dropped
    }

    /// Rebuilds the in-memory index from the copy.
    static func load(_ db: Database, into memory: inout ReplicaMemory) throws {
        if let (dimensions, schemes) = try dictionary(db) {
            memory.setDictionary(dimensions: dimensions.dimensions, schemes: schemes.schemes)
        }
        let products = try Row.fetchCursor(db, sql: "SELECT product FROM copy_product")
        while let row = try products.next() {
            memory.applyProduct(try Crm_Products_V1_Product(serializedBytes: row[0] as Data))
        }
        let customers = try Row.fetchCursor(db, sql: "SELECT customer_id, customer, assessment, dimensions FROM copy_customer ORDER BY customer_id")
        while let row = try customers.next() {
            var customer = try Crm_Profiles_V1_Customer(serializedBytes: row[1] as Data)
            customer.customerID = row[0]
            memory.applyCustomer(customer)
            if let assessment = row[2] as Data? {
                memory.applyAssessment(customerID: customer.customerID, try .init(serializedBytes: assessment))
            }
            if let dimensions = row[3] as Data? {
                var message = try Crm_Profiles_V1_CustomerDimensions(serializedBytes: dimensions)
                message.customerID = customer.customerID
                memory.applyDimensions(message)
            }
        }
    }
}
