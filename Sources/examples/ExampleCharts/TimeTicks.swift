import Foundation
import StreamKit

/// Ticks of a time axis on the clock of a place: whole minutes, hours, days, months or years,
/// labelled as a reader says them (`13:45`, `4 Mar`, `Mar 2024`, `2024`).
public struct TimeTicks: Sendable {
    /// One tick: its instant and its label.
    public struct Tick: Sendable, Hashable {
        /// The instant.
        public var date: Date
        /// The label, such as `13:45` or `Mar 2024`.
        public var label: String
    }

    /// The distance between two ticks.
    public enum Step: Sendable, Hashable {
        /// A fixed number of seconds below a day (one minute to twelve hours).
        case seconds(Int)
        /// Days on the local calendar (a day is 23 or 25 hours when the clocks change).
        case days(Int)
        /// Months on the local calendar.
        case months(Int)
        /// Years on the local calendar.
        case years(Int)

        /// About how long the step is, in seconds, to compare with a span.
        var approximateSeconds: Double {
            switch self {
            case .seconds(let n): Double(n)
            case .days(let n): Double(n) * 86_400
            case .months(let n): Double(n) * 30.44 * 86_400
            case .years(let n): Double(n) * 365.25 * 86_400
            }
        }
    }

    /// The steps tried, shortest first.
    static let steps: [Step] =
        [60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200].map { .seconds($0) }
        + [1, 2, 7, 14].map { .days($0) } + [1, 2, 3, 6].map { .months($0) }
        + [1, 2, 5, 10, 20, 50, 100].map { .years($0) }

    /// The clock the ticks are placed and labelled on.
    public var timeZone: TimeZone

    /// Ticks on the clock of `timeZone`.
    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// The shortest step that gives at most `count` ticks over `start...end`.
    public func step(from start: Date, to end: Date, count: Int = 8) -> Step {
        let span = max(1, end.timeIntervalSince(start))
        return Self.steps.first { span / $0.approximateSeconds <= Double(max(1, count)) } ?? .years(100)
    }

    /// The ticks within `start...end`, at most about `count` of them, on round instants of the
    /// local clock: multiples of the step from local midnight, the first of a month, a year.
    public func ticks(from start: Date, to end: Date, count: Int = 8) -> [Tick] {
        guard end >= start else { return [] }
        let step = step(from: start, to: end, count: count)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var dates: [Date] = []
        switch step {
        case .seconds(let seconds):
            // Multiples of the step on the local clock (15-minute ticks at :00, :15, :30, :45).
            let offset = Double(timeZone.secondsFromGMT(for: start))
            let local = start.timeIntervalSince1970 + offset
            var tick = (local / Double(seconds)).rounded(.up) * Double(seconds) - offset
            while tick <= end.timeIntervalSince1970 {
                dates.append(Date(timeIntervalSince1970: tick))
                tick += Double(seconds)
            }
        case .days(let days):
            var tick = calendar.startOfDay(for: start)
            if days == 7 || days == 14 {
                // Weeks start on Monday, as the ISO weeks of the reports do.
                let weekday = calendar.component(.weekday, from: tick)
                tick = calendar.date(byAdding: .day, value: (9 - weekday) % 7, to: tick)!
            }
            while tick < start { tick = calendar.date(byAdding: .day, value: 1, to: tick)! }
            while tick <= end {
                dates.append(tick)
                tick = calendar.date(byAdding: .day, value: days, to: tick)!
            }
        case .months(let months):
            var parts = calendar.dateComponents([.year, .month], from: start)
            // Months that are multiples of the step: quarters start in January, April, July, October.
            parts.month = ((parts.month! - 1) / months) * months + 1
            var tick = calendar.date(from: parts)!
            while tick < start { tick = calendar.date(byAdding: .month, value: months, to: tick)! }
            while tick <= end {
                dates.append(tick)
                tick = calendar.date(byAdding: .month, value: months, to: tick)!
            }
        case .years(let years):
            let first = calendar.component(.year, from: start)
            var year = (first / years) * years
            while let tick = calendar.date(from: DateComponents(year: year, month: 1, day: 1)), tick <= end {
                if tick >= start { dates.append(tick) }
                year += years
            }
        }
        let spansDays = end.timeIntervalSince(start) > 86_400
        return dates.map { Tick(date: $0, label: label($0, step: step, spansDays: spansDays)) }
    }

    /// The label of a tick: the parts of the date that change from tick to tick.
    public func label(_ date: Date, step: Step, spansDays: Bool = false) -> String {
        switch step {
        case .seconds: format(date, spansDays ? "d MMM HH:mm" : "HH:mm")
        case .days: format(date, "d MMM")
        case .months(let n) where n < 12: format(date, "MMM yyyy")
        case .months, .years: format(date, "yyyy")
        }
    }

    /// `date` on the local clock in a fixed English pattern of `yyyy`, `MM`, `MMM`, `dd`, `d`,
    /// `EEE`, `HH` and `mm` (other characters are copied). Computed here rather than with a
    /// `DateFormatter`, which costs about a millisecond to make on Linux: a page of 1,000 sensors
    /// formats thousands of dates.
    public func format(_ date: Date, _ pattern: String) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let local = Int64(seconds) + Int64(timeZone.secondsFromGMT(for: date))
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondOfDay = local - days * 86_400
        // The local date from StreamKit's ISO 8601 form of the shifted instant: `2024-03-04T…Z`.
        let iso = Array(Timestamp(microseconds: local * 1_000_000).iso8601.utf8)
        let dash = iso.firstIndex(of: UInt8(ascii: "-"), after: 1)
        func number(_ range: Range<Int>) -> Int {
            iso[range].reduce(0) { $0 * 10 + Int($1) - 48 }
        }
        let year = (iso[0] == UInt8(ascii: "-") ? -1 : 1) * number((iso[0] == UInt8(ascii: "-") ? 1 : 0)..<dash)
        let month = number(dash + 1..<dash + 3)
        let day = number(dash + 4..<dash + 6)
        // 1970-01-01 was a Thursday.
        let weekday = Int(((days % 7) + 7 + 3) % 7)
        func padded(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var result = ""
        var rest = Substring(pattern)
        let tokens: [(String, () -> String)] = [
            ("yyyy", { padded(year, 4) }),
            ("MMM", { Self.monthNames[month - 1] }),
            ("MM", { padded(month, 2) }),
            ("dd", { padded(day, 2) }),
            ("d", { String(day) }),
            ("EEE", { Self.weekdayNames[weekday] }),
            ("HH", { padded(Int(secondOfDay / 3_600), 2) }),
            ("mm", { padded(Int(secondOfDay % 3_600 / 60), 2) }),
        ]
        while let first = rest.first {
            if let (token, value) = tokens.first(where: { rest.hasPrefix($0.0) }) {
                result += value()
                rest = rest.dropFirst(token.count)
            } else {
                result.append(first)
                rest = rest.dropFirst()
            }
        }
        return result
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let weekdayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
}

extension Array where Element == UInt8 {
    /// The index of the first `byte` after index `start`.
    fileprivate func firstIndex(of byte: UInt8, after start: Int) -> Int {
        self[(start + 1)...].firstIndex(of: byte) ?? count
    }
}
