/// A date of the proleptic Gregorian calendar, computed with integer arithmetic (Howard Hinnant's
/// algorithms), for naming periods without a `Calendar` per row.
struct CivilDate: Hashable {
    /// The year.
    var year: Int
    /// The month, 1 to 12.
    var month: Int
    /// The day of the month, 1 to 31.
    var day: Int

    /// The date `days` days after 1970-01-01.
    init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// The local date of a period that starts at local midnight `microseconds` after the epoch in a
    /// time zone less than 12 hours from UTC: noon UTC after it falls on the same date.
    init(localMidnight microseconds: Int64) {
        let seconds = Int(microseconds / 1_000_000) + 12 * 3600
        self.init(daysSinceEpoch: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    }

    /// Days after 1970-01-01.
    var daysSinceEpoch: Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The ISO 8601 week: its year (which may differ from ``year`` around New Year) and number.
    var isoWeek: (year: Int, week: Int) {
        let days = daysSinceEpoch
        // 1970-01-01 was a Thursday; ISO weekdays run from Monday (1) to Sunday (7).
        let weekday = ((days + 3) % 7 + 7) % 7 + 1
        let thursday = days - weekday + 4
        let year = CivilDate(daysSinceEpoch: thursday).year
        let newYear = CivilDate(year: year, month: 1, day: 1).daysSinceEpoch
        return (year, (thursday - newYear) / 7 + 1)
    }

    /// A date.
    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The number of days of `month` in `year`.
    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `n` with at least `width` digits.
    static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
