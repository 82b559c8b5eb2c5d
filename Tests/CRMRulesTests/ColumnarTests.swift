import CRMRules
import Testing

/// The columnar scan must agree with per-record evaluation, whatever the rule and the data.
@Suite struct ColumnarTests {
    static let tiers = ["bronze", "silver", "gold", "platinum", "diamond"]
    static let risks = ["C1", "C2", "C3", "C4", "C5"]
    static let statuses = ["active", "frozen", "closed"]
    static let provinces = ["上海", "北京", "广东", "浙江", "四川"]

    /// A population with missing values, values outside the schema's lists, and NaN, stored both as
    /// records and as columns (category dictionaries in their own shuffled order).
    struct Population {
        var records: [DictionaryRecord] = []
        var columns: RuleColumns

        init(count: Int, generator: inout SeededGenerator) {
            columns = RuleColumns(count: count)
            var numbers: [String: [Double]] = ["age": [], "position_ratio": [], "trade_count_90d": []]
            var categoryValues: [String: [String?]] = ["asset_tier": [], "risk_tolerance": [], "status": [], "province": []]
            let choices: [String: [String]] = [
                "asset_tier": ColumnarTests.tiers + ["unobtainium"],
                "risk_tolerance": ColumnarTests.risks + ["C9"],
                "status": ColumnarTests.statuses + ["dormant"],
                "province": ColumnarTests.provinces,
            ]
            var vips: [Int8] = []
            for _ in 0..<count {
                var record = DictionaryRecord([:])
                func present() -> Bool { Int.random(in: 0..<100, using: &generator) < 85 }
                let age = Double(Int.random(in: 18...80, using: &generator))
                let ratio = Double(Int.random(in: 0...20, using: &generator)) * 0.05
                let trades = Double(Int.random(in: 0...40, using: &generator))
                for (name, value) in [("age", age), ("position_ratio", ratio), ("trade_count_90d", trades)] {
                    if present() {
                        record.values[name] = .number(value)
                        numbers[name, default: []].append(value)
                    } else {
                        numbers[name, default: []].append(.nan)
                    }
                }
                for name in ["asset_tier", "risk_tolerance", "status", "province"] {
                    let options = choices[name] ?? []
                    if present(), let value = options.randomElement(using: &generator) {
                        record.values[name] = .string(value)
                        categoryValues[name, default: []].append(value)
                    } else {
                        categoryValues[name, default: []].append(nil)
                    }
                }
                if present() {
                    let vip = Bool.random(using: &generator)
                    record.values["is_vip"] = .boolean(vip)
                    vips.append(vip ? 1 : 0)
                } else {
                    vips.append([-1, 2, 7].randomElement(using: &generator) ?? -1)
                }
                records.append(record)
            }
            for (name, column) in numbers { columns.setNumbers(column, for: name) }
            for (name, values) in categoryValues {
                let dictionary = (choices[name] ?? []).shuffled(using: &generator)
                let missingCode = Int32(dictionary.count)
                let codes = values.map { value -> Int32 in
                    guard let value, let code = dictionary.firstIndex(of: value) else {
                        return Bool.random(using: &generator) ? -1 : missingCode
                    }
                    return Int32(code)
                }
                columns.setCategories(codes: codes, dictionary: dictionary, for: name)
            }
            columns.setBooleans(vips, for: "is_vip")
        }
    }

    /// A random rule over ``customerSchema``, as text, with every kind of comparison.
    static func randomRule(depth: Int, _ g: inout SeededGenerator) -> String {
        let choice = depth >= 3 ? 0 : Int.random(in: 0..<6, using: &g)
        switch choice {
        case 3: return "not " + randomRule(depth: depth + 1, &g)
        case 4: return "(" + randomRule(depth: depth + 1, &g) + " and " + randomRule(depth: depth + 1, &g) + ")"
        case 5: return "(" + randomRule(depth: depth + 1, &g) + " or " + randomRule(depth: depth + 1, &g) + ")"
        default: return randomComparison(&g)
        }
    }

    static func randomComparison(_ g: inout SeededGenerator) -> String {
        func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &g)] }
        func list(_ values: [String]) -> String {
            (0..<Int.random(in: 1...12, using: &g)).map { _ in pick(values) }.joined(separator: ", ")
        }
        let operators = ["=", "!=", "<", "<=", ">", ">="]
        switch Int.random(in: 0..<7, using: &g) {
        case 0, 1:
            let field = pick(["age", "trade_count_90d", "position_ratio"])
            let numbers = field == "position_ratio"
                ? (0...20).map { String(Double($0) * 0.05) } : (0...80).map { String($0) }
            switch Int.random(in: 0..<4, using: &g) {
            case 0: return "\(field) in (\(list(numbers)))"
            case 1: return "\(field) not in (\(list(numbers)))"
            case 2:
                let (a, b) = (pick(numbers), pick(numbers))
                return (Double(a) ?? 0) <= (Double(b) ?? 0) ? "\(field) between \(a) and \(b)" : "\(field) between \(b) and \(a)"
            default: return "\(field) \(pick(operators)) \(pick(numbers))"
            }
        case 2, 3:
            let (field, order) = pick([("asset_tier", tiers), ("risk_tolerance", risks)])
            switch Int.random(in: 0..<4, using: &g) {
            case 0: return "\(field) in (\(list(order)))"
            case 1: return "\(field) not in (\(list(order)))"
            case 2:
                let (a, b) = (Int.random(in: 0..<order.count, using: &g), Int.random(in: 0..<order.count, using: &g))
                return "\(field) between \(order[min(a, b)]) and \(order[max(a, b)])"
            default: return "\(field) \(pick(operators)) \(pick(order))"
            }
        case 4:
            let (field, values) = pick([("status", statuses), ("province", provinces.map { "\"\($0)\"" } + ["其他"])])
            switch Int.random(in: 0..<4, using: &g) {
            case 0: return "\(field) in (\(list(values)))"
            case 1: return "\(field) not in (\(list(values)))"
            case 2: return "\(field) != \(pick(values))"
            default: return "\(field) = \(pick(values))"
            }
        default:
            switch Int.random(in: 0..<3, using: &g) {
            case 0: return "is_vip \(pick(["=", "!="])) \(pick(["true", "false"]))"
            case 1: return "is_vip in (\(pick(["true", "false", "true, false"])))"
            default: return "is_vip not in (\(pick(["true", "false", "true, false"])))"
            }
        }
    }

    @Test(arguments: [3001, 64, 1])
    func filterAgreesWithMatches(rows: Int) throws {
        var generator = SeededGenerator(seed: 0x5EED_0000 + UInt64(rows))
        let population = Population(count: rows, generator: &generator)
        var nonTrivial = 0
        for _ in 0..<300 {
            let text = Self.randomRule(depth: 0, &generator)
            let parsed = try rule(text, schema: customerSchema)
            #expect(try rule(parsed.description, schema: customerSchema) == parsed, "round trip of \(text)")
            let compiled = try parsed.compile(against: customerSchema)
            let expected = population.records.indices.filter { compiled.matches(population.records[$0]) }.map(Int32.init)
            let actual = compiled.filter(columns: population.columns)
            #expect(actual == expected, "\(text)")
            #expect(compiled.count(columns: population.columns) == expected.count, "\(text)")
            if !expected.isEmpty, expected.count < rows { nonTrivial += 1 }
        }
        if rows > 1 { #expect(nonTrivial > 100) }
    }

    @Test func theBriefsSegmentsOverColumns() throws {
        var generator = SeededGenerator(seed: 42)
        let population = Population(count: 2000, generator: &generator)
        for text in [
            "asset_tier in (gold, platinum) and position_ratio < 0.3 and not status = frozen",
            #"(age between 30 and 55 or risk_tolerance >= C4) and trade_count_90d > 10 and province in ("上海", 北京)"#,
        ] {
            let compiled = try rule(text, schema: customerSchema).compile(against: customerSchema)
            let expected = population.records.filter(compiled.matches).count
            #expect(expected > 0)
            #expect(compiled.count(columns: population.columns) == expected)
        }
    }

    @Test func aFieldWithoutAColumnIsMissingEverywhere() throws {
        var columns = RuleColumns(count: 100)
        columns.setNumbers((0..<100).map(Double.init), for: "age")
        let present = try rule("age >= 50").compile(against: customerSchema)
        #expect(present.count(columns: columns) == 50)
        #expect(try rule("is_vip = true").compile(against: customerSchema).count(columns: columns) == 0)
        #expect(try rule("not is_vip = true").compile(against: customerSchema).count(columns: columns) == 100)
        #expect(try rule("age >= 98 or not status = active").compile(against: customerSchema).filter(columns: columns).count == 100)
        #expect(try rule("age >= 98 and not status = active").compile(against: customerSchema).filter(columns: columns) == [98, 99])
    }

    @Test func emptyPopulation() throws {
        let compiled = try rule("not age > 3").compile(against: customerSchema)
        #expect(compiled.filter(columns: RuleColumns(count: 0)) == [])
        #expect(compiled.count(columns: RuleColumns(count: 0)) == 0)
    }
}
