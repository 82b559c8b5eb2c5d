/// A calendar day as days since 1970-01-01 in the proleptic Gregorian calendar: the one home of the
/// civil-date arithmetic every service uses (profiles' dimensions, products' sales windows,
/// matching's months, compensation's attribution, the suitability rules' validity, the generated
/// world). Instants become days in the firm's business time zone through ``BusinessCalendar``;
/// nothing here knows about time zones.
public struct CalendarDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var daysSince1970: Int32

    public init(daysSince1970: Int32) { self.daysSince1970 = daysSince1970 }

    /// The day `year-month-day` in the proleptic Gregorian calendar; nil when it is not a date
    /// (or lies outside years 1–9999).
    public init?(year: Int, month: Int, day: Int) {
        guard let calendarMonth = CalendarMonth(year: year, month: month), (1...calendarMonth.dayCount).contains(day) else {
            return nil
        }
        self.init(daysSince1970: Int32(Self.days(year: year, month: month, day: day)))
    }

    public init(from decoder: any Decoder) throws {
        self.daysSince1970 = try decoder.singleValueContainer().decode(Int32.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(daysSince1970)
    }

    /// Year, month (1–12) and day of month (1–31).
    public var components: (year: Int, month: Int, day: Int) { Self.civil(Int(daysSince1970)) }

    /// The month this day lies in.
    public var month: CalendarMonth {
        let parts = components
        return CalendarMonth(unchecked: parts.year, parts.month)
    }

    /// The day `count` days later (earlier for a negative count).
    public func adding(days count: Int32) -> CalendarDay { CalendarDay(daysSince1970: daysSince1970 + count) }

    /// Whether `year` has a 29 February.
    public static func isLeapYear(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    public static func < (lhs: CalendarDay, rhs: CalendarDay) -> Bool { lhs.daysSince1970 < rhs.daysSince1970 }

    /// "2025-03-15".
    public var description: String {
        let parts = components
        return "\(CalendarMonth.padded(parts.year, 4))-\(CalendarMonth.padded(parts.month, 2))-\(CalendarMonth.padded(parts.day, 2))"
    }

    /// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`), unchecked: any
    /// month 1–12 and day 1–31 (a day past the month's end runs into the next month).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a day number (H. Hinnant's `civil_from_days`).
    public static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
