import CRMRules
import Testing

@Suite struct RuleErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var position: Int
        var reason: String
        var testDescription: String { text }
    }

    static let syntax: [Case] = [
        // Empty.
        Case(text: "", position: 1, reason: "empty rule"),
        Case(text: "   \n", position: 1, reason: "empty rule"),
        // Missing values.
        Case(text: "age > ", position: 7, reason: "expected a value after '>'"),
        Case(text: "(position_ratio < )", position: 19, reason: "expected a value after '<'"),
        Case(
            text: "x = in", position: 5,
            reason: "expected a value after '=', found the keyword 'in' (quote it to mean the string)"
        ),
        // Lists.
        Case(text: "status in frozen", position: 11, reason: "'in' needs a parenthesised list"),
        Case(text: "status not in frozen", position: 15, reason: "'not in' needs a parenthesised list"),
        Case(text: "status in", position: 10, reason: "'in' needs a parenthesised list"),
        Case(
            text: "status not frozen", position: 12,
            reason: "expected 'in' after 'not' (write 'not' before the field to negate a comparison)"
        ),
        Case(text: "x in ()", position: 7, reason: "'in' needs at least one value in its list"),
        Case(text: "x in (a, )", position: 10, reason: "expected a value after ','"),
        Case(text: "x in (, a)", position: 7, reason: "expected a value after '('"),
        Case(text: "x in (a b)", position: 9, reason: "expected ',' or ')' in the list opened at position 6, found 'b'"),
        Case(text: "x in (a", position: 8, reason: "expected ',' or ')' in the list opened at position 6"),
        // Strings.
        Case(text: #"name = "abc"#, position: 8, reason: "unterminated string"),
        Case(text: #"province = "上海"#, position: 12, reason: "unterminated string"),
        Case(text: #"province = "上海" and city = "北京"#, position: 28, reason: "unterminated string"),
        Case(text: #"s = "abc\"#, position: 5, reason: "unterminated string"),
        Case(text: #"s = "a\nb""#, position: 7, reason: #"unknown escape '\n' in a string (only \" and \\ are allowed)"#),
        // Trailing input and parentheses.
        Case(text: "a = 1 b = 2", position: 7, reason: "expected 'and', 'or' or the end of the rule, found 'b'"),
        Case(text: "a = 1 30", position: 7, reason: "expected 'and', 'or' or the end of the rule, found 30"),
        Case(text: "a = 1)", position: 6, reason: "unmatched ')'"),
        Case(text: "(a = 1 and b = 2", position: 17, reason: "expected ')' to close the '(' at position 1"),
        Case(text: "x = 1 and (a = 1 b", position: 18, reason: "expected 'and', 'or' or ')' to close the '(' at position 11, found 'b'"),
        Case(text: "()", position: 2, reason: "expected a field name after '(', found ')'"),
        // Characters and operators.
        Case(text: "a = 1 & b = 2", position: 7, reason: "unexpected character '&'"),
        Case(text: "a = 1；", position: 6, reason: "unexpected character '；'"),
        Case(text: "a == 1", position: 3, reason: "'==' is not an operator; use '='"),
        Case(text: "a <> 1", position: 3, reason: "'<>' is not an operator; use '!='"),
        Case(text: "a ! 1", position: 3, reason: "unexpected character '!' (did you mean '!='?)"),
        // Numbers.
        Case(text: "a = 3abc", position: 5, reason: "malformed number '3abc'"),
        Case(text: "a = 1.2.3", position: 5, reason: "malformed number '1.2.3'"),
        Case(text: "a = 1e", position: 5, reason: "malformed number '1e'"),
        Case(text: "a = 5.", position: 5, reason: "malformed number '5.'"),
        Case(text: "a = -x", position: 5, reason: "unexpected character '-'"),
        Case(text: "a = .5", position: 5, reason: "unexpected character '.'"),
        Case(text: "a = 1e999", position: 5, reason: "number out of range '1e999'"),
        // Fields.
        Case(text: "30 < age", position: 1, reason: "expected a field name, found 30"),
        Case(text: "a = 1 and", position: 10, reason: "expected a field name after 'and'"),
        Case(text: "a = 1 and or b = 2", position: 11, reason: "expected a field name after 'and', found 'or'"),
        Case(text: "and = 1", position: 1, reason: "expected a field name, found 'and'"),
        Case(text: "not", position: 4, reason: "expected a field name after 'not'"),
        Case(
            text: "年龄 > 30", position: 1,
            reason: "'年龄' is not a field name (field names are ASCII letters, digits and '_', not starting with a digit)"
        ),
        Case(text: "age", position: 4, reason: "expected a comparison (=, !=, <, <=, >, >=, in, not in, between) after 'age'"),
        Case(
            text: "age is 3", position: 5,
            reason: "expected a comparison (=, !=, <, <=, >, >=, in, not in, between) after 'age', found 'is'"
        ),
        // Between and booleans.
        Case(text: "age between 30", position: 15, reason: "expected 'and' after the lower bound of 'between'"),
        Case(text: "age between 30 and", position: 19, reason: "expected a value after 'and'"),
        Case(text: "age between and 30", position: 13, reason: "expected a value after 'between', found the keyword 'and' (quote it to mean the string)"),
        Case(text: "age between 55 and 30", position: 13, reason: "'between' bounds are reversed: 55 is greater than 30"),
        Case(text: "x between true and false", position: 11, reason: "'between' cannot compare booleans"),
        Case(text: "x between 1 and false", position: 17, reason: "'between' cannot compare booleans"),
        Case(text: "x between 1 and a", position: 17, reason: "'between' bounds must both be numbers or both be categories"),
        Case(text: "x < true", position: 5, reason: "'<' cannot compare booleans; use '=' or '!='"),
        // Nesting.
        Case(
            text: String(repeating: "(", count: 101) + "a = 1" + String(repeating: ")", count: 101), position: 101,
            reason: "rule nested too deeply (more than 100 levels)"
        ),
    ]

    @Test(arguments: syntax)
    func refusedWithPositionAndReason(_ refused: Case) {
        let error = parseError(refused.text)
        #expect(error == RuleError(position: refused.position, reason: refused.reason))
        // A schema does not change syntax errors.
        #expect(parseError(refused.text, schema: customerSchema) == error)
    }

    static let schemaErrors: [Case] = [
        Case(text: "not asset_teir = gold", position: 5, reason: "unknown field 'asset_teir'"),
        Case(text: "age > 3 or Age > 3", position: 12, reason: "unknown field 'Age'"),
        Case(text: "age > gold", position: 7, reason: "field 'age' holds numbers; 'gold' is not a number"),
        Case(text: #"age in (1, "2")"#, position: 12, reason: "field 'age' holds numbers; '2' is not a number"),
        Case(text: "age = true", position: 7, reason: "field 'age' holds numbers; true is not a number"),
        Case(text: "is_vip = 1", position: 10, reason: "field 'is_vip' holds true or false; 1 is neither"),
        Case(text: "is_vip not in (yes)", position: 16, reason: "field 'is_vip' holds true or false; 'yes' is neither"),
        Case(text: "is_vip > 3", position: 8, reason: "'>' cannot compare boolean field 'is_vip'"),
        Case(text: "status > active", position: 8, reason: "'>' needs an ordered field; the categories of 'status' have no order"),
        Case(
            text: "province between a and b", position: 10,
            reason: "'between' needs an ordered field; the categories of 'province' have no order"
        ),
        Case(
            text: "risk_tolerance >= C9", position: 19,
            reason: "'C9' is not a value of 'risk_tolerance' (C1, C2, C3, C4, C5)"
        ),
        Case(text: "status = frozn", position: 10, reason: "'frozn' is not a value of 'status' (active, closed, frozen)"),
        Case(
            text: "asset_tier in (gold, Gold)", position: 22,
            reason: "'Gold' is not a value of 'asset_tier' (bronze, silver, gold, platinum, diamond)"
        ),
        Case(text: "status = 1", position: 10, reason: #"field 'status' holds categories; write 1 in quotes to mean the category "1""#),
        Case(
            text: "province = true", position: 12,
            reason: #"field 'province' holds categories; write true in quotes to mean the category "true""#
        ),
        Case(
            text: "asset_tier between gold and silver", position: 20,
            reason: "'between' bounds are reversed: 'gold' comes after 'silver'"
        ),
        Case(
            text: #"province = "上海" and asset_tier = 金"#, position: 34,
            reason: "'金' is not a value of 'asset_tier' (bronze, silver, gold, platinum, diamond)"
        ),
    ]

    @Test(arguments: schemaErrors)
    func refusedAgainstTheSchema(_ refused: Case) throws {
        let expected = RuleError(position: refused.position, reason: refused.reason)
        #expect(parseError(refused.text, schema: customerSchema) == expected)
        // Without a schema the text parses; checking or compiling later reports the same error.
        let parsed = try rule(refused.text)
        #expect(throws: expected) { try parsed.check(against: customerSchema) }
        #expect(throws: expected) { try parsed.compile(against: customerSchema) }
    }

    @Test func descriptionReadsPositionThenReason() {
        #expect(RuleError(position: 17, reason: "expected a value after '<'").description == "position 17: expected a value after '<'")
        #expect("\(parseError("not asset_teir = gold", schema: customerSchema).map(String.init(describing:)) ?? "")"
            == "position 5: unknown field 'asset_teir'")
    }

    @Test func theFirstErrorInTheTextIsReported() {
        // The unterminated string comes after the syntax error, so the syntax error wins.
        #expect(parseError(#"a = = "abc"#)?.position == 5)
        // A syntax error after a schema error: syntax is checked for the whole text first.
        #expect(parseError("nosuch = 1 and", schema: customerSchema)?.reason == "expected a field name after 'and'")
    }
}

@Suite struct OrderingOutsideTheOrderTests {
    @Test func orderingWithAValueOutsideTheOrderIsRefusedNotCrashed() throws {
        var schema = RuleSchema()
        schema.add("risk_tolerance", .category(values: ["unassessed", "C1", "C2", "C3", "C4", "C5"], ordered: ["C1", "C2", "C3", "C4", "C5"]))
        #expect(throws: RuleError.self) { try Rule.parse("risk_tolerance < unassessed", schema: schema) }
        #expect(throws: RuleError.self) { try Rule.parse("risk_tolerance between unassessed and C3", schema: schema) }
        // Equality with it is fine.
        let rule = try Rule.parse("risk_tolerance = unassessed or risk_tolerance >= C4", schema: schema).compile(against: schema)
        #expect(rule.matches(DictionaryRecord(["risk_tolerance": .string("unassessed")])))
        #expect(rule.matches(DictionaryRecord(["risk_tolerance": .string("C5")])))
        #expect(!rule.matches(DictionaryRecord(["risk_tolerance": .string("C2")])))
    }
}
