import CRMProtos
import Foundation

/// The business day `days` away from today in Beijing (UTC+8, where the services' days are), as
/// the services' messages carry it: the integration tests' assessments and sales windows are
/// relative to it so they hold whatever day the suite runs.
func todayInBeijing(plus days: Int) -> Crm_Common_V1_Date {
    let date = Date().addingTimeInterval(Double(days) * 86_400 + 8 * 3_600)
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
    let parts = calendar.dateComponents([.year, .month, .day], from: date)
    return .init(year: Int32(parts.year ?? 2026), month: Int32(parts.month ?? 1), day: Int32(parts.day ?? 1))
}
