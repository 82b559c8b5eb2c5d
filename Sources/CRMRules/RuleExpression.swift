/// A parsed rule's tree, for services that want to walk it (list the values a rule names, translate it).
///
/// `and` and `or` hold two or more operands and are flattened: `a and (b and c)` is one `and` of three,
/// the same as `a and b and c`. Parentheses leave no trace beyond the tree's shape.
public indirect enum RuleExpression: Sendable, Hashable {
    case comparison(RuleComparison)
    case not(RuleExpression)
    case and([RuleExpression])
    case or([RuleExpression])
}

/// One comparison of a field with literals: `age >= 30`, `status not in (frozen, closed)`.
///
/// Two comparisons are equal when field and test are; where they were in the text does not count.
public struct RuleComparison: Sendable, Hashable {
    public let field: String
    public let test: RuleTest
    /// Where the field, the operator and each literal (in `test`'s order) start in the parsed text.
    let positions: SourcePositions

    init(field: String, test: RuleTest, positions: SourcePositions) {
        self.field = field
        self.test = test
        self.positions = positions
    }

    public static func == (lhs: RuleComparison, rhs: RuleComparison) -> Bool {
        lhs.field == rhs.field && lhs.test == rhs.test
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(field)
        hasher.combine(test)
    }
}

/// What a comparison asks of a field's value.
public enum RuleTest: Sendable, Hashable {
    /// `field op value`.
    case compare(RuleOperator, RuleValue)
    /// `field in (v1, v2, …)`: one or more values, in the order written, without repeats.
    case isIn([RuleValue])
    /// `field not in (v1, v2, …)`: present and none of the values.
    case notIn([RuleValue])
    /// `field between low and high`, both ends included.
    case between(RuleValue, RuleValue)

    /// The literals in the order they are written.
    public var values: [RuleValue] {
        switch self {
        case .compare(_, let value): return [value]
        case .isIn(let values), .notIn(let values): return values
        case .between(let low, let high): return [low, high]
        }
    }
}

/// `=`, `!=`, `<`, `<=`, `>`, `>=`.
public enum RuleOperator: String, Sendable, Hashable, CaseIterable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    /// `<`, `<=`, `>`, `>=`: the operators that need an order.
    public var isOrdering: Bool {
        switch self {
        case .equal, .notEqual: return false
        case .less, .lessOrEqual, .greater, .greaterOrEqual: return true
        }
    }
}

/// Where a comparison's parts start in the text it was parsed from (1-based Unicode scalar positions).
struct SourcePositions: Sendable {
    var field: Int
    var `operator`: Int
    var values: [Int]
}

extension RuleExpression {
    /// The fields this expression reads.
    var fields: Set<String> {
        var result = Set<String>()
        visitComparisons { _ = result.insert($0.field) }
        return result
    }

    /// Calls `body` with each comparison, left to right.
    func visitComparisons<E: Error>(_ body: (RuleComparison) throws(E) -> Void) throws(E) {
        switch self {
        case .comparison(let comparison): try body(comparison)
        case .not(let operand): try operand.visitComparisons(body)
        case .and(let operands), .or(let operands):
            for operand in operands { try operand.visitComparisons(body) }
        }
    }
}
