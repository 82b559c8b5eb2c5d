import CRMPrimitives
import CRMProtos
import CRMStore

/// Business days and months as matching keeps them: day numbers (`Int32`, days since 1970-01-01 in
/// Beijing time), over the shared ``CRMPrimitives/BusinessDays`` and ``CalendarDay``.
enum BusinessDays {
    static let millisPerDay = CRMPrimitives.BusinessCalendar.millisPerDay

    static func day(ofMillis millis: Int64) -> Int32 {
        CRMPrimitives.BusinessCalendar.day(ofUnixMillis: millis).daysSince1970
    }

    static func today(nowMillis: Int64 = currentMillis()) -> Int32 { day(ofMillis: nowMillis) }

    /// The first millisecond of a business day (00:00 Beijing).
    static func millis(ofDay day: Int32) -> Int64 {
        CRMPrimitives.BusinessCalendar.startMillis(of: CalendarDay(daysSince1970: day))
    }

    static func day(_ date: Crm_Common_V1_Date) -> Int32 {
        Int32(CalendarDay.days(year: Int(date.year), month: Int(date.month), day: Int(date.day)))
    }

    static func date(_ day: Int32) -> Crm_Common_V1_Date {
        Crm_Common_V1_Date(CalendarDay(daysSince1970: day))
    }

    static func currentMillis() -> Int64 { currentUnixMillis() }
}

/// A calendar month, "YYYY-MM" on the wire: ``CalendarMonth`` with its days as day numbers, the
/// form matching's snapshots and purchases are keyed by.
struct BusinessMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    let calendarMonth: CalendarMonth

    init(year: Int, month: Int) {
        calendarMonth = CalendarMonth(unchecked: year, month)
    }

    init(day: Int32) {
        calendarMonth = CalendarMonth(containing: CalendarDay(daysSince1970: day))
    }

    /// Parses "YYYY-MM" (years from 1900); nil for anything else.
    init?(_ text: String) {
        guard let month = CalendarMonth(text), month.year >= 1900 else { return nil }
        calendarMonth = month
    }

    var year: Int { calendarMonth.year }
    var month: Int { calendarMonth.month }
    var description: String { calendarMonth.description }
    var firstDay: Int32 { calendarMonth.firstDay.daysSince1970 }
    var lastDay: Int32 { calendarMonth.lastDay.daysSince1970 }
    var next: BusinessMonth { BusinessMonth(calendarMonth.next) }
    var previous: BusinessMonth { BusinessMonth(calendarMonth.previous) }

    private init(_ month: CalendarMonth) { calendarMonth = month }

    static func < (lhs: BusinessMonth, rhs: BusinessMonth) -> Bool { lhs.calendarMonth < rhs.calendarMonth }
}
