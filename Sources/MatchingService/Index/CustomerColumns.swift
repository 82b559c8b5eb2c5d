import CRMProtos
import CRMRules
import CRMSuitability

/// Every customer of the replica's copy, column by column: what target lists, rules and the model
/// scan without decoding a record per customer.
///
/// Numeric dimensions are kept as `Float` (4 bytes; a million customers × 200 dimensions is 0.8 GB
/// as Float and would be twice that as Double). Rules compare them after widening to Double, so a
/// threshold within about 1 part in 10⁷ of a value may compare as if equal; the suitability
/// decision never reads these columns (it reads the exact facts).
struct CustomerColumns: Sendable {
    private(set) var ids: [String] = []
    private(set) var rowByID: [String: Int32] = [:]
    /// The suitability facts of each row (status and the assessment in force).
    private(set) var facts: [SuitabilityCustomer] = []
    /// Numeric dimensions: `numbers[slot][row]`, NaN when missing.
    private(set) var numbers: [[Float]] = []
    private(set) var numberSlots: [String: Int] = [:]
    /// Categorical fields (category dimensions, classes, and the customer's own fields such as
    /// status and branch): `categories[slot][row]` codes into `dictionaries[slot]`, -1 missing.
    private(set) var categories: [[Int32]] = []
    private(set) var dictionaries: [[String]] = []
    private var codeOf: [[String: Int32]] = []
    private(set) var categorySlots: [String: Int] = [:]

    var count: Int { ids.count }

    /// The customer's own fields a rule may read (besides dimensions and classes).
    static let recordFields = ["status", "kind", "branch_id", "manager_id", "province", "channel"]

    func row(of id: String) -> Int32? { rowByID[id] }

    /// Adds a customer (or finds it) and returns its row.
    mutating func ensureRow(_ id: String) -> Int32 {
        if let row = rowByID[id] { return row }
        let row = Int32(ids.count)
        ids.append(id)
        rowByID[id] = row
        facts.append(SuitabilityCustomer(status: .prospect, assessment: nil))
        for slot in numbers.indices { numbers[slot].append(.nan) }
        for slot in categories.indices { categories[slot].append(-1) }
        return row
    }

    mutating func setFacts(_ value: SuitabilityCustomer, row: Int32) {
        facts[Int(row)] = value
    }

    mutating func setNumber(_ name: String, _ value: Double, row: Int32) {
        let slot = numberSlot(name)
        numbers[slot][Int(row)] = Float(value)
    }

    /// Sets a value by column slot (from ``numberSlot(_:)``), the feed's path: no name hashing.
    mutating func setNumber(slot: Int, _ value: Double, row: Int32) {
        numbers[slot][Int(row)] = Float(value)
    }

    /// Gives every column exactly the capacity it uses. Appending a row at a time doubles a
    /// column's buffer as it fills, so after a snapshot of 600,000 customers each of some 260
    /// columns may hold room for 1,048,576; this returns that room (a column at a time).
    mutating func compact() {
        for slot in numbers.indices { numbers[slot] = numbers[slot].withExactCapacity() }
        for slot in categories.indices { categories[slot] = categories[slot].withExactCapacity() }
    }

    /// Marks every numeric value of a row missing (before a snapshot replaces the row whole).
    mutating func clearNumbers(row: Int32) {
        for slot in numbers.indices { numbers[slot][Int(row)] = .nan }
    }

    mutating func setCategory(_ name: String, _ value: String, row: Int32) {
        setCategory(slot: categorySlot(name), value, row: row)
    }

    /// Sets a categorical value by column slot (from ``categorySlot(_:)``), the feed's path.
    mutating func setCategory(slot: Int, _ value: String, row: Int32) {
        let code: Int32
        if value.isEmpty {
            code = -1
        } else if let known = codeOf[slot][value] {
            code = known
        } else {
            code = Int32(dictionaries[slot].count)
            dictionaries[slot].append(value)
            codeOf[slot][value] = code
        }
        categories[slot][Int(row)] = code
    }

    func number(_ name: String, row: Int32) -> Float? {
        guard let slot = numberSlots[name] else { return nil }
        let value = numbers[slot][Int(row)]
        return value.isNaN ? nil : value
    }

    func category(_ name: String, row: Int32) -> String? {
        guard let slot = categorySlots[name] else { return nil }
        let code = categories[slot][Int(row)]
        return code >= 0 ? dictionaries[slot][Int(code)] : nil
    }

    /// The column slot of a numeric field, created (all missing) the first time it is named.
    mutating func numberSlot(_ name: String) -> Int {
        if let slot = numberSlots[name] { return slot }
        numberSlots[name] = numbers.count
        numbers.append([Float](repeating: .nan, count: ids.count))
        return numbers.count - 1
    }

    /// The column slot of a categorical field, created (all missing) the first time it is named.
    mutating func categorySlot(_ name: String) -> Int {
        if let slot = categorySlots[name] { return slot }
        categorySlots[name] = categories.count
        categories.append([Int32](repeating: -1, count: ids.count))
        dictionaries.append([])
        codeOf.append([:])
        return categories.count - 1
    }

    /// The columns a rule reads, for ``CompiledRule/filter(columns:)``.
    func ruleColumns(for fields: [String], schema: RuleSchema) -> RuleColumns {
        var columns = RuleColumns(count: count)
        for field in fields {
            guard let type = schema[field] else { continue }
            switch type {
            case .number:
                if let slot = numberSlots[field] {
                    columns.setNumbers(numbers[slot].map { Double($0) }, for: field)
                }
            case .boolean:
                if let slot = numberSlots[field] {
                    columns.setBooleans(numbers[slot].map { $0.isNaN ? -1 : ($0 != 0 ? 1 : 0) }, for: field)
                }
            default:
                if let slot = categorySlots[field] {
                    columns.setCategories(codes: categories[slot], dictionary: dictionaries[slot], for: field)
                }
            }
        }
        return columns
    }

    /// One customer as a rule reads it.
    func record(row: Int32) -> ColumnRecord {
        ColumnRecord(columns: self, row: row)
    }
}

/// One row of ``CustomerColumns`` as a ``RuleRecord``.
struct ColumnRecord: RuleRecord {
    let columns: CustomerColumns
    let row: Int32

    func number(_ field: RuleField) -> Double? {
        columns.number(field.name, row: row).map(Double.init)
    }

    func category(_ field: RuleField) -> String? {
        columns.category(field.name, row: row)
    }

    func boolean(_ field: RuleField) -> Bool? {
        columns.number(field.name, row: row).map { $0 != 0 }
    }
}
