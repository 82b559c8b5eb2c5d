/// The canonical text of a rule: lower-case keywords, single spaces, parentheses only where
/// precedence needs them, numbers in their shortest form, strings bare when they can be.
enum RulePrinter {
    static func text(_ expression: RuleExpression) -> String {
        switch expression {
        case .comparison(let comparison):
            return text(comparison)
        case .not(let operand):
            switch operand {
            case .comparison, .not: return "not " + text(operand)
            case .and, .or: return "not (" + text(operand) + ")"
            }
        case .and(let operands):
            return operands.map { operand in
                if case .or = operand { return "(" + text(operand) + ")" }
                return text(operand)
            }.joined(separator: " and ")
        case .or(let operands):
            return operands.map(text).joined(separator: " or ")
        }
    }

    static func text(_ comparison: RuleComparison) -> String {
        let field = comparison.field
        switch comparison.test {
        case .compare(let op, let value):
            return "\(field) \(op.rawValue) \(value)"
        case .isIn(let values):
            return "\(field) in (\(values.map(\.description).joined(separator: ", ")))"
        case .notIn(let values):
            return "\(field) not in (\(values.map(\.description).joined(separator: ", ")))"
        case .between(let low, let high):
            return "\(field) between \(low) and \(high)"
        }
    }

    /// Integers below 10^15 without a fraction (`30`, `-3`); others in Swift's shortest round-trip
    /// form (`0.25`, `1e+15`, `1.5e-07`), which the lexer reads back to the same `Double`.
    static func number(_ value: Double) -> String {
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return value.description
    }

    /// Bare when it reads back as a bare word (`gold`, `C4`, `北京`), else quoted with `\"` and `\\`.
    static func string(_ value: String) -> String {
        if RuleLexer.isBareWord(value) { return value }
        var quoted = "\""
        for character in value.unicodeScalars {
            if character == "\"" || character == "\\" { quoted.unicodeScalars.append("\\") }
            quoted.unicodeScalars.append(character)
        }
        quoted.unicodeScalars.append("\"")
        return quoted
    }
}
