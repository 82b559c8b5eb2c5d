/// Exact decimals written as text ("0.95", "12.345"), read into scaled integers without passing
/// through a floating-point number: the one parser of compensation's coefficients and cost rates.
public enum DecimalText {
    /// `text` × 10^`places` for a non-negative decimal with at most `places` decimals and at most
    /// `wholeDigits` digits before the point; nil for anything else (signs, exponents, spaces, an
    /// empty part around the point).
    public static func scaled(_ text: String, places: Int, wholeDigits: Int) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= wholeDigits, whole.allSatisfy(isDigit),
              let wholeValue = Int64(whole) else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= places, digits.allSatisfy(isDigit), let value = Int64(digits) else { return nil }
            fraction = value
            for _ in digits.count..<places { fraction *= 10 }
        }
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let (product, overflow) = wholeValue.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        return product + fraction
    }

    private static func isDigit(_ character: Character) -> Bool { ("0"..."9").contains(character) }
}
