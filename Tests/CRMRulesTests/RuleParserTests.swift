import CRMRules
import Testing

@Suite struct RuleParserTests {
    /// Written text → canonical text.
    static let canonical: [(String, String)] = [
        (
            "asset_tier in (gold, platinum) and position_ratio < 0.3 and not status = frozen",
            "asset_tier in (gold, platinum) and position_ratio < 0.3 and not status = frozen"
        ),
        (
            #"(age between 30 and 55 or risk_tolerance >= C4) and trade_count_90d > 10 and province in ("上海", 北京)"#,
            "(age between 30 and 55 or risk_tolerance >= C4) and trade_count_90d > 10 and province in (上海, 北京)"
        ),
        ("age>=30.0", "age >= 30"),
        ("  age  >=\t30\n", "age >= 30"),
        ("x=1 AND y=2 Or NOT z=3", "x = 1 and y = 2 or not z = 3"),
        ("X = 1", "X = 1"),
        ("((a = 1))", "a = 1"),
        ("a = 1 and (b = 2 and c = 3)", "a = 1 and b = 2 and c = 3"),
        ("(a = 1 and b = 2) and c = 3", "a = 1 and b = 2 and c = 3"),
        ("a = 1 or (b = 2 or c = 3)", "a = 1 or b = 2 or c = 3"),
        ("(a = 1 or b = 2) and c = 3", "(a = 1 or b = 2) and c = 3"),
        ("a = 1 or (b = 2 and c = 3)", "a = 1 or b = 2 and c = 3"),
        ("not (a = 1 or b = 2)", "not (a = 1 or b = 2)"),
        ("not (a = 1 and b = 2)", "not (a = 1 and b = 2)"),
        ("not (a = 1) and b = 2", "not a = 1 and b = 2"),
        ("not not a = 1", "not not a = 1"),
        ("NOT(NOT(a = 1))", "not not a = 1"),
        ("a != 1 and b <= 2 and c > 3 and d < -4", "a != 1 and b <= 2 and c > 3 and d < -4"),
        ("a = 1e6", "a = 1000000"),
        ("a = 2.5E-3", "a = 0.0025"),
        ("a = 1e+20", "a = 1e+20"),
        ("a = -0.25", "a = -0.25"),
        ("a = 007", "a = 7"),
        (#"s = "gold""#, "s = gold"),
        (#"s = "and""#, #"s = "and""#),
        (#"s = "TRUE""#, #"s = "TRUE""#),
        (#"s = "high-risk""#, #"s = "high-risk""#),
        (#"s = "2A""#, #"s = "2A""#),
        (#"s = """#, #"s = """#),
        (#"s = "say \"hi\" \\ bye""#, #"s = "say \"hi\" \\ bye""#),
        (#"s = "上海 浦东""#, #"s = "上海 浦东""#),
        ("s = 北京", "s = 北京"),
        ("s = C4", "s = C4"),
        ("s = _x", "s = _x"),
        ("flag = TRUE or flag = False", "flag = true or flag = false"),
        ("x in (a, b, a)", "x in (a, b)"),
        (#"x in (a, "a", 1, 1.0)"#, "x in (a, 1)"),
        ("x not in (1,2)", "x not in (1, 2)"),
        ("x NOT IN (1)", "x not in (1)"),
        ("not x in (1)", "not x in (1)"),
        (#"x in ("in", "2A")"#, #"x in ("in", "2A")"#),
        ("age BETWEEN 30 AND 55 and x = 1", "age between 30 and 55 and x = 1"),
        ("tier between silver and gold", "tier between silver and gold"),
        ("age between 30 and 30", "age between 30 and 30"),
    ]

    @Test(arguments: canonical)
    func canonicalText(written: String, expected: String) throws {
        let parsed = try rule(written)
        #expect(parsed.description == expected)
        let again = try rule(parsed.description)
        #expect(again == parsed)
        #expect(again.description == expected)
    }

    @Test func andBindsTighterThanOr() throws {
        let parsed = try rule("a = 1 or b = 2 and c = 3")
        #expect(parsed == (try rule("a = 1 or (b = 2 and c = 3)")))
        #expect(parsed != (try rule("(a = 1 or b = 2) and c = 3")))
        guard case .or(let operands) = parsed.expression else {
            Issue.record("expected an or at the top, got \(parsed.expression)")
            return
        }
        #expect(operands.count == 2)
        guard case .and(let inner) = operands[1] else {
            Issue.record("expected the and as the second operand")
            return
        }
        #expect(inner.count == 2)
        #expect(try rule("a = 1 and b = 2 or c = 3") == (try rule("(a = 1 and b = 2) or c = 3")))
    }

    @Test func notBindsTighterThanAnd() throws {
        let parsed = try rule("not a = 1 and b = 2")
        #expect(parsed == (try rule("(not a = 1) and b = 2")))
        #expect(parsed != (try rule("not (a = 1 and b = 2)")))
        guard case .and(let operands) = parsed.expression, case .not = operands[0] else {
            Issue.record("expected (not a) and b, got \(parsed.expression)")
            return
        }
        #expect(try rule("not a = 1 or b = 2") == (try rule("(not a = 1) or b = 2")))
    }

    @Test func betweenOwnsItsAnd() throws {
        let parsed = try rule("age between 30 and 55 and x = 1")
        guard case .and(let operands) = parsed.expression, operands.count == 2,
            case .comparison(let between) = operands[0]
        else {
            Issue.record("expected between and x, got \(parsed.expression)")
            return
        }
        #expect(between.field == "age")
        #expect(between.test == .between(30, 55))
    }

    @Test func treeOfComparisons() throws {
        let parsed = try rule(#"status not in (frozen, "closed") and risk_tolerance >= C4 and is_vip = true"#)
        guard case .and(let operands) = parsed.expression, operands.count == 3,
            case .comparison(let first) = operands[0], case .comparison(let second) = operands[1],
            case .comparison(let third) = operands[2]
        else {
            Issue.record("unexpected tree \(parsed.expression)")
            return
        }
        #expect(first.field == "status")
        #expect(first.test == .notIn(["frozen", "closed"]))
        #expect(second.test == .compare(.greaterOrEqual, .string("C4")))
        #expect(third.test == .compare(.equal, .boolean(true)))
    }

    @Test func stringsKeepEscapesAndChineseText() throws {
        let parsed = try rule(#"name = "他说 \"好\" \\ ok" or province in ("上海", 北京, "新疆维吾尔自治区")"#)
        guard case .or(let operands) = parsed.expression, case .comparison(let name) = operands[0],
            case .comparison(let province) = operands[1]
        else {
            Issue.record("unexpected tree \(parsed.expression)")
            return
        }
        #expect(name.test == .compare(.equal, .string(#"他说 "好" \ ok"#)))
        #expect(province.test == .isIn(["上海", "北京", "新疆维吾尔自治区"]))
        #expect(parsed.description == #"name = "他说 \"好\" \\ ok" or province in (上海, 北京, 新疆维吾尔自治区)"#)
    }

    @Test func bareWordsAreStringsAndKeywordsAreCaseInsensitive() throws {
        #expect(try rule("status = frozen") == (try rule(#"status = "frozen""#)))
        #expect(try rule("x = True") == (try rule("x = true")))
        #expect(try rule("x = True") != (try rule(#"x = "True""#)))
        #expect(try rule("a = 1 AnD b = 2") == (try rule("a = 1 and b = 2")))
    }

    @Test func fieldNamesAreCaseSensitive() throws {
        #expect(try rule("Age = 1") != (try rule("age = 1")))
        #expect(try rule("Age = 1 or age = 2 or _x9 = 3").fields == ["Age", "age", "_x9"])
    }

    @Test func fieldsListsWhatTheRuleReads() throws {
        let parsed = try rule("(age between 30 and 55 or risk_tolerance >= C4) and not age = 40 and province in (上海)")
        #expect(parsed.fields == ["age", "risk_tolerance", "province"])
    }

    @Test func equalityIgnoresSpacingAndPositions() throws {
        #expect(try rule("a=1") == (try rule("   a   =   1   ")))
        #expect(Set([try rule("a=1"), try rule(" a = 1")]).count == 1)
    }

    @Test func losslessStringConvertible() throws {
        #expect(Rule("a = 1")?.description == "a = 1")
        #expect(Rule("a = ") == nil)
    }

    @Test func nestingUpToTheLimit() throws {
        let deep = String(repeating: "(", count: 100) + "a = 1" + String(repeating: ")", count: 100)
        #expect(try rule(deep).description == "a = 1")
        let nots = String(repeating: "not ", count: 100) + "a = 1"
        #expect(try rule(nots) == (try rule(try rule(nots).description)))
    }

    @Test func parseWithSchemaAcceptsTheBriefsExamples() throws {
        _ = try rule(
            "asset_tier in (gold, platinum) and position_ratio < 0.3 and not status = frozen",
            schema: customerSchema
        )
        _ = try rule(
            #"(age between 30 and 55 or risk_tolerance >= C4) and trade_count_90d > 10 and province in ("上海", 北京)"#,
            schema: customerSchema
        )
        _ = try rule("is_vip = true and is_vip in (true, false) and asset_tier between silver and diamond", schema: customerSchema)
    }
}
