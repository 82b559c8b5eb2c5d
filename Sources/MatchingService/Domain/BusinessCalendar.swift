import CRMProtos
import CRMStore
import CRMSuitability

/// Business days and months in Beijing time (UTC+8, no daylight saving), the firm's calendar.
enum BusinessCalendar {
    static let millisPerDay: Int64 = 86_400_000
    static let beijingOffsetMillis: Int64 = 8 * 3_600_000

    static func day(ofMillis millis: Int64) -> Int32 {
        let shifted = millis + beijingOffsetMillis
        return Int32((shifted >= 0 ? shifted : shifted - millisPerDay + 1) / millisPerDay)
    }

    static func today(nowMillis: Int64 = currentMillis()) -> Int32 { day(ofMillis: nowMillis) }

    static func day(_ date: Crm_Common_V1_Date) -> Int32 {
        CivilDay.day(year: Int(date.year), month: Int(date.month), day: Int(date.day))
    }

    static func date(_ day: Int32) -> Crm_Common_V1_Date {
        let civil = CivilDay.civil(day)
        return .init(year: Int32(civil.year), month: Int32(civil.month), day: Int32(civil.day))
    }

    static func currentMillis() -> Int64 { currentUnixMillis() }
}

/// A calendar month, "YYYY-MM" on the wire.
struct BusinessMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    let year: Int
    let month: Int

    init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    init(day: Int32) {
        let civil = CivilDay.civil(day)
        self.init(year: civil.year, month: civil.month)
    }

    /// Parses "YYYY-MM"; nil for anything else.
    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), (1...12).contains(month), year >= 1900
        else { return nil }
        self.init(year: year, month: month)
    }

    var description: String { String(format: "%04d-%02d", year, month) }
    var firstDay: Int32 { CivilDay.day(year: year, month: month, day: 1) }
    var next: BusinessMonth { month == 12 ? BusinessMonth(year: year + 1, month: 1) : BusinessMonth(year: year, month: month + 1) }
    var previous: BusinessMonth { month == 1 ? BusinessMonth(year: year - 1, month: 12) : BusinessMonth(year: year, month: month - 1) }
    var lastDay: Int32 { next.firstDay - 1 }

    static func < (lhs: BusinessMonth, rhs: BusinessMonth) -> Bool { (lhs.year, lhs.month) < (rhs.year, rhs.month) }
}

