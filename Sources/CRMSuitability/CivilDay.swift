import CRMPrimitives

/// Day numbers (days since 1970-01-01) and calendar dates as the rules read them, over
/// ``CalendarDay``; and the rules' own reading of "valid for N years".
public enum CivilDay {
    public static func day(year: Int, month: Int, day: Int) -> Int32 {
        Int32(CalendarDay.days(year: year, month: month, day: day))
    }

    public static func civil(_ number: Int32) -> (year: Int, month: Int, day: Int) {
        CalendarDay(daysSince1970: number).components
    }

    /// The same calendar date `years` later, less one day (valid through the day before the
    /// anniversary); 29 February rolls to 28 February in a common year.
    public static func adding(years: Int, to number: Int32) -> Int32 {
        let date = civil(number)
        let year = date.year + years
        let day = date.month == 2 && date.day == 29 && !CalendarDay.isLeapYear(year) ? 28 : date.day
        return Self.day(year: year, month: date.month, day: day) - 1
    }
}
