/// Integer helpers for the ledger and the engine: sums saturate instead of trapping, so one absurd
/// amount cannot crash the service, and averages of fen round to the nearest fen.
enum DimensionMath {
    /// `a + b`, clamped to the `Int64` range.
    @inline(__always)
    static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return result }
        return b > 0 ? .max : .min
    }

    /// `a − b`, clamped to the `Int64` range.
    @inline(__always)
    static func difference(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        guard overflow else { return result }
        return b < 0 ? .max : .min
    }

    /// `a × b`, clamped to the `Int64` range.
    @inline(__always)
    static func product(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard overflow else { return result }
        return (a < 0) == (b < 0) ? .max : .min
    }

    /// The sum of a sequence of amounts, saturating.
    static func total<S: Sequence>(_ values: S) -> Int64 where S.Element == Int64 {
        values.reduce(0, sum)
    }

    /// `numerator / denominator` rounded to the nearest integer, halves away from zero; 0 when the
    /// denominator is 0.
    static func roundedQuotient(_ numerator: Int64, _ denominator: Int64) -> Int64 {
        guard denominator != 0 else { return 0 }
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        // |remainder| * 2 >= |denominator| rounds away from zero; magnitudes compared without overflow.
        let twiceRemainder = remainder.magnitude * 2
        guard twiceRemainder >= denominator.magnitude else { return quotient }
        return (numerator < 0) == (denominator < 0) ? quotient + 1 : quotient - 1
    }

    /// `numerator / denominator` as a Double, or `whenZero` when the denominator is 0.
    @inline(__always)
    static func ratio(_ numerator: Int64, _ denominator: Int64, whenZero: Double = 0) -> Double {
        denominator == 0 ? whenZero : Double(numerator) / Double(denominator)
    }

    /// `counter + amount`, stopping at the type's maximum.
    @inline(__always)
    static func bump<T: FixedWidthInteger & UnsignedInteger>(_ counter: inout T, by amount: T = 1) {
        let (result, overflow) = counter.addingReportingOverflow(amount)
        counter = overflow ? .max : result
    }

    /// Days from `day` to `asOf`, as an Int64 so that no day arithmetic can overflow.
    @inline(__always)
    static func age(of day: DayNumber, asOf: DayNumber) -> Int64 {
        Int64(asOf) - Int64(day)
    }
}
