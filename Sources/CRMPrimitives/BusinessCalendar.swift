#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The firm's business time: Beijing (UTC+8, no daylight saving), where the exchanges and the firm
/// keep their books. An event's instant becomes the calendar day it fell on there, and that day
/// decides its dimensions, its month and its manager; "today" is today there. Pure arithmetic, no
/// Foundation calendar.
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

    /// Unix milliseconds of a Beijing wall-clock time, `secondOfDay` seconds after midnight of `day`.
    public static func millis(of day: CalendarDay, secondOfDay: Int) -> Int64 {
        startMillis(of: day) + Int64(secondOfDay) * 1_000
    }

    /// Milliseconds since midnight (Beijing) of an instant.
    public static func millisIntoDay(ofUnixMillis millis: Int64) -> Int64 {
        millis - startMillis(of: day(ofUnixMillis: millis))
    }

    /// Today in Beijing, by the system clock.
    public static func today(nowMillis: Int64 = currentUnixMillis()) -> CalendarDay {
        day(ofUnixMillis: nowMillis)
    }

    /// The system clock in Unix milliseconds.
    public static func currentUnixMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
