import CRMProtos
import CRMRules
import CRMServiceHost
import CustomerDimensions
import Foundation
import GRDB
import Synchronization

/// Every customer's rule fields held column by column in memory, so a segment count or a rule
/// search over all customers is one pass over a few arrays instead of a million row decodes.
///
/// One row per customer. Numbers are `Double` columns (NaN = missing); categories (status, branch,
/// manager, classes, categorical dimensions) are `Int32` codes into a per-field dictionary. The
/// dimension updater writes a customer's row after each committed step; queries take a snapshot of
/// just the columns a rule reads (copy-on-write arrays: no copy unless a writer comes along).
/// It is filled from the store at start-up in the background; until then ``isReady`` is false and
/// queries fall back to scanning the store.
final class DimensionIndex: Sendable {
    private struct Storage {
        var customerIDs: [String] = []
        var rowOf: [String: Int32] = [:]
        /// Aligned with ``DimensionIndex/numberFields``.
        var numbers: [[Double]] = []
        /// Aligned with ``DimensionIndex/categoryFields``.
        var categoryColumns: [CategoryColumn] = []
        var ready = false
        /// The rows in customer id order, for searches paged by id. The load adds customers in id
        /// order and new customers usually get the largest id so far, so a new row is appended; one
        /// that sorts earlier is inserted at its place (a binary search and a move of 4 bytes a
        /// row: about a millisecond at a million customers, paid once per such customer).
        var idOrder: [Int32] = []
    }

    private struct CategoryColumn {
        var codes: [Int32] = []
        var dictionary: [String] = []
        var codeOf: [String: Int32] = [:]

        mutating func set(_ row: Int, _ value: String?) {
            guard let value else {
                codes[row] = -1
                return
            }
            if let code = codeOf[value] {
                codes[row] = code
            } else {
                let code = Int32(dictionary.count)
                dictionary.append(value)
                codeOf[value] = code
                codes[row] = code
            }
        }
    }

    /// Where a category field's value comes from, worked out once per field rather than by name
    /// for every row written (the updater writes a row per refreshed customer; start-up, a million).
    private struct CategorySource {
        enum Record { case status, kind, branch, manager, province, channel }
        let record: Record?
        /// The field's slot among the stored classes, and among the stored categorical dimensions.
        let schemeSlot: Int?
        let categorySlot: Int?

        init(name: String) {
            switch name {
            case "status": record = .status
            case "kind": record = .kind
            case "branch_id": record = .branch
            case "manager_id": record = .manager
            case "province": record = .province
            case "channel": record = .channel
            default: record = nil
            }
            schemeSlot = DimensionsView.schemeSlots[name]
            categorySlot = DimensionsView.categorySlots[name]
        }

        /// The value ``ProfileRecord/categoryValue(named:)`` gives for this field.
        func value(_ customer: Crm_Profiles_V1_Customer, _ stored: StoredDimensions?) -> String? {
            if let record {
                switch record {
                case .status: return ProfileRules.statusName(customer.status)
                case .kind: return customer.kind == .institution ? "institution" : "individual"
                case .branch: return customer.branchID
                case .manager: return customer.managerID
                case .province: return customer.province
                case .channel: return customer.channel
                }
            }
            guard let stored else { return nil }
            if let slot = schemeSlot, slot < stored.classes.count { return stored.classes[slot] }
            if let slot = categorySlot, slot < stored.categories.count, !stored.categories[slot].isEmpty { return stored.categories[slot] }
            return nil
        }
    }

    let numberFields: [String]
    let categoryFields: [String]
    private let categorySources: [CategorySource]
    /// Each number field's slot in the stored dimensions (nil for a field that is not a dimension).
    private let numberSlots: [Int?]
    private let numberPosition: [String: Int]
    private let categoryPosition: [String: Int]
    private let storage: Mutex<Storage>

    init(schema: RuleSchema) {
        var numbers: [String] = []
        var categories: [String] = []
        for field in schema.fields {
            switch schema.type(of: field) {
            case .number: numbers.append(field.name)
            case .category: categories.append(field.name)
            case .boolean: break
            }
        }
        numberFields = numbers
        categoryFields = categories
        categorySources = categories.map(CategorySource.init(name:))
        numberSlots = numbers.map { DimensionsView.numericSlots[$0] }
        numberPosition = Dictionary(uniqueKeysWithValues: numbers.enumerated().map { ($1, $0) })
        var initial = Storage()
        initial.numbers = Array(repeating: [], count: numbers.count)
        initial.categoryColumns = Array(repeating: CategoryColumn(), count: categories.count)
        categoryPosition = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
        storage = Mutex(initial)
    }

    var isReady: Bool { storage.withLock { $0.ready } }
    var count: Int { storage.withLock { $0.customerIDs.count } }

    /// Sets one customer's row (adding it if new).
    func update(customer: Crm_Profiles_V1_Customer, dimensions: DimensionsView) {
        storage.withLock { storage in
            let row: Int
            if let existing = storage.rowOf[customer.customerID] {
                row = Int(existing)
            } else {
                row = storage.customerIDs.count
                storage.customerIDs.append(customer.customerID)
                Self.placeInIDOrder(Int32(row), &storage)
                storage.rowOf[customer.customerID] = Int32(row)
                for position in storage.numbers.indices { storage.numbers[position].append(.nan) }
                for position in storage.categoryColumns.indices { storage.categoryColumns[position].codes.append(-1) }
            }
            let stored = dimensions.stored
            let values = stored?.numbers ?? []
            for (position, slot) in numberSlots.enumerated() {
                storage.numbers[position][row] = slot.flatMap { $0 < values.count ? values[$0] : nil } ?? .nan
            }
            for (position, source) in categorySources.enumerated() {
                storage.categoryColumns[position].set(row, source.value(customer, stored))
            }
        }
    }

    /// The columns `fields` of every row, and the customer id of each row.
    func columns(for fields: Set<String>) -> (columns: RuleColumns, customerIDs: [String]) {
        storage.withLock { storage in (ruleColumns(storage, fields), storage.customerIDs) }
    }

    /// The columns `fields` of `storage` (copy-on-write: the arrays are shared, not copied).
    private func ruleColumns(_ storage: Storage, _ fields: Set<String>) -> RuleColumns {
        var columns = RuleColumns(count: storage.customerIDs.count)
        for name in fields {
            if let position = numberPosition[name] {
                columns.setNumbers(storage.numbers[position], for: name)
            } else if let position = categoryPosition[name] {
                let column = storage.categoryColumns[position]
                columns.setCategories(codes: column.codes, dictionary: column.dictionary, for: name)
            }
        }
        return columns
    }

    /// What a search reads, taken together: the columns of `fields`, every row's customer id, the
    /// rows in customer id order, and the numeric column `sortedBy` (empty when nil or not a number).
    func searchSnapshot(for fields: Set<String>, sortedBy: String?) -> (columns: RuleColumns, customerIDs: [String], idOrder: [Int32], sortValues: [Double]) {
        storage.withLock { storage in
            let sortValues = sortedBy.flatMap { numberPosition[$0] }.map { storage.numbers[$0] } ?? []
            return (ruleColumns(storage, fields), storage.customerIDs, storage.idOrder, sortValues)
        }
    }

    /// Fills the index from the store, a page at a time, then marks it ready.
    ///
    /// The columns are sized for every customer first (growing a few hundred columns row by row
    /// copied each of them over and over), and the next page is read and decoded on a reader
    /// thread while this one is written into the columns.
    func load(from database: DatabasePool, pageSize: Int = 20_000) async throws {
        let customers = try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer") ?? 0 }
        reserve(customers)
        try await ChangeFeed.forEachPage(from: database, after: "", limit: 0, pageSize: pageSize, position: { $0.0.customerID }, read: Self.page) { page in
            for (customer, dimensions) in page {
                update(customer: customer, dimensions: dimensions)
            }
        }
        storage.withLock { $0.ready = true }
    }

    /// Puts a new row (its id already in `customerIDs`) at its place in the id order.
    private static func placeInIDOrder(_ row: Int32, _ storage: inout Storage) {
        let id = storage.customerIDs[Int(row)]
        if let last = storage.idOrder.last, storage.customerIDs[Int(last)] > id {
            var low = 0, high = storage.idOrder.count
            while low < high {
                let middle = (low + high) / 2
                if storage.customerIDs[Int(storage.idOrder[middle])] < id { low = middle + 1 } else { high = middle }
            }
            storage.idOrder.insert(row, at: low)
        } else {
            storage.idOrder.append(row)
        }
    }

    /// Room for `count` rows in every column.
    private func reserve(_ count: Int) {
        storage.withLock { storage in
            storage.customerIDs.reserveCapacity(count)
            storage.idOrder.reserveCapacity(count)
            storage.rowOf.reserveCapacity(count)
            for position in storage.numbers.indices { storage.numbers[position].reserveCapacity(count) }
            for position in storage.categoryColumns.indices { storage.categoryColumns[position].codes.reserveCapacity(count) }
        }
    }

    /// Customers after `after` in id order, at most `size`, with their dimensions.
    private static func page(_ db: Database, after: String, size: Int) throws -> [(Crm_Profiles_V1_Customer, DimensionsView)] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT \(CustomerStore.columns("c")), d.dimensions FROM customer c LEFT JOIN customer_dimensions d ON d.customer_id = c.customer_id
                WHERE c.customer_id > ? ORDER BY c.customer_id LIMIT ?
                """),
            arguments: [after, size]
        ).map { row in
            let dims: Data? = row[CustomerStore.columnCount]
            return (CustomerStore.customer(fromColumns: row), DimensionsView(try dims.map(StoredDimensions.decoded)))
        }
    }
}

extension ProfileRecord {
    /// The category value a rule reads for `name`.
    func categoryValue(named name: String) -> String? {
        switch name {
        case "status": return ProfileRules.statusName(customer.status)
        case "kind": return customer.kind == .institution ? "institution" : "individual"
        case "branch_id": return customer.branchID
        case "manager_id": return customer.managerID
        case "province": return customer.province
        case "channel": return customer.channel
        default: return dimensions.classes[name] ?? dimensions.categories[name]
        }
    }
}
