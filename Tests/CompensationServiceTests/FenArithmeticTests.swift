import CompensationService
import Testing

@Suite struct FenArithmeticTests {
    typealias F = Fixture

    @Test func halvesRoundAwayFromZero() {
        #expect(FenArithmetic.rounded(5, dividedBy: 10) == 1)      // 0.5 → 1
        #expect(FenArithmetic.rounded(-5, dividedBy: 10) == -1)    // −0.5 → −1
        #expect(FenArithmetic.rounded(4, dividedBy: 10) == 0)      // 0.4 → 0
        #expect(FenArithmetic.rounded(-14, dividedBy: 10) == -1)   // −1.4 → −1
        #expect(FenArithmetic.rounded(-15, dividedBy: 10) == -2)   // −1.5 → −2
        #expect(FenArithmetic.rounded(25, dividedBy: 10) == 3)     // 2.5 → 3, not to even
        // 12 345 × 2 500 bp = 3 086.25 → 3 086; 12 346 × 2 500 bp = 3 086.5 → 3 087.
        #expect(FenArithmetic.apply(BasisPoints(2_500), to: 12_345) == 3_086)
        #expect(FenArithmetic.apply(BasisPoints(2_500), to: 12_346) == 3_087)
        // No overflow in the exact product: 9·10¹⁸ fen × 100 % × 100 % stays exact in 128 bits.
        #expect(FenArithmetic.apply(BasisPoints(10_000), BasisPoints(10_000), to: 9_000_000_000_000_000_000) == 9_000_000_000_000_000_000)
    }

    @Test func coefficientsAreExactDecimals() throws {
        #expect(Coefficient("1")?.partsPerMillion == 1_000_000)
        #expect(Coefficient("0.95")?.partsPerMillion == 950_000)
        #expect(Coefficient("1.000001")?.partsPerMillion == 1_000_001)
        #expect(Coefficient("0")?.partsPerMillion == 0)
        for bad in ["", "-1", "1.", ".5", "1.0000001", "1e3", "0.9x"] {
            #expect(Coefficient(bad) == nil, "\(bad)")
        }
        #expect(Coefficient(partsPerMillion: 950_000).description == "0.95")
        #expect(Coefficient(partsPerMillion: 1_050_000).description == "1.05")
        #expect(Coefficient(partsPerMillion: 1_000_001).description == "1.000001")
        #expect(Coefficient(partsPerMillion: 2_000_000).description == "2")
        #expect(Coefficient(partsPerMillion: -45_000).description == "-0.045")
        // 1 000 × 1.000001 = 1 000.001 → 1 000; 500 000 × 1.000001 = 500 000.5 → 500 001.
        #expect(FenArithmetic.apply(Coefficient(partsPerMillion: 1_000_001), to: 1_000) == 1_000)
        #expect(FenArithmetic.apply(Coefficient(partsPerMillion: 1_000_001), to: 500_000) == 500_001)
    }

    @Test func calendarDaysAndMonths() {
        #expect(F.day(1970, 1, 1).daysSince1970 == 0)
        #expect(F.day(2025, 3, 1).daysSince1970 == 20_148)
        #expect(F.day(2024, 2, 29).description == "2024-02-29")
        #expect(CalendarDay(year: 2025, month: 2, day: 29) == nil)
        #expect(F.month(2024, 2).dayCount == 29)
        #expect(F.month(2025, 2).dayCount == 28)
        #expect(F.month(2025, 12).next == F.month(2026, 1))
        #expect(F.month(2025, 1).previous == F.month(2024, 12))
        #expect(F.march.lastDay == F.day(2025, 3, 31))
        #expect(F.day(2025, 3, 31).month == F.march)
        #expect(CalendarMonth("2025-03") == F.march)
        #expect(CalendarMonth("2025-13") == nil)
        for offset in stride(from: Int32(-800), through: 800, by: 7) {
            let day = CalendarDay(daysSince1970: 20_000 + offset)
            let parts = day.components
            #expect(CalendarDay(year: parts.year, month: parts.month, day: parts.day) == day)
        }
    }
}
