/// A rule checked against a schema and resolved for evaluation: fields are slots, literals are
/// typed, ordering comparisons on categories are sets of accepted categories.
///
/// Build it once (``Rule/compile(against:)``) and share it: it is an immutable `Sendable` value, so
/// any number of tasks may evaluate it at once.
///
/// - ``matches(_:)`` evaluates one customer through ``RuleRecord``, reading only the fields it needs
///   and stopping as soon as the answer is known (`and` at the first false, `or` at the first true).
/// - ``filter(columns:)`` and ``count(columns:)`` evaluate a whole population held in ``RuleColumns``:
///   each comparison scans its column into a bitmap (categories by a table indexed by code, no string
///   work per row), and `and`/`or`/`not` combine bitmaps 64 rows at a time.
///
/// Both paths give the same answer for the same customers.
public struct CompiledRule: Sendable {
    public let rule: Rule
    public let schema: RuleSchema
    let program: RuleProgram

    init(rule: Rule, schema: RuleSchema) {
        self.rule = rule
        self.schema = schema
        self.program = RuleProgram(rule.expression, schema: schema)
    }

    /// Whether one customer satisfies the rule.
    public func matches(_ record: some RuleRecord) -> Bool {
        program.evaluate(program.root, record)
    }

    /// The rows (ascending) that satisfy the rule.
    public func filter(columns: RuleColumns) -> [Int32] {
        let bits = program.bitmap(program.root, columns)
        var rows: [Int32] = []
        rows.reserveCapacity(bits.reduce(0) { $0 + $1.nonzeroBitCount })
        for (wordIndex, word) in bits.enumerated() {
            var remaining = word
            while remaining != 0 {
                rows.append(Int32(truncatingIfNeeded: wordIndex &* 64 &+ remaining.trailingZeroBitCount))
                remaining &= remaining &- 1
            }
        }
        return rows
    }

    /// The rows that satisfy the rule as a bitmap: row r is bit r % 64 of word r / 64 (the words
    /// past the last row are zero). For callers that walk the rows in another order than ascending.
    public func bitmap(columns: RuleColumns) -> [UInt64] {
        program.bitmap(program.root, columns)
    }

    /// How many rows satisfy the rule.
    public func count(columns: RuleColumns) -> Int {
        program.bitmap(program.root, columns).reduce(0) { $0 + $1.nonzeroBitCount }
    }
}
