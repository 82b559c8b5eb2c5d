/// A literal in a rule, or a customer's value for a field in a ``DictionaryRecord``.
public enum RuleValue: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case boolean(Bool)

    /// The literal as the canonical rule text writes it: `30`, `0.25`, `gold`, `"上 海"`, `true`.
    public var description: String {
        switch self {
        case .number(let value): return RulePrinter.number(value)
        case .string(let value): return RulePrinter.string(value)
        case .boolean(let value): return value ? "true" : "false"
        }
    }
}

extension RuleValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral
{
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
}
