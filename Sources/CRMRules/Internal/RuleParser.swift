/// Recursive descent over ``RuleLexer``'s tokens, one token of look-ahead:
///
///     rule       = or EOF
///     or         = and { "or" and }
///     and        = not { "and" not }
///     not        = "not" not | primary
///     primary    = "(" or ")" | comparison
///     comparison = field ( op value | ["not"] "in" list | "between" value "and" value )
///     list       = "(" value { "," value } ")"
///     value      = number | string | bare word | "true" | "false"
struct RuleParser {
    /// Deeper nesting than this is refused, so a hostile text cannot exhaust the stack.
    static let maximumDepth = 100

    private var lexer: RuleLexer
    private var token: RuleToken
    private var previous: RuleToken?
    private var depth = 0

    init(_ text: String) throws(RuleError) {
        lexer = RuleLexer(text)
        token = try lexer.next()
    }

    mutating func parseRule() throws(RuleError) -> RuleExpression {
        if token.kind == .end { throw RuleError(position: 1, reason: "empty rule") }
        let expression = try parseOr()
        switch token.kind {
        case .end:
            return expression
        case .closeParenthesis:
            throw RuleError(position: token.position, reason: "unmatched ')'")
        default:
            throw RuleError(position: token.position, reason: "expected 'and', 'or' or the end of the rule, found \(token.quoted)")
        }
    }

    private mutating func advance() throws(RuleError) {
        previous = token
        token = try lexer.next()
    }

    private mutating func parseOr() throws(RuleError) -> RuleExpression {
        var operands = [try parseAnd()]
        while token.keyword == .or {
            try advance()
            operands.append(try parseAnd())
        }
        return Self.flatten(operands, or: true)
    }

    private mutating func parseAnd() throws(RuleError) -> RuleExpression {
        var operands = [try parseNot()]
        while token.keyword == .and {
            try advance()
            operands.append(try parseNot())
        }
        return Self.flatten(operands, or: false)
    }

    private mutating func parseNot() throws(RuleError) -> RuleExpression {
        guard token.keyword == .not else { return try parsePrimary() }
        try enter()
        try advance()
        let operand = try parseNot()
        depth -= 1
        return .not(operand)
    }

    private mutating func enter() throws(RuleError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw RuleError(position: token.position, reason: "rule nested too deeply (more than \(Self.maximumDepth) levels)")
        }
    }

    private mutating func parsePrimary() throws(RuleError) -> RuleExpression {
        switch token.kind {
        case .openParenthesis:
            let open = token
            try enter()
            try advance()
            let inner = try parseOr()
            guard token.kind == .closeParenthesis else {
                if token.kind == .end || token.keyword == .and || token.keyword == .or {
                    throw RuleError(position: token.position, reason: "expected ')' to close the '(' at position \(open.position)")
                }
                throw RuleError(
                    position: token.position,
                    reason: "expected 'and', 'or' or ')' to close the '(' at position \(open.position), found \(token.quoted)"
                )
            }
            depth -= 1
            try advance()
            return inner
        case .word(let word) where token.keyword == nil:
            guard RuleLexer.isFieldName(word) else {
                throw RuleError(
                    position: token.position,
                    reason: "'\(word)' is not a field name (field names are ASCII letters, digits and '_', not starting with a digit)"
                )
            }
            return .comparison(try parseComparison(field: word))
        default:
            throw RuleError(position: token.position, reason: expectedField())
        }
    }

    private func expectedField() -> String {
        let found = token.kind == .end ? "" : ", found \(token.quoted)"
        if let previous, previous.keyword != nil || previous.kind == .openParenthesis {
            return "expected a field name after \(previous.quoted)\(found)"
        }
        return "expected a field name\(found)"
    }

    private mutating func parseComparison(field: String) throws(RuleError) -> RuleComparison {
        let fieldPosition = token.position
        try advance()
        let operatorToken = token
        switch token.kind {
        case .operator(let op):
            try advance()
            let (value, position) = try parseValue(after: operatorToken)
            if op.isOrdering, case .boolean = value {
                throw RuleError(position: position, reason: "'\(op.rawValue)' cannot compare booleans; use '=' or '!='")
            }
            return RuleComparison(
                field: field, test: .compare(op, value),
                positions: SourcePositions(field: fieldPosition, operator: operatorToken.position, values: [position])
            )
        case .word where token.keyword == .in:
            try advance()
            let (values, positions) = try parseList(after: "'in'")
            return RuleComparison(
                field: field, test: .isIn(values),
                positions: SourcePositions(field: fieldPosition, operator: operatorToken.position, values: positions)
            )
        case .word where token.keyword == .not:
            try advance()
            guard token.keyword == .in else {
                throw RuleError(position: token.position, reason: "expected 'in' after 'not' (write 'not' before the field to negate a comparison)")
            }
            try advance()
            let (values, positions) = try parseList(after: "'not in'")
            return RuleComparison(
                field: field, test: .notIn(values),
                positions: SourcePositions(field: fieldPosition, operator: operatorToken.position, values: positions)
            )
        case .word where token.keyword == .between:
            try advance()
            let (low, lowPosition) = try parseValue(after: operatorToken)
            guard token.keyword == .and else {
                throw RuleError(position: token.position, reason: "expected 'and' after the lower bound of 'between'")
            }
            let andToken = token
            try advance()
            let (high, highPosition) = try parseValue(after: andToken)
            switch (low, high) {
            case (.boolean, _), (_, .boolean):
                let position = if case .boolean = low { lowPosition } else { highPosition }
                throw RuleError(position: position, reason: "'between' cannot compare booleans")
            case (.number(let a), .number(let b)) where a > b:
                throw RuleError(position: lowPosition, reason: "'between' bounds are reversed: \(low) is greater than \(high)")
            case (.number, .string), (.string, .number):
                throw RuleError(position: highPosition, reason: "'between' bounds must both be numbers or both be categories")
            default:
                break
            }
            return RuleComparison(
                field: field, test: .between(low, high),
                positions: SourcePositions(field: fieldPosition, operator: operatorToken.position, values: [lowPosition, highPosition])
            )
        default:
            throw RuleError(
                position: token.position,
                reason: "expected a comparison (=, !=, <, <=, >, >=, in, not in, between) after '\(field)'"
                    + (token.kind == .end ? "" : ", found \(token.quoted)")
            )
        }
    }

    /// A literal; bare words are strings, `true` and `false` booleans.
    private mutating func parseValue(after context: RuleToken) throws(RuleError) -> (RuleValue, Int) {
        let position = token.position
        let value: RuleValue
        switch token.kind {
        case .number(let number): value = .number(number)
        case .string(let string): value = .string(string)
        case .word(let word):
            switch token.keyword {
            case nil: value = .string(word)
            case .true?: value = .boolean(true)
            case .false?: value = .boolean(false)
            case let keyword?:
                throw RuleError(
                    position: position,
                    reason: "expected a value after \(context.quoted), found the keyword '\(keyword.rawValue)' (quote it to mean the string)"
                )
            }
        default:
            throw RuleError(position: position, reason: "expected a value after \(context.quoted)")
        }
        try advance()
        return (value, position)
    }

    /// `( v1, v2, … )`, without repeated values.
    private mutating func parseList(after name: String) throws(RuleError) -> ([RuleValue], [Int]) {
        guard token.kind == .openParenthesis else {
            throw RuleError(position: token.position, reason: "\(name) needs a parenthesised list")
        }
        let open = token
        try advance()
        if token.kind == .closeParenthesis {
            throw RuleError(position: token.position, reason: "\(name) needs at least one value in its list")
        }
        var values: [RuleValue] = []
        var positions: [Int] = []
        var separator = open
        while true {
            let (value, position) = try parseValue(after: separator)
            if !values.contains(value) {
                values.append(value)
                positions.append(position)
            }
            switch token.kind {
            case .comma:
                separator = token
                try advance()
            case .closeParenthesis:
                try advance()
                return (values, positions)
            default:
                throw RuleError(
                    position: token.position,
                    reason: "expected ',' or ')' in the list opened at position \(open.position)"
                        + (token.kind == .end ? "" : ", found \(token.quoted)")
                )
            }
        }
    }

    /// One operand stays itself; nested operands of the same kind merge into one list.
    private static func flatten(_ operands: [RuleExpression], or: Bool) -> RuleExpression {
        if operands.count == 1 { return operands[0] }
        var flat: [RuleExpression] = []
        for operand in operands {
            switch operand {
            case .or(let inner) where or: flat.append(contentsOf: inner)
            case .and(let inner) where !or: flat.append(contentsOf: inner)
            default: flat.append(operand)
            }
        }
        return or ? .or(flat) : .and(flat)
    }
}
