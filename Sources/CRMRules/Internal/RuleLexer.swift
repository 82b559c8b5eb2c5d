/// One token of rule text and where it starts.
struct RuleToken: Sendable {
    enum Kind: Sendable, Equatable {
        case word(String)
        case number(Double)
        case string(String)
        case openParenthesis
        case closeParenthesis
        case comma
        case `operator`(RuleOperator)
        case end
    }

    var kind: Kind
    /// 1-based position in Unicode scalars.
    var position: Int
    /// The token as written, for messages ("the end of the rule" for `.end`).
    var text: String

    /// The token as a message quotes it: `'and'`, `'<'`, `30`, `"上海"`, or "the end of the rule".
    var quoted: String {
        switch kind {
        case .end: return "the end of the rule"
        case .number, .string: return text
        default: return "'\(text)'"
        }
    }

    /// The keyword this token is, if any: case-insensitive.
    var keyword: RuleKeyword? {
        guard case .word(let word) = kind else { return nil }
        return RuleKeyword(word)
    }
}

/// The reserved words; they match case-insensitively (ASCII letters only) and are never field names
/// or bare-word strings.
enum RuleKeyword: String, CaseIterable, Sendable {
    case and, or, not, `in`, between, `true`, `false`

    init?(_ word: String) {
        guard word.utf8.count <= 7 else { return nil }
        var lowered = ""
        for scalar in word.unicodeScalars {
            guard scalar.isASCII else { return nil }
            lowered.unicodeScalars.append(scalar.properties.lowercaseMapping.unicodeScalars.first ?? scalar)
        }
        self.init(rawValue: lowered)
    }
}

/// Turns rule text into tokens one at a time, so the first error in the text is the one reported.
struct RuleLexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    /// One past the last character: where "the end of the rule" is.
    var endPosition: Int { scalars.count + 1 }

    mutating func next() throws(RuleError) -> RuleToken {
        while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 }
        let start = index
        let position = start + 1
        guard index < scalars.count else { return RuleToken(kind: .end, position: position, text: "") }
        let scalar = scalars[index]
        index += 1

        func symbol(_ kind: RuleToken.Kind) -> RuleToken {
            RuleToken(kind: kind, position: position, text: text(from: start))
        }

        switch scalar {
        case "(": return symbol(.openParenthesis)
        case ")": return symbol(.closeParenthesis)
        case ",": return symbol(.comma)
        case "=":
            if peek("=") { throw RuleError(position: position, reason: "'==' is not an operator; use '='") }
            return symbol(.operator(.equal))
        case "!":
            guard take("=") else { throw RuleError(position: position, reason: "unexpected character '!' (did you mean '!='?)") }
            return symbol(.operator(.notEqual))
        case "<":
            if peek(">") { throw RuleError(position: position, reason: "'<>' is not an operator; use '!='") }
            return symbol(take("=") ? .operator(.lessOrEqual) : .operator(.less))
        case ">":
            return symbol(take("=") ? .operator(.greaterOrEqual) : .operator(.greater))
        case "\"":
            return try string(start: start)
        case "-", "0"..."9":
            return try number(start: start)
        default:
            if Self.isWordStart(scalar) {
                while index < scalars.count, Self.isWordContinuation(scalars[index]) { index += 1 }
                let word = text(from: start)
                return RuleToken(kind: .word(word), position: position, text: word)
            }
            throw RuleError(position: position, reason: "unexpected character '\(Character(scalar))'")
        }
    }

    private func peek(_ scalar: Unicode.Scalar) -> Bool {
        index < scalars.count && scalars[index] == scalar
    }

    private mutating func take(_ scalar: Unicode.Scalar) -> Bool {
        guard peek(scalar) else { return false }
        index += 1
        return true
    }

    private func text(from start: Int) -> String {
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[start..<index])
        return text
    }

    /// A double-quoted string; `\"` and `\\` are its only escapes.
    private mutating func string(start: Int) throws(RuleError) -> RuleToken {
        var value = ""
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "\"":
                return RuleToken(kind: .string(value), position: start + 1, text: text(from: start))
            case "\\":
                guard index < scalars.count else { break }
                let escaped = scalars[index]
                guard escaped == "\"" || escaped == "\\" else {
                    throw RuleError(
                        position: index,
                        reason: "unknown escape '\\\(Character(escaped))' in a string (only \\\" and \\\\ are allowed)"
                    )
                }
                value.unicodeScalars.append(escaped)
                index += 1
            default:
                value.unicodeScalars.append(scalar)
            }
        }
        throw RuleError(position: start + 1, reason: "unterminated string")
    }

    /// `-`? digits (`.` digits)? ([eE] [+-]? digits)?, and not followed by a letter, digit or `.`.
    private mutating func number(start: Int) throws(RuleError) -> RuleToken {
        index = start
        _ = take("-")
        let digitsStart = index
        skipDigits()
        guard index > digitsStart else {
            throw RuleError(position: start + 1, reason: "unexpected character '-'")
        }
        var wellFormed = true
        if take(".") {
            let fractionStart = index
            skipDigits()
            wellFormed = index > fractionStart
        }
        if wellFormed, peek("e") || peek("E") {
            index += 1
            if !take("+") { _ = take("-") }
            let exponentStart = index
            skipDigits()
            wellFormed = index > exponentStart
        }
        if index < scalars.count, scalars[index] == "." || Self.isWordContinuation(scalars[index]) {
            wellFormed = false
        }
        if !wellFormed {
            while index < scalars.count, scalars[index] == "." || scalars[index] == "-" || scalars[index] == "+"
                || Self.isWordContinuation(scalars[index])
            {
                index += 1
            }
            throw RuleError(position: start + 1, reason: "malformed number '\(text(from: start))'")
        }
        let written = text(from: start)
        guard let value = Double(written), value.isFinite else {
            throw RuleError(position: start + 1, reason: "number out of range '\(written)'")
        }
        return RuleToken(kind: .number(value), position: start + 1, text: written)
    }

    private mutating func skipDigits() {
        while index < scalars.count, ("0"..."9").contains(scalars[index]) { index += 1 }
    }

    /// A letter (any script) or `_`: what starts a field name or a bare word.
    static func isWordStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic
    }

    /// What may follow in a word: letters, decimal digits (any script), combining marks, `_`.
    static func isWordContinuation(_ scalar: Unicode.Scalar) -> Bool {
        if isWordStart(scalar) || scalar.properties.numericType == .decimal { return true }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`: what a field name must be.
    static func isFieldName(_ word: String) -> Bool {
        var first = true
        for byte in word.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"): break
            case UInt8(ascii: "0")...UInt8(ascii: "9") where !first: break
            default: return false
            }
            first = false
        }
        return !first
    }

    /// Whether `text` reads back as one bare-word string: a word that is not a keyword.
    static func isBareWord(_ text: String) -> Bool {
        var scalars = text.unicodeScalars.makeIterator()
        guard let first = scalars.next(), isWordStart(first) else { return false }
        while let scalar = scalars.next() {
            guard isWordContinuation(scalar) else { return false }
        }
        return RuleKeyword(text) == nil
    }
}
