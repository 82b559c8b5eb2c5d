import CRMProtos
import CRMRules
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
        var categories: [String: CategoryColumn] = [:]
        var ready = false
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

    let numberFields: [String]
    let categoryFields: [String]
    /// Each number field's slot in the stored dimensions (nil for a field that is not a dimension).
    private let numberSlots: [Int?]
    private let numberPosition: [String: Int]
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
        numberSlots = numbers.map { DimensionsView.numericSlots[$0] }
        numberPosition = Dictionary(uniqueKeysWithValues: numbers.enumerated().map { ($1, $0) })
        var initial = Storage()
        initial.numbers = Array(repeating: [], count: numbers.count)
        for name in categories { initial.categories[name] = CategoryColumn() }
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
                storage.rowOf[customer.customerID] = Int32(row)
                for position in storage.numbers.indices { storage.numbers[position].append(.nan) }
                for name in categoryFields { storage.categories[name]?.codes.append(-1) }
            }
            let record = ProfileRecord(customer: customer, dimensions: dimensions)
            let values = dimensions.stored?.numbers ?? []
            for (position, slot) in numberSlots.enumerated() {
                storage.numbers[position][row] = slot.flatMap { $0 < values.count ? values[$0] : nil } ?? .nan
            }
            for name in categoryFields {
                storage.categories[name]?.set(row, record.categoryValue(named: name))
            }
        }
    }

    /// The columns `fields` of every row, and the customer id of each row.
    func columns(for fields: Set<String>) -> (columns: RuleColumns, customerIDs: [String]) {
        storage.withLock { storage in
            var columns = RuleColumns(count: storage.customerIDs.count)
            for name in fields {
                if let position = numberPosition[name] {
                    columns.setNumbers(storage.numbers[position], for: name)
                } else if let column = storage.categories[name] {
                    columns.setCategories(codes: column.codes, dictionary: column.dictionary, for: name)
                }
            }
            return (columns, storage.customerIDs)
        }
    }

    /// The numeric column of `field` (for sorting), aligned with the rows.
    func numbers(_ field: String) -> [Double]? {
        guard let position = numberPosition[field] else { return nil }
        return storage.withLock { $0.numbers[position] }
    }

    /// Fills the index from the store, a page at a time, then marks it ready.
    func load(from database: DatabasePool, pageSize: Int = 20_000) async throws {
        var after = ""
        while true {
            let from = after
            let page: [(Crm_Profiles_V1_Customer, DimensionsView)] = try await database.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                    SELECT c.*, d.dimensions AS dims FROM customer c LEFT JOIN customer_dimensions d ON d.customer_id = c.customer_id
                    WHERE c.customer_id > ? ORDER BY c.customer_id LIMIT ?
                    """,
                    arguments: [from, pageSize]
                ).map { row in
                    let dims: Data? = row["dims"]
                    return (CustomerStore.customer(from: row), try DimensionsView(serialized: dims))
                }
            }
            for (customer, dimensions) in page {
                update(customer: customer, dimensions: dimensions)
            }
            guard let last = page.last, page.count == pageSize else { break }
            after = last.0.customerID
        }
        storage.withLock { $0.ready = true }
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
