@testable import CustomerDimensions
import ProfilesService
import Testing

@Suite struct DaysTests {
    @Test func dayNumbersMatchTheCalendar() {
        #expect(Days.day(year: 1970, month: 1, day: 1) == 0)
        #expect(Days.day(year: 2000, month: 3, day: 1) == 11_017)
        #expect(Days.day(year: 2026, month: 11, day: 29) == 20_786)
        #expect(Days.day(year: 1969, month: 12, day: 31) == -1)
        for day in stride(from: Int32(-800), through: 30_000, by: 37) {
            let civil = Days.civil(day)
            #expect(Days.day(year: civil.year, month: civil.month, day: civil.day) == day)
        }
    }

    @Test func instantsBelongToTheirDayInChinaStandardTime() {
        // 2026-11-28T16:00:00Z is midnight of 2026-11-29 in Beijing.
        #expect(Days.day(ofMillis: 1_795_881_600_000) == Days.day(year: 2026, month: 11, day: 29))
        #expect(Days.day(ofMillis: 1_795_881_599_999) == Days.day(year: 2026, month: 11, day: 28))
    }
}
