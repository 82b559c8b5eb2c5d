import CRMPrimitives
import CRMProtos

/// A calendar day as the number of days since 1970-01-01, the unit every date in the world is kept
/// in (the profiles service counts days the same way, in Beijing time).
public typealias WorldDay = Int32

/// Day arithmetic in Beijing time (UTC+8, no daylight saving): civil dates, instants, weekdays and
/// the exchanges' trading days. Pure integer arithmetic, no Foundation calendar, so it is fast and
/// the same on every platform.
public enum WorldDays {
    /// The day number of a proleptic Gregorian date.
    public static func day(_ year: Int, _ month: Int, _ day: Int) -> WorldDay {
        WorldDay(CalendarDay.days(year: year, month: month, day: day))
    }

    /// The civil date of a day number.
    public static func civil(_ dayNumber: WorldDay) -> (year: Int, month: Int, day: Int) {
        CalendarDay(daysSince1970: dayNumber).components
    }

    /// The wire date of a day number.
    public static func date(_ dayNumber: WorldDay) -> Crm_Common_V1_Date {
        let civil = civil(dayNumber)
        return Crm_Common_V1_Date(year: Int32(civil.year), month: Int32(civil.month), day: Int32(civil.day))
    }

    /// The day number of a wire date.
    public static func day(of date: Crm_Common_V1_Date) -> WorldDay {
        day(Int(date.year), Int(date.month), Int(date.day))
    }

    /// The Beijing day an instant falls on.
    public static func day(ofMillis millis: Int64) -> WorldDay {
        BusinessCalendar.day(ofUnixMillis: millis).daysSince1970
    }

    /// Unix milliseconds of a Beijing wall-clock time on `day`.
    public static func millis(_ day: WorldDay, secondOfDay: Int) -> Int64 {
        BusinessCalendar.millis(of: CalendarDay(daysSince1970: day), secondOfDay: secondOfDay)
    }

    /// The Beijing wall-clock second of the day of an instant.
    public static func secondOfDay(_ millis: Int64) -> Int {
        Int((millis - self.millis(day(ofMillis: millis), secondOfDay: 0)) / 1_000)
    }

    /// 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday).
    static func weekday(_ day: WorldDay) -> Int {
        let value = (Int(day) + 4) % 7
        return value < 0 ? value + 7 : value
    }

    /// The same calendar day `years` later (29 February becomes 28 February in common years).
    static func adding(years: Int, to day: WorldDay) -> WorldDay {
        let civil = civil(day)
        let year = civil.year + years
        let dayOfMonth = civil.month == 2 && civil.day == 29 && !CalendarDay.isLeapYear(year) ? 28 : civil.day
        return self.day(year, civil.month, dayOfMonth)
    }

    /// The weekdays on which the Shanghai and Shenzhen exchanges were (or are scheduled to be)
    /// closed for public holidays, 2025–2027. Approximate where the official schedule differs by a
    /// day; enough to keep trades off New Year, the Spring Festival and the National Day week.
    static let exchangeHolidays: Set<WorldDay> = {
        var days: Set<WorldDay> = []
        func close(_ year: Int, _ month: Int, _ first: Int, _ last: Int) {
            for dayOfMonth in first...last { days.insert(day(year, month, dayOfMonth)) }
        }
        close(2025, 1, 1, 1); close(2025, 1, 28, 31); close(2025, 2, 1, 4); close(2025, 4, 4, 4)
        close(2025, 5, 1, 5); close(2025, 6, 2, 2); close(2025, 10, 1, 8)
        close(2026, 1, 1, 2); close(2026, 2, 16, 20); close(2026, 2, 23, 23); close(2026, 4, 6, 6)
        close(2026, 5, 1, 5); close(2026, 6, 19, 19); close(2026, 9, 25, 25); close(2026, 10, 1, 7)
        close(2027, 1, 1, 1); close(2027, 2, 8, 12); close(2027, 5, 3, 5); close(2027, 10, 1, 7)
        return days
    }()

    /// Whether the exchanges trade on `day`: a weekday that is not a holiday.
    static func isTradingDay(_ day: WorldDay) -> Bool {
        let weekday = weekday(day)
        return weekday != 0 && weekday != 6 && !exchangeHolidays.contains(day)
    }
}

/// A calendar month, the unit of the purchase law and of the generated year.
public struct WorldMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init(_ year: Int, _ month: Int) {
        precondition((1...12).contains(month), "month \(month) is not 1...12")
        self.year = year
        self.month = month
    }

    /// The month `count` months later (earlier when negative).
    public func advanced(by count: Int) -> WorldMonth {
        let ordinal = year * 12 + (month - 1) + count
        let year = ordinal >= 0 ? ordinal / 12 : (ordinal - 11) / 12
        return WorldMonth(year, ordinal - year * 12 + 1)
    }

    /// The first day of the month.
    public var firstDay: WorldDay { WorldDays.day(year, month, 1) }

    /// The last day of the month.
    public var lastDay: WorldDay { advanced(by: 1).firstDay - 1 }

    /// `2026-10`.
    public var description: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }

    /// `202610`, for keys and order ids.
    var compact: String { "\(year)\(month < 10 ? "0" : "")\(month)" }

    public static func < (lhs: WorldMonth, rhs: WorldMonth) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }
}

/// The simulated span — the warm-up months, then the generated year — with each month's days and
/// trading days, computed once per world.
public struct WorldCalendar: Sendable {
    /// One simulated month.
    public struct Month: Sendable {
        public let month: WorldMonth
        public let firstDay: WorldDay
        public let lastDay: WorldDay
        /// The trading days, in order (never empty for a real month).
        public let tradingDays: [WorldDay]
        /// The last trading day: the day of the month-end position snapshot.
        public var lastTradingDay: WorldDay { tradingDays.last ?? lastDay }
    }

    /// Every simulated month, the warm-up first.
    public let months: [Month]
    /// How many of ``months`` come before the generated year.
    public let warmUpMonths: Int
    /// The business date of the present ("today"), after the span.
    public let today: WorldDay

    init(firstMonth: WorldMonth, months count: Int, warmUpMonths: Int, today: WorldDay) {
        self.warmUpMonths = warmUpMonths
        self.today = today
        months = (0..<(count + warmUpMonths)).map { offset in
            let month = firstMonth.advanced(by: offset - warmUpMonths)
            let days = month.firstDay...month.lastDay
            return Month(month: month, firstDay: month.firstDay, lastDay: month.lastDay, tradingDays: days.filter(WorldDays.isTradingDay))
        }
    }

    /// The first day of the span (the first warm-up day).
    public var spanStart: WorldDay { months[0].firstDay }
    /// The last day of the span (the end of the held-out month).
    public var spanEnd: WorldDay { months[months.count - 1].lastDay }

    /// The simulated month of a purchase-month index (0 = the first month of the generated year).
    public func month(purchaseMonth index: Int) -> Month {
        months[index + warmUpMonths]
    }
}
