import Foundation

/// Computes the windows of an element's event time, for tumbling, sliding and calendar windows.
///
/// Calendar windows come from Foundation's `Calendar` in the window's time zone, never from adding
/// 86 400 s; the last window computed is cached, so consecutive elements of the same day cost one
/// comparison.
struct WindowAssigner {
    let spec: WindowSpec
    private var calendar: Calendar?
    private var cached = Window(start: .max, end: .max)

    init(spec: WindowSpec) {
        self.spec = spec
        if case .calendar(let unit, let zone) = spec.kind {
            var calendar = Calendar(identifier: unit == .week ? .iso8601 : .gregorian)
            calendar.timeZone = zone
            self.calendar = calendar
        }
    }

    /// The largest number of windows an element can belong to.
    var windowsPerElement: Int {
        if case .sliding(let size, let slide, _) = spec.kind { return Int(size / slide) }
        return 1
    }

    /// The one window of `time`, for tumbling and calendar windows.
    @inline(__always)
    mutating func window(for time: Timestamp) -> Window {
        switch spec.kind {
        case .tumbling(let size, let offset):
            let start = (time.microseconds &- offset).floorDivided(by: size) &* size &+ offset
            return Window(start: Timestamp(microseconds: start), end: Timestamp(microseconds: start &+ size))
        case .calendar(let unit, _):
            if cached.contains(time) { return cached }
            cached = calendarWindow(for: time, unit: unit)
            return cached
        case .sliding, .session:
            preconditionFailure("sliding and session windows have more than one window per element")
        }
    }

    /// Calls `body` with every window of `time`, oldest first.
    @inline(__always)
    mutating func forEachWindow(for time: Timestamp, _ body: (Window) -> Void) {
        switch spec.kind {
        case .sliding(let size, let slide, let offset):
            let lastStart = (time.microseconds &- offset).floorDivided(by: slide) &* slide &+ offset
            var start = lastStart &- size &+ slide
            while start <= lastStart {
                body(Window(start: Timestamp(microseconds: start), end: Timestamp(microseconds: start &+ size)))
                start &+= slide
            }
        default:
            body(window(for: time))
        }
    }

    private func calendarWindow(for time: Timestamp, unit: WindowSpec.CalendarUnit) -> Window {
        let component: Calendar.Component
        switch unit {
        case .day: component = .day
        case .week: component = .weekOfYear
        case .month: component = .month
        case .year: component = .year
        }
        guard let interval = calendar!.dateInterval(of: component, for: time.date) else {
            preconditionFailure("Foundation has no \(unit) around \(time)")
        }
        return Window(start: Timestamp(interval.start), end: Timestamp(interval.end))
    }
}
