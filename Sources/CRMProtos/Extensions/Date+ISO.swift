import CRMPrimitives
import Foundation

/// Calendar helpers for the wire's `crm.common.v1.Date`, which carries no time zone.
extension Crm_Common_V1_Date {
    public init(year: Int32, month: Int32, day: Int32) {
        self.init()
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `yyyy-mm-dd`; nil when it is not a real calendar date.
    public init?(isoString: String) {
        let parts = isoString.split(separator: "-")
        guard parts.count == 3, let year = Int32(parts[0]), let month = Int32(parts[1]), let day = Int32(parts[2]) else {
            return nil
        }
        self.init(year: year, month: month, day: day)
        guard isValid else { return nil }
    }

    /// `yyyy-mm-dd`, zero-padded, so that text order is date order.
    public var isoString: String {
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// True for a real day of the proleptic Gregorian calendar between years 1 and 9999.
    public var isValid: Bool {
        CalendarDay(year: Int(year), month: Int(month), day: Int(day)) != nil
    }

    /// The day this date names, or nil when it is not a real date.
    public var calendarDay: CalendarDay? {
        CalendarDay(year: Int(year), month: Int(month), day: Int(day))
    }

    /// The wire form of a day.
    public init(_ day: CalendarDay) {
        let parts = day.components
        self.init(year: Int32(parts.year), month: Int32(parts.month), day: Int32(parts.day))
    }
}
