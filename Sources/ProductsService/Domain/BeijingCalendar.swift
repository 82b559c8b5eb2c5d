import CRMPrimitives
import CRMProtos

/// Calendar dates and clock times in Beijing time, the firm's business time (``BusinessCalendar``):
/// sales windows are Beijing dates.
enum BeijingCalendar {
    static let millisPerDay = BusinessCalendar.millisPerDay

    /// The Beijing calendar date of an instant.
    static func date(ofUnixMillis millis: Int64) -> Crm_Common_V1_Date {
        Crm_Common_V1_Date(BusinessCalendar.day(ofUnixMillis: millis))
    }

    /// `2026-06-10 10:30:00.123 +08:00`: an instant as people in the firm read it.
    static func text(ofUnixMillis millis: Int64) -> String {
        let date = date(ofUnixMillis: millis).isoString
        let inDay = BusinessCalendar.millisIntoDay(ofUnixMillis: millis)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let seconds = inDay / 1_000
        return "\(date) \(pad(seconds / 3_600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(inDay % 1_000, 3)) +08:00"
    }
}
