/// A customer rule: a segment's definition or a product's target-customer rule, parsed from text.
///
/// ```swift
/// let rule = try Rule.parse("asset_tier in (gold, platinum) and not status = frozen", schema: schema)
/// let compiled = try rule.compile(against: schema)
/// compiled.matches(customer)
/// ```
///
/// # The language
///
/// **Fields.** A field name is `[A-Za-z_][A-Za-z0-9_]*` and names a dimension or a class scheme of a
/// customer. Field names are case-sensitive. A field always stands on the left of a comparison.
///
/// **Keywords.** `and`, `or`, `not`, `in`, `between`, `true`, `false`, in any letter case (`AND`,
/// `Not`). They cannot be field names or bare words.
///
/// **Literals** (the right-hand side of a comparison, the members of a list):
/// - Numbers: an optional leading `-`, digits, an optional fraction (`.` and at least one digit) and
///   an optional exponent (`e` or `E`, an optional sign, digits): `30`, `-3`, `0.25`, `1e6`, `2.5E-3`.
///   Not `.5`, `5.`, `+5` or `0x10`. A number running straight into a letter (`3abc`) is refused.
///   Numbers are `Double`s; one too large for a `Double` is refused.
/// - Strings in double quotes, with exactly two escapes, `\"` and `\\`; any other character,
///   Chinese text and line breaks included, stands for itself: `"上海"`, `"say \"hi\""`.
/// - Bare words: a letter of any script or `_`, then letters, decimal digits, combining marks or `_`,
///   and not a keyword. On the right-hand side a bare word is a string: `status = frozen` compares
///   with `"frozen"`; `C4`, `R3`, `北京` are strings. Anything else (`"high-risk"`, `"2A"`, `"in"`)
///   needs quotes.
/// - Booleans: `true`, `false`.
///
/// **Comparisons.** `field = v`, `!=`, `<`, `<=`, `>`, `>=`; `field in (v1, v2, …)` (one or more
/// values); `field not in (…)`; `field between low and high` (both ends included; the `and` belongs to
/// `between`). Ordering (`<`, `<=`, `>`, `>=`, `between`) never applies to booleans.
///
/// **Combining.** `not` binds tightest, then `and`, then `or`; parentheses group:
/// `a or b and c` is `a or (b and c)`, and `not a and b` is `(not a) and b`. Nesting deeper than 100
/// levels is refused.
///
/// **Missing values.** A comparison whose field a customer lacks is false, whatever the operator:
/// with no `age`, `age > 30`, `age <= 30`, `age != 30`, `age not in (30)` are all false. `not` then
/// simply inverts: `not age > 30` is true. So `x != v` means "has x, and it is not v", while
/// `not x = v` means "does not have x = v" (missing included). Two-valued logic throughout.
///
/// **Against a schema** (``RuleSchema``), checked by ``parse(_:schema:)`` when one is given and always
/// by ``compile(against:)``:
/// - every field must exist in the schema;
/// - number fields take number literals; boolean fields take `true`/`false` and only `=`, `!=`,
///   `in`, `not in`; categorical fields take strings (bare or quoted; `branch = "101"`, not
///   `branch = 101`);
/// - ordering comparisons on a categorical field need the schema to give its order
///   (``FieldType/ordered(_:)``); they then compare by place in that order (`risk_tolerance >= C4`
///   with order C1…C5 means C4 or C5), and a value the customer has that is not in the order
///   satisfies none of them;
/// - when a field's categories are known, a literal outside them is refused.
///
/// Independently of a schema: `between` bounds must not be reversed (`between 55 and 30`), must not be
/// booleans, and must not mix a number and a string.
///
/// **Spacing.** Any Unicode white space (line breaks included) separates tokens and is otherwise
/// ignored; `age>=30` needs none.
///
/// **Errors.** A refused text throws a ``RuleError`` with the 1-based position (in Unicode scalars,
/// i.e. code points, not bytes) of the token at fault, or one past the end when the text stops too
/// early, and a reason:
/// - `age > ` → `position 7: expected a value after '>'`
/// - `not asset_teir = gold` → `position 5: unknown field 'asset_teir'`
/// - `status in frozen` → `position 11: 'in' needs a parenthesised list`
/// - `name = "abc` → `position 8: unterminated string` (the opening quote)
/// - `a = 1 b = 2` → `position 7: expected 'and', 'or' or the end of the rule, found 'b'`
/// - `age > gold` → `position 7: field 'age' holds numbers; 'gold' is not a number`
/// - `status > active` → `position 8: '>' needs an ordered field; the categories of 'status' have no order`
/// - also: `empty rule`, `unmatched ')'`, unknown escapes, malformed numbers, unexpected characters,
///   values outside a field's known categories, reversed `between` bounds.
///
/// The whole text is checked for syntax first, so a syntax error is reported even when an earlier
/// field is unknown to the schema.
///
/// # Canonical text
///
/// ``description`` prints lower-case keywords, single spaces, parentheses only where precedence needs
/// them, numbers in shortest form (`30`, not `30.0`), strings bare where they can be and quoted
/// otherwise, `in` lists in the order written without repeats. Parsing the canonical text gives an
/// equal rule. Rules are equal when their trees are: `a and (b and c)` equals `a and b and c`, but
/// `x in (a, b)` differs from `x in (b, a)` and `x != a` from `not x = a` (they differ on missing values).
public struct Rule: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    /// The parsed tree.
    public let expression: RuleExpression

    init(expression: RuleExpression) {
        self.expression = expression
    }

    /// Parses rule text; with a schema, also checks fields and types against it.
    public static func parse(_ text: String, schema: RuleSchema? = nil) throws(RuleError) -> Rule {
        var parser = try RuleParser(text)
        let rule = Rule(expression: try parser.parseRule())
        if let schema { try rule.check(against: schema) }
        return rule
    }

    /// Parses rule text without a schema; nil when it is refused.
    public init?(_ description: String) {
        guard let rule = try? Rule.parse(description) else { return nil }
        self = rule
    }

    /// Checks fields and types against a schema. Positions in the error refer to the parsed text.
    public func check(against schema: RuleSchema) throws(RuleError) {
        try RuleChecker.check(expression, against: schema)
    }

    /// Checks the rule against `schema` and resolves it for fast evaluation.
    public func compile(against schema: RuleSchema) throws(RuleError) -> CompiledRule {
        try check(against: schema)
        return CompiledRule(rule: self, schema: schema)
    }

    /// The canonical text; parsing it gives an equal rule.
    public var description: String { RulePrinter.text(expression) }

    /// The fields the rule reads.
    public var fields: Set<String> { expression.fields }
}
