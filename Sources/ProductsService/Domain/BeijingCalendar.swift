import CRMProtos

/// Calendar dates and clock times in Beijing time (UTC+8, no daylight saving), the firm's business
/// time: sales windows are Beijing dates. Pure integer arithmetic, no Foundation calendar.
enum BeijingCalendar {
    static let millisPerDay: Int64 = 86_400_000
    static let offsetMillis: Int64 = 8 * 3_600_000

    /// The Beijing calendar date of an instant.
    static func date(ofUnixMillis millis: Int64) -> Crm_Common_V1_Date {
        let (day, _) = split(millis)
        let (year, month, dayOfMonth) = civil(day)
        return Crm_Common_V1_Date(year: year, month: month, day: dayOfMonth)
    }

    /// `2026-06-10 10:30:00.123 +08:00`: an instant as people in the firm read it.
    static func text(ofUnixMillis millis: Int64) -> String {
        let (day, inDay) = split(millis)
        let (year, month, dayOfMonth) = civil(day)
        let date = Crm_Common_V1_Date(year: year, month: month, day: dayOfMonth).isoString
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let seconds = inDay / 1_000
        return "\(date) \(pad(seconds / 3_600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(inDay % 1_000, 3)) +08:00"
    }

    /// Days since 1970-01-01 (Beijing) and milliseconds into that day.
    private static func split(_ millis: Int64) -> (day: Int64, inDay: Int64) {
        let local = millis + offsetMillis
        let day = local >= 0 ? local / millisPerDay : (local - millisPerDay + 1) / millisPerDay
        return (day, local - day * millisPerDay)
    }

    /// The proleptic Gregorian date of a day number (Howard Hinnant's civil_from_days).
    private static func civil(_ dayNumber: Int64) -> (Int32, Int32, Int32) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int32(year), Int32(month), Int32(day))
    }
}
