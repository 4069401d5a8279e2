import Foundation

/// Computes the windows of an element's event time, for tumbling, sliding and calendar windows.
///
/// The per-element paths are `@inlinable` so that the window operator's loop specializes in the
/// user's module. Calendar windows come from Foundation's `Calendar` in the window's time zone,
/// never from adding 86 400 s; the last window computed is cached, so consecutive elements of the
/// same day cost one comparison.
@usableFromInline
struct WindowAssigner {
    @usableFromInline
    enum Shape {
        case tumbling
        case sliding
        case calendar
        case session
    }

    @usableFromInline let shape: Shape
    @usableFromInline let size: Int64
    @usableFromInline let slide: Int64
    @usableFromInline let offset: Int64
    @usableFromInline var cached = Window(start: .max, end: .max)
    let calendar: Calendar?
    let component: Calendar.Component

    init(spec: WindowSpec) {
        var calendar: Calendar?
        var component = Calendar.Component.day
        switch spec.kind {
        case .tumbling(let size, let offset):
            (shape, self.size, slide, self.offset) = (.tumbling, size, size, offset)
        case .sliding(let size, let slide, let offset) where size == slide:
            // Windows that slide by their whole size do not overlap: they are tumbling windows.
            (shape, self.size, self.slide, self.offset) = (.tumbling, size, size, offset)
        case .sliding(let size, let slide, let offset):
            (shape, self.size, self.slide, self.offset) = (.sliding, size, slide, offset)
        case .session(let gap):
            (shape, size, slide, offset) = (.session, gap, gap, 0)
        case .calendar(let unit, let zone):
            (shape, size, slide, offset) = (.calendar, 0, 0, 0)
            var units = Calendar(identifier: unit == .week ? .iso8601 : .gregorian)
            units.timeZone = zone
            calendar = units
            switch unit {
            case .day: component = .day
            case .week: component = .weekOfYear
            case .month: component = .month
            case .year: component = .year
            }
        }
        self.calendar = calendar
        self.component = component
    }

    /// The largest number of windows an element can belong to.
    @inlinable
    var windowsPerElement: Int { shape == .sliding ? Int(size / slide) : 1 }

    /// The one window of `time`, for tumbling and calendar windows.
    @inlinable
    mutating func window(for time: Timestamp) -> Window {
        // Consecutive elements mostly share a window: two comparisons instead of a division.
        if cached.contains(time) { return cached }
        if shape == .tumbling {
            let start = (time.microseconds &- offset).floorDivided(by: size) &* size &+ offset
            cached = Window(start: Timestamp(microseconds: start), end: Timestamp(microseconds: start &+ size))
        } else {
            cached = calendarWindow(for: time)
        }
        return cached
    }

    /// Calls `body` with every window of `time`, oldest first.
    @inlinable
    mutating func forEachWindow(for time: Timestamp, _ body: (Window) -> Void) {
        guard shape == .sliding else {
            body(window(for: time))
            return
        }
        let lastStart = (time.microseconds &- offset).floorDivided(by: slide) &* slide &+ offset
        var start = lastStart &- size &+ slide
        while start <= lastStart {
            body(Window(start: Timestamp(microseconds: start), end: Timestamp(microseconds: start &+ size)))
            start &+= slide
        }
    }

    @usableFromInline
    func calendarWindow(for time: Timestamp) -> Window {
        guard let calendar, let interval = calendar.dateInterval(of: component, for: time.date) else {
            preconditionFailure("no calendar window around \(time)")
        }
        return Window(start: Timestamp(interval.start), end: Timestamp(interval.end))
    }
}
