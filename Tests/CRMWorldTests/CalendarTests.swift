import CRMProtos
import CRMWorld
import Testing

/// Day arithmetic against Foundation's calendar, months, trading days.
@Suite struct CalendarTests {
    @Test func dayNumbersMatchFoundation() {
        for year in [1970, 1999, 2000, 2011, 2024, 2025, 2026, 2028, 2100] {
            for month in 1...12 {
                for day in [1, 15, 28] {
                    let date = Crm_Common_V1_Date(year: Int32(year), month: Int32(month), day: Int32(day))
                    let number = WorldDays.day(year, month, day)
                    #expect(number == WorldDaysForTests.day(date))
                    #expect(WorldDays.date(number) == date)
                }
            }
        }
    }

    @Test func instantsFallOnBeijingDays() {
        let day = WorldDays.day(2026, 10, 15)
        #expect(WorldDays.day(ofMillis: WorldDays.millis(day, secondOfDay: 0)) == day)
        #expect(WorldDays.day(ofMillis: WorldDays.millis(day, secondOfDay: 86_399)) == day)
        // Midnight in Beijing is 16:00 UTC the day before.
        #expect(WorldDays.millis(day, secondOfDay: 0) % 86_400_000 == 16 * 3_600_000)
    }

    @Test func monthsAndTradingDays() {
        let month = WorldMonth(2025, 11)
        #expect(month.advanced(by: 11) == WorldMonth(2026, 10))
        #expect(month.advanced(by: -3) == WorldMonth(2025, 8))
        #expect(month.advanced(by: 2).description == "2026-01")
        let world = WorldFixture.world
        #expect(world.calendar.months.count == 15)
        #expect(world.calendar.month(purchaseMonth: world.configuration.heldOutMonth).month == WorldMonth(2026, 10))
        let october = world.calendar.month(purchaseMonth: 11)
        // The National Day week is closed; weekends are never trading days.
        #expect(!october.tradingDays.contains(WorldDays.day(2026, 10, 1)))
        #expect(october.tradingDays.contains(WorldDays.day(2026, 10, 9)))
        #expect(october.tradingDays.allSatisfy { day in
            let weekday = (Int(day) + 4) % 7
            return weekday != 0 && weekday != 6
        })
        #expect(world.calendar.spanEnd < world.configuration.today)
    }
}
