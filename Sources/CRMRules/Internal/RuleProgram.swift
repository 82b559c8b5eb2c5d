/// A compiled rule as flat arrays: nodes refer to children and tests by index, so evaluation walks
/// plain integers instead of an indirect enum, and each test holds its literals in the form its
/// field's type compares fastest.
struct RuleProgram: Sendable {
    struct Node: Sendable {
        enum Kind: UInt8, Sendable { case number, category, boolean, not, and, or }
        var kind: Kind
        /// The test's index for leaves; the operand's node for `not`; the first child (in `children`) for `and`/`or`.
        var first: Int
        /// The number of children for `and`/`or`.
        var count: Int
    }

    private(set) var nodes: [Node] = []
    private(set) var children: [Int] = []
    private(set) var numberTests: [NumberTest] = []
    private(set) var categoryTests: [CategoryTest] = []
    private(set) var booleanTests: [BooleanTest] = []
    private(set) var root = 0

    /// `expression` must have passed ``RuleChecker`` against `schema`.
    init(_ expression: RuleExpression, schema: RuleSchema) {
        root = add(expression, schema)
    }

    private mutating func add(_ expression: RuleExpression, _ schema: RuleSchema) -> Int {
        let node: Node
        switch expression {
        case .comparison(let comparison):
            node = leaf(comparison, schema)
        case .not(let operand):
            node = Node(kind: .not, first: add(operand, schema), count: 0)
        case .and(let operands):
            node = addList(.and, operands, schema)
        case .or(let operands):
            node = addList(.or, operands, schema)
        }
        nodes.append(node)
        return nodes.count - 1
    }

    /// Adds the operands first, so their own children are already in `children`, then lists them.
    private mutating func addList(_ kind: Node.Kind, _ operands: [RuleExpression], _ schema: RuleSchema) -> Node {
        let indices = operands.map { add($0, schema) }
        defer { children.append(contentsOf: indices) }
        return Node(kind: kind, first: children.count, count: indices.count)
    }

    private mutating func leaf(_ comparison: RuleComparison, _ schema: RuleSchema) -> Node {
        guard let field = schema.field(named: comparison.field) else {
            preconditionFailure("RuleProgram: unchecked rule (unknown field '\(comparison.field)')")
        }
        switch schema.type(of: field) {
        case .number:
            numberTests.append(NumberTest(field: field, test: comparison.test))
            return Node(kind: .number, first: numberTests.count - 1, count: 0)
        case .boolean:
            booleanTests.append(BooleanTest(field: field, test: comparison.test))
            return Node(kind: .boolean, first: booleanTests.count - 1, count: 0)
        case .category(_, let ordered):
            categoryTests.append(CategoryTest(field: field, test: comparison.test, ordered: ordered ?? []))
            return Node(kind: .category, first: categoryTests.count - 1, count: 0)
        }
    }

    // MARK: One record

    func evaluate(_ index: Int, _ record: some RuleRecord) -> Bool {
        let node = nodes[index]
        switch node.kind {
        case .number:
            guard let value = record.number(numberTests[node.first].field) else { return false }
            return numberTests[node.first].test(value)
        case .category:
            guard let value = record.category(categoryTests[node.first].field) else { return false }
            return categoryTests[node.first].test(value)
        case .boolean:
            guard let value = record.boolean(booleanTests[node.first].field) else { return false }
            return booleanTests[node.first].test(value)
        case .not:
            return !evaluate(node.first, record)
        case .and:
            for child in children[node.first..<node.first + node.count] where !evaluate(child, record) { return false }
            return true
        case .or:
            for child in children[node.first..<node.first + node.count] where evaluate(child, record) { return true }
            return false
        }
    }

    // MARK: Columns

    /// One bit per row, row `r` at bit `r % 64` of word `r / 64`; bits past `count` are zero.
    func bitmap(_ index: Int, _ columns: RuleColumns) -> [UInt64] {
        let node = nodes[index]
        let wordCount = (columns.count + 63) / 64
        switch node.kind {
        case .number:
            let test = numberTests[node.first]
            switch columns.columns[test.field.name] {
            case nil: return [UInt64](repeating: 0, count: wordCount)
            case .numbers(let values)?: return test.bitmap(values)
            case .some: preconditionFailure("RuleColumns: field '\(test.field.name)' is a number field; give it numbers")
            }
        case .category:
            let test = categoryTests[node.first]
            switch columns.columns[test.field.name] {
            case nil: return [UInt64](repeating: 0, count: wordCount)
            case .categories(let codes, let dictionary)?: return test.bitmap(codes, dictionary)
            case .some: preconditionFailure("RuleColumns: field '\(test.field.name)' is categorical; give it category codes")
            }
        case .boolean:
            let test = booleanTests[node.first]
            switch columns.columns[test.field.name] {
            case nil: return [UInt64](repeating: 0, count: wordCount)
            case .booleans(let values)?: return test.bitmap(values)
            case .some: preconditionFailure("RuleColumns: field '\(test.field.name)' is a boolean field; give it booleans")
            }
        case .not:
            var bits = bitmap(node.first, columns)
            for word in bits.indices { bits[word] = ~bits[word] }
            if columns.count % 64 != 0, let last = bits.indices.last {
                bits[last] &= (1 &<< UInt64(columns.count % 64)) &- 1
            }
            return bits
        case .and:
            var bits = bitmap(children[node.first], columns)
            for child in children[node.first + 1..<node.first + node.count] {
                if !bits.contains(where: { $0 != 0 }) { break }
                let other = bitmap(child, columns)
                for word in bits.indices { bits[word] &= other[word] }
            }
            return bits
        case .or:
            var bits = bitmap(children[node.first], columns)
            for child in children[node.first + 1..<node.first + node.count] {
                let other = bitmap(child, columns)
                for word in bits.indices { bits[word] |= other[word] }
            }
            return bits
        }
    }
}

/// Packs `predicate(row)` for rows `0..<count` into a bitmap, 64 rows a word, without branches in
/// the inner loop.
@inline(__always)
func packBits(_ count: Int, _ predicate: (Int) -> Bool) -> [UInt64] {
    let wordCount = (count + 63) / 64
    return [UInt64](unsafeUninitializedCapacity: wordCount) { words, initialized in
        var row = 0
        var word = 0
        while row < count {
            let end = min(row + 64, count)
            var bits: UInt64 = 0
            var bit: UInt64 = 0
            while row < end {
                bits |= UInt64(predicate(row) ? 1 : 0) &<< bit
                bit &+= 1
                row &+= 1
            }
            words[word] = bits
            word &+= 1
        }
        initialized = wordCount
    }
}

// MARK: - Tests

/// A comparison on a number field.
struct NumberTest: Sendable {
    enum Kind: Sendable { case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual, between, isIn, notIn }

    let field: RuleField
    let kind: Kind
    let low: Double
    let high: Double
    /// Sorted, for `isIn`/`notIn`.
    let list: [Double]

    init(field: RuleField, test: RuleTest) {
        self.field = field
        func number(_ value: RuleValue) -> Double {
            guard case .number(let number) = value else { preconditionFailure("RuleProgram: unchecked rule (number field)") }
            return number
        }
        var low = 0.0
        var high = 0.0
        var list: [Double] = []
        switch test {
        case .compare(let op, let value):
            low = number(value)
            switch op {
            case .equal: kind = .equal
            case .notEqual: kind = .notEqual
            case .less: kind = .less
            case .lessOrEqual: kind = .lessOrEqual
            case .greater: kind = .greater
            case .greaterOrEqual: kind = .greaterOrEqual
            }
        case .between(let a, let b):
            kind = .between
            low = number(a)
            high = number(b)
        case .isIn(let values):
            kind = .isIn
            list = values.map(number).sorted()
        case .notIn(let values):
            kind = .notIn
            list = values.map(number).sorted()
        }
        self.low = low
        self.high = high
        self.list = list
    }

    /// Whether `value` passes; NaN (missing) passes nothing.
    @inline(__always)
    func test(_ value: Double) -> Bool {
        switch kind {
        case .equal: return value == low
        case .notEqual: return value == value && value != low
        case .less: return value < low
        case .lessOrEqual: return value <= low
        case .greater: return value > low
        case .greaterOrEqual: return value >= low
        case .between: return value >= low && value <= high
        case .isIn: return contains(value)
        case .notIn: return value == value && !contains(value)
        }
    }

    @inline(__always)
    private func contains(_ value: Double) -> Bool {
        if list.count <= 8 { return list.contains(value) }
        var lower = 0
        var upper = list.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if list[middle] < value { lower = middle + 1 } else { upper = middle }
        }
        return lower < list.count && list[lower] == value
    }

    func bitmap(_ values: [Double]) -> [UInt64] {
        values.withUnsafeBufferPointer { column in
            let (low, high) = (self.low, self.high)
            switch kind {
            case .equal: return packBits(column.count) { column[$0] == low }
            case .notEqual: return packBits(column.count) { column[$0] == column[$0] && column[$0] != low }
            case .less: return packBits(column.count) { column[$0] < low }
            case .lessOrEqual: return packBits(column.count) { column[$0] <= low }
            case .greater: return packBits(column.count) { column[$0] > low }
            case .greaterOrEqual: return packBits(column.count) { column[$0] >= low }
            case .between: return packBits(column.count) { column[$0] >= low && column[$0] <= high }
            case .isIn, .notIn: return packBits(column.count) { test(column[$0]) }
            }
        }
    }
}

/// A comparison on a categorical field, as a set of accepted categories (or, negated, of refused
/// ones): `<`, `between` and the rest become the slice of the order they accept.
struct CategoryTest: Sendable {
    let field: RuleField
    /// Without repeats.
    let accepted: [String]
    /// For longer lists, so a test is one hash rather than many comparisons.
    let acceptedSet: Set<String>?
    /// True for `!=` and `not in`: a present value passes when it is not accepted.
    let negate: Bool

    init(field: RuleField, test: RuleTest, ordered: [String]) {
        self.field = field
        func string(_ value: RuleValue) -> String {
            guard case .string(let string) = value else { preconditionFailure("RuleProgram: unchecked rule (categorical field)") }
            return string
        }
        func rank(_ value: RuleValue) -> Int {
            guard let rank = ordered.firstIndex(of: string(value)) else {
                preconditionFailure("RuleProgram: unchecked rule (value outside the order)")
            }
            return rank
        }
        var accepted: [String]
        var negate = false
        switch test {
        case .compare(.equal, let value): accepted = [string(value)]
        case .compare(.notEqual, let value): accepted = [string(value)]; negate = true
        case .compare(.less, let value): accepted = Array(ordered[..<rank(value)])
        case .compare(.lessOrEqual, let value): accepted = Array(ordered[...rank(value)])
        case .compare(.greater, let value): accepted = Array(ordered[(rank(value) + 1)...])
        case .compare(.greaterOrEqual, let value): accepted = Array(ordered[rank(value)...])
        case .between(let low, let high):
            let (lowRank, highRank) = (rank(low), rank(high))
            accepted = lowRank <= highRank ? Array(ordered[lowRank...highRank]) : []
        case .isIn(let values): accepted = values.map(string)
        case .notIn(let values): accepted = values.map(string); negate = true
        }
        var seen = Set<String>()
        accepted = accepted.filter { seen.insert($0).inserted }
        self.accepted = accepted
        self.acceptedSet = accepted.count > 8 ? seen : nil
        self.negate = negate
    }

    @inline(__always)
    func test(_ value: String) -> Bool {
        let found = if let acceptedSet { acceptedSet.contains(value) } else { accepted.contains(value) }
        return found != negate
    }

    func bitmap(_ codes: [Int32], _ dictionary: [String]) -> [UInt64] {
        let table = dictionary.map { test($0) ? UInt8(1) : 0 }
        return codes.withUnsafeBufferPointer { column in
            table.withUnsafeBufferPointer { table in
                let size = UInt32(truncatingIfNeeded: table.count)
                return packBits(column.count) { row in
                    let code = UInt32(bitPattern: column[row])
                    return code < size && table[Int(code)] != 0
                }
            }
        }
    }
}

/// A comparison on a boolean field, as which of false and true pass.
struct BooleanTest: Sendable {
    let field: RuleField
    let acceptsFalse: Bool
    let acceptsTrue: Bool

    init(field: RuleField, test: RuleTest) {
        self.field = field
        func boolean(_ value: RuleValue) -> Bool {
            guard case .boolean(let boolean) = value else { preconditionFailure("RuleProgram: unchecked rule (boolean field)") }
            return boolean
        }
        let named: [Bool]
        let negate: Bool
        switch test {
        case .compare(.equal, let value): (named, negate) = ([boolean(value)], false)
        case .compare(.notEqual, let value): (named, negate) = ([boolean(value)], true)
        case .isIn(let values): (named, negate) = (values.map(boolean), false)
        case .notIn(let values): (named, negate) = (values.map(boolean), true)
        case .compare, .between: preconditionFailure("RuleProgram: unchecked rule (ordering a boolean field)")
        }
        acceptsFalse = named.contains(false) != negate
        acceptsTrue = named.contains(true) != negate
    }

    @inline(__always)
    func test(_ value: Bool) -> Bool { value ? acceptsTrue : acceptsFalse }

    func bitmap(_ values: [Int8]) -> [UInt64] {
        let (acceptsFalse, acceptsTrue) = (self.acceptsFalse, self.acceptsTrue)
        return values.withUnsafeBufferPointer { column in
            packBits(column.count) { (column[$0] == 0 && acceptsFalse) || (column[$0] == 1 && acceptsTrue) }
        }
    }
}
