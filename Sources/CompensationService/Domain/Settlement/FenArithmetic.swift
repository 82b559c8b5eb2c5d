/// Exact money arithmetic for settlement and assessment: amounts are `Int64` fen, rates are
/// ``BasisPoints`` or ``Coefficient`` (parts per million), and no amount ever passes through a
/// floating-point number.
///
/// ## The rounding rule
///
/// There is one rule, and every figure on a statement follows it:
///
/// - **Each line item is computed exactly and rounded once.** Its inputs (fen, basis points, parts
///   per million) are multiplied as one fraction in 128-bit integers and divided once, to the fen.
///   A product rebate paid at the manager's rate is `sale × rebate bp × rate bp / 10⁸`, one
///   division, not a rounded rebate then rounded again.
/// - **Halves round up, away from zero for negatives**: 12.5 fen → 13 fen, −12.5 fen → −13 fen,
///   12.4999 fen → 12 fen.
/// - **Totals are sums of rounded line items** and are never rounded again. A line computed from a
///   total (a coefficient applied to the subtotal) starts from that exact integer subtotal, so it is
///   still rounded only once.
///
/// Results are clamped to the `Int64` range rather than trapping; no real amount comes near it.
public enum FenArithmetic {
    /// `numerator / denominator` to the nearest fen, halves away from zero (see the type's rule).
    /// `denominator` must be positive; a non-positive denominator yields 0.
    public static func rounded(_ numerator: Int128, dividedBy denominator: Int128) -> Int64 {
        Fen.rounded(numerator, dividedBy: denominator)
    }

    /// `amount × rate`, one line item: rounded once to the fen.
    public static func apply(_ rate: BasisPoints, to amountFen: Int64) -> Int64 {
        rounded(Int128(amountFen) * Int128(rate.value), dividedBy: Int128(BasisPoints.scale))
    }

    /// `amount × first × second`, one line item: rounded once to the fen.
    public static func apply(_ first: BasisPoints, _ second: BasisPoints, to amountFen: Int64) -> Int64 {
        let scale = Int128(BasisPoints.scale) * Int128(BasisPoints.scale)
        return rounded(Int128(amountFen) * Int128(first.value) * Int128(second.value), dividedBy: scale)
    }

    /// `amount × coefficient`, one line item: rounded once to the fen.
    public static func apply(_ coefficient: Coefficient, to amountFen: Int64) -> Int64 {
        rounded(Int128(amountFen) * Int128(coefficient.partsPerMillion), dividedBy: Int128(Coefficient.scale))
    }
}

/// A rate in basis points: 1 bp = 0.01 %, 10 000 bp = 100 %. Exact; rules accept 0–10 000 bp.
public struct BasisPoints: Sendable, Hashable, Comparable, Codable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// Basis points in 100 %.
    public static let scale = 10_000
    /// The range a compensation rule or a product rebate rate may take.
    public static let allowedRange = 0...scale

    public var value: Int

    public init(_ value: Int) { self.value = value }
    public init(integerLiteral value: Int) { self.value = value }

    public init(from decoder: any Decoder) throws {
        self.value = try decoder.singleValueContainer().decode(Int.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    /// Whether this is a usable rate (0–10 000 bp).
    public var isAllowed: Bool { Self.allowedRange.contains(value) }

    public static func < (lhs: BasisPoints, rhs: BasisPoints) -> Bool { lhs.value < rhs.value }

    /// "2500 bp".
    public var description: String { "\(value) bp" }
}

/// An exact decimal multiplier in parts per million (1.0 = 1 000 000), for the assessment and
/// compliance coefficients. Written and read as a decimal string ("0.95", "1.05", "0") with at most
/// six decimals, so persisted values are readable and never go through `Double`.
public struct Coefficient: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Parts per million in 1.0.
    public static let scale: Int64 = 1_000_000
    /// The coefficients a manager-month accepts: 0 (nothing paid) to 10.
    public static let allowedRange: ClosedRange<Int64> = 0...(10 * scale)
    public static let one = Coefficient(partsPerMillion: scale)
    public static let zero = Coefficient(partsPerMillion: 0)

    public var partsPerMillion: Int64

    public init(partsPerMillion: Int64) { self.partsPerMillion = partsPerMillion }

    /// Parses a non-negative decimal such as "1", "0.95" or "1.000001"; nil for anything else
    /// (signs, exponents, more than six decimals, more than twelve integer digits).
    public init?(_ text: String) {
        guard let value = DecimalText.scaled(text, places: 6, wholeDigits: 12) else { return nil }
        self.partsPerMillion = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Coefficient(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a decimal with at most six places")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Whether this coefficient is usable for a manager-month (0–10).
    public var isAllowed: Bool { Self.allowedRange.contains(partsPerMillion) }

    public static func < (lhs: Coefficient, rhs: Coefficient) -> Bool { lhs.partsPerMillion < rhs.partsPerMillion }

    /// The shortest exact decimal: "1", "0.95", "-0.5".
    public var description: String {
        let magnitude = partsPerMillion.magnitude
        let sign = partsPerMillion < 0 ? "-" : ""
        let whole = magnitude / UInt64(Self.scale)
        var fraction = magnitude % UInt64(Self.scale)
        guard fraction != 0 else { return "\(sign)\(whole)" }
        var places = 6
        while fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        let digits = String(fraction)
        return "\(sign)\(whole).\(String(repeating: "0", count: places - digits.count))\(digits)"
    }
}
