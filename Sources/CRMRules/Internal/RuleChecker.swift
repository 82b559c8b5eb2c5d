/// Checks a rule against a schema: every field exists, every literal has the field's type, ordering
/// comparisons only on numbers and ordered categories, categories only from the known lists.
enum RuleChecker {
    static func check(_ expression: RuleExpression, against schema: RuleSchema) throws(RuleError) {
        try expression.visitComparisons { (comparison: RuleComparison) throws(RuleError) in
            try check(comparison, against: schema)
        }
    }

    static func check(_ comparison: RuleComparison, against schema: RuleSchema) throws(RuleError) {
        let field = comparison.field
        let positions = comparison.positions
        guard let type = schema[field] else {
            throw RuleError(position: positions.field, reason: "unknown field '\(field)'")
        }
        let values = comparison.test.values
        let ordering: Bool
        switch comparison.test {
        case .compare(let op, _): ordering = op.isOrdering
        case .isIn, .notIn: ordering = false
        case .between: ordering = true
        }
        let operatorName: String
        switch comparison.test {
        case .compare(let op, _): operatorName = op.rawValue
        case .isIn: operatorName = "in"
        case .notIn: operatorName = "not in"
        case .between: operatorName = "between"
        }

        switch type {
        case .number:
            for (value, position) in zip(values, positions.values) {
                guard case .number = value else {
                    throw RuleError(position: position, reason: "field '\(field)' holds numbers; \(value.quoted) is not a number")
                }
            }
        case .boolean:
            if ordering {
                throw RuleError(position: positions.operator, reason: "'\(operatorName)' cannot compare boolean field '\(field)'")
            }
            for (value, position) in zip(values, positions.values) {
                guard case .boolean = value else {
                    throw RuleError(position: position, reason: "field '\(field)' holds true or false; \(value.quoted) is neither")
                }
            }
        case .category(_, let ordered):
            if ordering, ordered == nil {
                throw RuleError(
                    position: positions.operator,
                    reason: "'\(operatorName)' needs an ordered field; the categories of '\(field)' have no order"
                )
            }
            let known = type.knownValues
            for (value, position) in zip(values, positions.values) {
                switch value {
                case .string(let string):
                    if let known, !known.contains(string) {
                        throw RuleError(position: position, reason: "\(value.quoted) is not a value of '\(field)'" + listing(ordered, known))
                    }
                    // A value the field may hold but that has no place in its order (risk_tolerance
                    // 'unassessed') cannot be compared by order.
                    if ordering, let ordered, !ordered.contains(string) {
                        throw RuleError(
                            position: position,
                            reason: "\(value.quoted) has no place in the order of '\(field)' (\(ordered.joined(separator: " < "))); use = or in"
                        )
                    }
                case .number:
                    throw RuleError(
                        position: position,
                        reason: "field '\(field)' holds categories; write \(value) in quotes to mean the category \"\(value)\""
                    )
                case .boolean:
                    throw RuleError(
                        position: position,
                        reason: "field '\(field)' holds categories; write \(value) in quotes to mean the category \"\(value)\""
                    )
                }
            }
            if case .between(.string(let low), .string(let high)) = comparison.test, let ordered,
                let lowRank = ordered.firstIndex(of: low), let highRank = ordered.firstIndex(of: high), lowRank > highRank
            {
                throw RuleError(
                    position: positions.values[0],
                    reason: "'between' bounds are reversed: '\(low)' comes after '\(high)'"
                )
            }
        }
    }

    /// ` (C1, C2, C3)` for short lists, so the author sees what is allowed.
    private static func listing(_ ordered: [String]?, _ known: Set<String>) -> String {
        guard known.count <= 12 else { return "" }
        var names = ordered ?? []
        names += known.subtracting(names).sorted()
        return " (" + names.map(RulePrinter.string).joined(separator: ", ") + ")"
    }
}

extension RuleValue {
    /// The value as a message quotes it: `'gold'`, `30`, `true`.
    var quoted: String {
        if case .string(let string) = self { return "'\(string)'" }
        return description
    }
}
