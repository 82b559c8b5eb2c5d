import CRMRules
import Testing

@Suite struct CompiledRuleTests {
    static let alice: DictionaryRecord = [
        "age": 42, "position_ratio": 0.2, "trade_count_90d": 25, "asset_tier": "gold", "risk_tolerance": "C4",
        "status": "active", "province": "上海", "is_vip": true,
    ]
    static let bob: DictionaryRecord = [
        "age": 61, "position_ratio": 0.8, "trade_count_90d": 3, "asset_tier": "diamond", "risk_tolerance": "C2",
        "status": "frozen", "province": "北京", "is_vip": false,
    ]
    /// Only an age and a tier: every other comparison is on a missing value.
    static let carol: DictionaryRecord = ["age": 30, "asset_tier": "bronze"]
    /// Values the schema does not list, and values of the wrong kind (which read as missing).
    static let dave: DictionaryRecord = [
        "age": "forty", "asset_tier": "unobtainium", "status": "dormant", "is_vip": 1, "position_ratio": .number(.nan),
    ]

    struct Row: Sendable, CustomTestStringConvertible {
        var rule: String
        /// Whether alice, bob, carol, dave match.
        var expected: [Bool]
        var testDescription: String { rule }
    }

    static let table: [Row] = [
        Row(rule: "asset_tier in (gold, platinum) and position_ratio < 0.3 and not status = frozen", expected: [true, false, false, false]),
        Row(
            rule: #"(age between 30 and 55 or risk_tolerance >= C4) and trade_count_90d > 10 and province in ("上海", 北京)"#,
            expected: [true, false, false, false]
        ),
        Row(rule: "age between 30 and 55", expected: [true, false, true, false]),
        Row(rule: "age between 42 and 42", expected: [true, false, false, false]),
        Row(rule: "age > 42", expected: [false, true, false, false]),
        Row(rule: "age >= 42", expected: [true, true, false, false]),
        Row(rule: "age < 42", expected: [false, false, true, false]),
        Row(rule: "age <= 30", expected: [false, false, true, false]),
        Row(rule: "age = 30", expected: [false, false, true, false]),
        Row(rule: "age != 30", expected: [true, true, false, false]),
        Row(rule: "not age = 30", expected: [true, true, false, true]),
        Row(rule: "age in (30, 61)", expected: [false, true, true, false]),
        Row(rule: "age not in (30, 61)", expected: [true, false, false, false]),
        Row(rule: "not age in (30, 61)", expected: [true, false, false, true]),
        Row(rule: "age in (1, 2, 3, 4, 5, 6, 7, 8, 9, 30, 42)", expected: [true, false, true, false]),
        // Missing values: every comparison false, `not` true.
        Row(rule: "status = active", expected: [true, false, false, false]),
        Row(rule: "status != active", expected: [false, true, false, true]),
        Row(rule: "not status = active", expected: [false, true, true, true]),
        Row(rule: "status not in (active)", expected: [false, true, false, true]),
        Row(rule: "position_ratio < 0.5", expected: [true, false, false, false]),
        Row(rule: "position_ratio != 0.5", expected: [true, true, false, false]),
        Row(rule: "position_ratio not in (0.5)", expected: [true, true, false, false]),
        Row(rule: "not position_ratio >= 0.5", expected: [true, false, true, true]),
        // Ordered categories compare by place; values outside the order pass no ordering test.
        Row(rule: "asset_tier >= gold", expected: [true, true, false, false]),
        Row(rule: "asset_tier > gold", expected: [false, true, false, false]),
        Row(rule: "asset_tier < gold", expected: [false, false, true, false]),
        Row(rule: "asset_tier <= silver", expected: [false, false, true, false]),
        Row(rule: "asset_tier between silver and platinum", expected: [true, false, false, false]),
        Row(rule: "asset_tier != gold", expected: [false, true, true, true]),
        Row(rule: "risk_tolerance >= C4", expected: [true, false, false, false]),
        Row(rule: "risk_tolerance < C4", expected: [false, true, false, false]),
        Row(rule: "province in (上海, 广州)", expected: [true, false, false, false]),
        Row(rule: "province = \"北京\"", expected: [false, true, false, false]),
        Row(rule: "status in (active, frozen, closed)", expected: [true, true, false, false]),
        // Booleans.
        Row(rule: "is_vip = true", expected: [true, false, false, false]),
        Row(rule: "is_vip = false", expected: [false, true, false, false]),
        Row(rule: "is_vip != true", expected: [false, true, false, false]),
        Row(rule: "is_vip in (true, false)", expected: [true, true, false, false]),
        Row(rule: "is_vip not in (true)", expected: [false, true, false, false]),
        Row(rule: "not is_vip = true", expected: [false, true, true, true]),
        // Precedence.
        Row(rule: "age = 30 or age = 61 and is_vip = true", expected: [false, false, true, false]),
        Row(rule: "(age = 30 or age = 61) and is_vip = false", expected: [false, true, false, false]),
        Row(rule: "not age = 30 and asset_tier = bronze", expected: [false, false, false, false]),
        Row(rule: "not (age = 30 and asset_tier = bronze)", expected: [true, true, false, true]),
        Row(rule: "not not age = 30", expected: [false, false, true, false]),
    ]

    @Test(arguments: table)
    func evaluatesTheTable(_ row: Row) throws {
        let compiled = try rule(row.rule, schema: customerSchema).compile(against: customerSchema)
        let records = [Self.alice, Self.bob, Self.carol, Self.dave]
        #expect(records.map(compiled.matches) == row.expected)
    }

    @Test func anArrayBackedRecordReadsBySlot() throws {
        /// The shape a service would use: values aligned with the schema's fields.
        struct SlotRecord: RuleRecord {
            var numbers: [Double?]
            var categories: [String?]
            var booleans: [Bool?]
            func number(_ field: RuleField) -> Double? { numbers[field.index] }
            func category(_ field: RuleField) -> String? { categories[field.index] }
            func boolean(_ field: RuleField) -> Bool? { booleans[field.index] }
        }
        let schema: RuleSchema = ["age": .number, "tier": .ordered(["a", "b", "c"]), "vip": .boolean]
        #expect(schema.fields.map(\.name) == ["age", "tier", "vip"])
        #expect(schema.field(named: "tier")?.index == 1)
        let compiled = try Rule.parse("age > 30 and tier >= b and vip = true").compile(against: schema)
        let yes = SlotRecord(numbers: [40, nil, nil], categories: [nil, "c", nil], booleans: [nil, nil, true])
        let no = SlotRecord(numbers: [40, nil, nil], categories: [nil, "a", nil], booleans: [nil, nil, true])
        #expect(compiled.matches(yes))
        #expect(!compiled.matches(no))
    }

    @Test func schemaAddReplacesInPlace() {
        var schema: RuleSchema = ["a": .number, "b": .boolean]
        schema.add("a", .anyCategory)
        schema.add("c", .number)
        #expect(schema.fields.map(\.name) == ["a", "b", "c"])
        #expect(schema["a"] == .anyCategory)
        #expect(schema["nope"] == nil)
        #expect(FieldType.category(values: ["x"], ordered: ["y"]).knownValues == ["x", "y"])
    }

    @Test func compiledRulesCrossTasks() async throws {
        let compiled = try rule("age >= 40").compile(against: customerSchema)
        let counts = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { [Self.alice, Self.bob, Self.carol].filter(compiled.matches).count }
            }
            return await group.reduce(0, +)
        }
        #expect(counts == 8)
    }
}
