import Foundation

/// How figures are written for people: money from fen, counts with separators, rates as percents.
public enum Format {
    /// 1234567 → "1,234,567".
    public static func count<I: BinaryInteger>(_ value: I) -> String {
        let negative = value < 0
        var digits = String(String(value).drop { $0 == "-" })
        var groups: [Substring] = []
        while digits.count > 3 {
            groups.insert(digits.suffix(3), at: 0)
            digits.removeLast(3)
        }
        groups.insert(Substring(digits), at: 0)
        return (negative ? "-" : "") + groups.joined(separator: ",")
    }

    /// Fen as yuan in the firm's usual short form: "¥1.23亿", "¥45.6万", "¥7,890.12".
    public static func money(fen: Int64) -> String {
        let negative = fen < 0
        let magnitude = fen.magnitude
        let sign = negative ? "-" : ""
        if magnitude >= 10_000_000_000 {  // 1亿 yuan = 10^10 fen
            return "\(sign)¥\(decimal(Double(magnitude) / 10_000_000_000, places: 2))亿"
        }
        if magnitude >= 1_000_000 {  // 1万 yuan = 10^6 fen; from 1,000万 on, whole 万
            return "\(sign)¥\(decimal(Double(magnitude) / 1_000_000, places: magnitude >= 1_000_000_000 ? 0 : 1))万"
        }
        let yuan = magnitude / 100, cents = magnitude % 100
        return "\(sign)¥\(count(yuan)).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// Fen as exact yuan, every fen shown: 123456789 → "¥1,234,567.89", -5 → "-¥0.05". For pay,
    /// where the short form's rounding (``money(fen:)``) would hide what a statement adds up to.
    public static func yuan(fen: Int64) -> String {
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        return "\(fen < 0 ? "-" : "")¥\(count(magnitude / 100)).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// Basis points as a percent with two decimals: 1500 → "15.00%" (exact: integer arithmetic).
    public static func basisPoints(_ bp: Int) -> String {
        let magnitude = bp.magnitude
        let fraction = magnitude % 100
        return "\(bp < 0 ? "-" : "")\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)%"
    }

    /// 0.0734 → "7.34%"; `places` decimals.
    public static func percent(_ ratio: Double, places: Int = 2) -> String {
        guard ratio.isFinite else { return "–" }
        return decimal(ratio * 100, places: places) + "%"
    }

    /// A number with exactly `places` decimals and separators in the whole part ("12,345.6").
    public static func decimal(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return "–" }
        let scale = pow(10, Double(max(0, places)))
        let scaled = (abs(value) * scale).rounded()
        let whole = (scaled / scale).rounded(.down)
        let fraction = Int64(scaled - whole * scale)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        let wholeText = count(Int64(whole))
        guard places > 0 else { return sign + wholeText }
        let fractionText = String(fraction)
        return sign + wholeText + "." + String(repeating: "0", count: max(0, places - fractionText.count)) + fractionText
    }

    /// A ratio such as a lift: "3.2×"; "–" when it is not finite or not positive.
    public static func times(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "–" }
        return decimal(value, places: 1) + "×"
    }
}

/// How many terminal columns text takes: East Asian wide and full-width characters (Chinese,
/// Japanese, Korean, full-width forms) take two, combining marks none, everything else one.
public enum DisplayWidth {
    public static func of(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + width(of: $1) }
    }

    static func width(of scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value == 0 { return 0 }
        if (0x0300...0x036F).contains(value) || (0x200B...0x200F).contains(value) || (0xFE00...0xFE0F).contains(value) { return 0 }
        let wide: [ClosedRange<UInt32>] = [
            0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
        ]
        return wide.contains { $0.contains(value) } ? 2 : 1
    }

    /// `text` cut to at most `columns` display columns, ending in "…" when cut.
    public static func truncate(_ text: String, to columns: Int) -> String {
        guard of(text) > columns else { return text }
        guard columns > 0 else { return "" }
        var result = "", used = 0
        for character in text {
            let width = of(String(character))
            if used + width > columns - 1 { break }
            result.append(character)
            used += width
        }
        return result + "…"
    }

    /// `text` padded with spaces to `columns` display columns (left- or right-aligned).
    public static func pad(_ text: String, to columns: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, columns - of(text)))
        return right ? padding + text : text + padding
    }
}
