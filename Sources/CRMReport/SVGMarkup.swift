/// Small helpers for writing SVG and HTML text by hand.
public enum Markup {
    /// Text made safe for element content and attribute values (both quotes escaped).
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// A coordinate or length with at most one decimal, without a trailing ".0" (compact, stable
    /// output that tests can compare).
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = (value * 10).rounded()
        if tenths == 0 { return "0" }
        let whole = Int64(tenths) / 10
        let fraction = abs(Int64(tenths) % 10)
        if fraction == 0 { return String(whole) }
        let sign = tenths < 0 && whole == 0 ? "-" : ""
        return "\(sign)\(whole).\(fraction)"
    }

    /// An identifier safe for an `id` attribute: letters, digits, `-` and `_`, others replaced by `-`.
    public static func identifier(_ text: String) -> String {
        let mapped = text.unicodeScalars.map { scalar -> Character in
            let value = scalar.value
            let isLetterOrDigit = (48...57).contains(value) || (65...90).contains(value) || (97...122).contains(value)
            return isLetterOrDigit || scalar == "-" || scalar == "_" ? Character(scalar) : "-"
        }
        let result = String(mapped)
        return result.isEmpty ? "chart" : result
    }
}
