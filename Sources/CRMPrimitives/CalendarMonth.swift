/// A calendar month: the unit of settlement (statements, closings, coefficients), of matching's
/// training and evaluation months, and of the generated world. Written and read as "YYYY-MM".
public struct CalendarMonth: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    /// 1–12.
    public let month: Int

    /// Nil unless `month` is 1–12 and `year` 1–9999.
    public init?(year: Int, month: Int) {
        guard (1...9999).contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    package init(unchecked year: Int, _ month: Int) {
        self.year = year
        self.month = month
    }

    /// Parses "YYYY-MM".
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]) else { return nil }
        self.init(year: year, month: month)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let month = CalendarMonth(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a month (YYYY-MM)")
        }
        self = month
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The month after this one.
    public var next: CalendarMonth { month == 12 ? CalendarMonth(unchecked: year + 1, 1) : CalendarMonth(unchecked: year, month + 1) }

    /// The month before this one.
    public var previous: CalendarMonth { month == 1 ? CalendarMonth(unchecked: year - 1, 12) : CalendarMonth(unchecked: year, month - 1) }

    public var firstDay: CalendarDay { CalendarDay(daysSince1970: Int32(CalendarDay.days(year: year, month: month, day: 1))) }

    public var lastDay: CalendarDay { next.firstDay.adding(days: -1) }

    /// 28–31.
    public var dayCount: Int { Int(next.firstDay.daysSince1970 - firstDay.daysSince1970) }

    /// The month `day` lies in.
    public init(containing day: CalendarDay) {
        let parts = day.components
        self.init(unchecked: parts.year, parts.month)
    }

    /// Day `number` (1-based) of this month, or nil past its end.
    public func day(_ number: Int) -> CalendarDay? { CalendarDay(year: year, month: month, day: number) }

    public func contains(_ day: CalendarDay) -> Bool { day >= firstDay && day <= lastDay }

    public static func < (lhs: CalendarMonth, rhs: CalendarMonth) -> Bool { (lhs.year, lhs.month) < (rhs.year, rhs.month) }

    /// "2025-03".
    public var description: String { "\(Self.padded(year, 4))-\(Self.padded(month, 2))" }

    package static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
