import Foundation

/// Which windows an element belongs to.
///
/// ```swift
/// .tumbling(.minutes(1))                        // [12:00, 12:01), [12:01, 12:02), ...
/// .sliding(size: .minutes(10), slide: .minutes(1))
/// .session(gap: .seconds(30))                   // closes after 30 s without data for the key
/// .days(in: TimeZone(identifier: "Europe/Zurich")!)   // local days, 23 or 25 hours at DST
/// ```
public struct WindowSpec: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case tumbling(size: Int64, offset: Int64)
        case sliding(size: Int64, slide: Int64, offset: Int64)
        case session(gap: Int64)
        case calendar(CalendarUnit, TimeZone)
    }

    /// A calendar unit for calendar-aligned windows.
    public enum CalendarUnit: String, Sendable, Hashable {
        /// Local days, from midnight to midnight.
        case day
        /// ISO 8601 weeks, Monday to Monday.
        case week
        /// Calendar months.
        case month
        /// Calendar years.
        case year
    }

    let kind: Kind

    /// Fixed-size windows that do not overlap, aligned to the epoch plus `offset`.
    public static func tumbling(_ size: Duration, offset: Duration = .zero) -> WindowSpec {
        WindowSpec(kind: .tumbling(size: size.streamKitMicroseconds, offset: offset.streamKitMicroseconds))
    }

    /// Fixed-size windows that start every `slide`; an element belongs to `size / slide` of them.
    public static func sliding(size: Duration, slide: Duration, offset: Duration = .zero) -> WindowSpec {
        WindowSpec(
            kind: .sliding(
                size: size.streamKitMicroseconds,
                slide: slide.streamKitMicroseconds,
                offset: offset.streamKitMicroseconds
            )
        )
    }

    /// Per-key windows that close after `gap` without an element of that key.
    public static func session(gap: Duration) -> WindowSpec {
        WindowSpec(kind: .session(gap: gap.streamKitMicroseconds))
    }

    /// Calendar-aligned windows in a time zone: local days, ISO weeks, months or years, with the
    /// real length of each (a day is 23 or 25 hours when the clocks change).
    public static func calendar(_ unit: CalendarUnit, in timeZone: TimeZone) -> WindowSpec {
        WindowSpec(kind: .calendar(unit, timeZone))
    }

    /// Local days in a time zone; see ``calendar(_:in:)``.
    public static func days(in timeZone: TimeZone) -> WindowSpec { .calendar(.day, in: timeZone) }
    /// ISO weeks (Monday to Monday) in a time zone; see ``calendar(_:in:)``.
    public static func weeks(in timeZone: TimeZone) -> WindowSpec { .calendar(.week, in: timeZone) }
    /// Calendar months in a time zone; see ``calendar(_:in:)``.
    public static func months(in timeZone: TimeZone) -> WindowSpec { .calendar(.month, in: timeZone) }

    /// Whether the windows can aggregate in two phases (see ``AggregationPhases``): each element
    /// belongs to exactly one window, so a partial aggregate, placed at its window's last instant,
    /// lands in the same window on the worker (tumbling and calendar windows).
    var aggregatesInTwoSteps: Bool {
        switch kind {
        case .tumbling, .calendar: true
        case .sliding, .session: false
        }
    }

    /// Whether windows merge per key (sessions).
    var isSession: Bool {
        if case .session = kind { return true }
        return false
    }

    /// The mistakes in this specification, as messages that say what to change.
    func problems() -> [String] {
        switch kind {
        case .tumbling(let size, _):
            return size > 0
                ? []
                : ["a tumbling window of size \(Duration.microseconds(size)): use a positive size such as .minutes(1)"]
        case .sliding(let size, let slide, _):
            var problems: [String] = []
            if size <= 0 {
                problems.append("a sliding window of size \(Duration.microseconds(size)): use a positive size")
            }
            if slide <= 0 {
                problems.append("a sliding window with slide \(Duration.microseconds(slide)): use a positive slide")
            }
            if size > 0 && slide > 0 && size % slide != 0 {
                problems.append(
                    "a sliding window whose size is not a multiple of its slide: make it one, such as size .minutes(10) and slide .minutes(1)"
                )
            }
            return problems
        case .session(let gap):
            return gap > 0 ? [] : ["a session window with gap \(Duration.microseconds(gap)): use a positive gap"]
        case .calendar:
            return []
        }
    }

    /// A short text for diagrams.
    public var description: String {
        switch kind {
        case .tumbling(let size, _): return "tumbling \(Duration.microseconds(size))"
        case .sliding(let size, let slide, _):
            return "sliding \(Duration.microseconds(size)) every \(Duration.microseconds(slide))"
        case .session(let gap): return "session gap \(Duration.microseconds(gap))"
        case .calendar(let unit, let zone): return "\(unit.rawValue)s in \(zone.identifier)"
        }
    }
}
