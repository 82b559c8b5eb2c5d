import CRMProtos

/// Small builders for the wire's value messages, so the generators read as arithmetic on fen and
/// days rather than as message plumbing.
enum Wire {
    /// An amount in fen (CNY: the currency field stays empty, which the contract reads as CNY).
    @inline(__always)
    static func money(_ fen: Int64) -> Crm_Common_V1_Money {
        var money = Crm_Common_V1_Money()
        money.minorUnits = fen
        return money
    }

    @inline(__always)
    static func timestamp(_ millis: Int64) -> Crm_Common_V1_Timestamp {
        var timestamp = Crm_Common_V1_Timestamp()
        timestamp.unixMillis = millis
        return timestamp
    }

    @inline(__always)
    static func date(_ day: WorldDay) -> Crm_Common_V1_Date {
        WorldDays.date(day)
    }

    /// A price kept in thousandths of a yuan as decimal text with `decimals` places (2 or 3):
    /// `12.340` → "12.34" with 2 decimals. The value must be a multiple of the last place kept.
    static func price(milli: Int64, decimals: Int) -> String {
        let whole = milli / 1_000
        let fraction = milli % 1_000
        switch decimals {
        case 2:
            let cents = fraction / 10
            return "\(whole).\(cents < 10 ? "0" : "")\(cents)"
        default:
            let padding = fraction < 10 ? "00" : fraction < 100 ? "0" : ""
            return "\(whole).\(padding)\(fraction)"
        }
    }

    /// Zero-padded decimal text of a non-negative number.
    static func padded(_ value: Int, width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// `20261015`, for idempotency keys.
    static func compactDate(_ day: WorldDay) -> String {
        let civil = WorldDays.civil(day)
        return "\(civil.year)\(civil.month < 10 ? "0" : "")\(civil.month)\(civil.day < 10 ? "0" : "")\(civil.day)"
    }
}

/// Fen arithmetic of the generators.
enum Fen {
    /// `value` yuan in fen.
    @inline(__always)
    static func yuan(_ value: Double) -> Int64 { Int64((value * 100).rounded()) }

    /// `fen × rate`, rounded to the fen (rates are small, products stay far from overflow).
    @inline(__always)
    static func scaled(_ fen: Int64, by rate: Double) -> Int64 { Int64((Double(fen) * rate).rounded()) }

    /// Rounds down to a multiple of `step` fen (at least `step`).
    @inline(__always)
    static func floored(_ fen: Int64, to step: Int64) -> Int64 { max(step, fen / step * step) }
}
