/// Exact integer arithmetic on amounts of money in fen (and other counts kept as `Int64`): sums and
/// products saturate at the `Int64` range instead of trapping, so one absurd amount from a feed
/// cannot crash a service, and divisions round once, halves away from zero. The one home of these
/// rules: profiles' dimensions and compensation's statements both use them. Pure.
public enum Fen {
    /// `a + b`, clamped to the `Int64` range.
    @inline(__always)
    public static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return result }
        return b > 0 ? .max : .min
    }

    /// `a − b`, clamped to the `Int64` range.
    @inline(__always)
    public static func difference(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        guard overflow else { return result }
        return b < 0 ? .max : .min
    }

    /// `a × b`, clamped to the `Int64` range.
    @inline(__always)
    public static func product(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard overflow else { return result }
        return (a < 0) == (b < 0) ? .max : .min
    }

    /// The clamped sum of `values`.
    public static func total<S: Sequence>(_ values: S) -> Int64 where S.Element == Int64 {
        values.reduce(0, sum)
    }

    /// `numerator / denominator` to the nearest integer, halves away from zero (12.5 → 13,
    /// −12.5 → −13); 0 when the denominator is 0.
    public static func roundedQuotient(_ numerator: Int64, _ denominator: Int64) -> Int64 {
        guard denominator != 0 else { return 0 }
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        // |remainder| × 2 ≥ |denominator| rounds away from zero; magnitudes compared without overflow.
        guard remainder.magnitude * 2 >= denominator.magnitude else { return quotient }
        return (numerator < 0) == (denominator < 0) ? quotient + 1 : quotient - 1
    }

    /// `numerator / denominator` computed in 128 bits and rounded once to the nearest fen, halves
    /// away from zero, clamped to the `Int64` range: a product of several rates applied to an amount
    /// is one fraction, divided once. A non-positive denominator yields 0.
    public static func rounded(_ numerator: Int128, dividedBy denominator: Int128) -> Int64 {
        guard denominator > 0 else { return 0 }
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        var result = quotient
        if remainder.magnitude * 2 >= denominator.magnitude {
            result += numerator < 0 ? -1 : 1
        }
        return Int64(clamping: result)
    }
}
