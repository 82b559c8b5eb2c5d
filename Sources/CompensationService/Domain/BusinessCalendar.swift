/// The firm's business time: Beijing (UTC+8, no daylight saving). An event's instant becomes the
/// calendar day it fell on there, and that day decides its month and its manager. Pure arithmetic.
public enum BusinessCalendar {
    public static let millisPerDay: Int64 = 86_400_000
    public static let offsetMillis: Int64 = 8 * 3_600_000

    /// The Beijing calendar day of an instant in Unix milliseconds.
    public static func day(ofUnixMillis millis: Int64) -> CalendarDay {
        let local = millis + offsetMillis
        let days = local >= 0 ? local / millisPerDay : (local - millisPerDay + 1) / millisPerDay
        return CalendarDay(daysSince1970: Int32(clamping: days))
    }

    /// The first instant (Unix milliseconds) of a Beijing calendar day.
    public static func startMillis(of day: CalendarDay) -> Int64 {
        Int64(day.daysSince1970) * millisPerDay - offsetMillis
    }
}
