/// Day numbers (days since 1970-01-01) and calendar dates, for the assessment's validity in years.
public enum CivilDay {
    public static func day(year: Int, month: Int, day: Int) -> Int32 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return Int32(era * 146_097 + dayOfEra - 719_468)
    }

    public static func civil(_ number: Int32) -> (year: Int, month: Int, day: Int) {
        let z = Int(number) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The same calendar date `years` later, less one day (valid through the day before the
    /// anniversary); 29 February rolls to 28 February in a common year.
    public static func adding(years: Int, to number: Int32) -> Int32 {
        let date = civil(number)
        let year = date.year + years
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let day = date.month == 2 && date.day == 29 && !leap ? 28 : date.day
        return Self.day(year: year, month: date.month, day: day) - 1
    }
}
