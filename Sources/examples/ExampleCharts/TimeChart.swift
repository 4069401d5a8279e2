import Foundation

/// A chart over time drawn as SVG, so that a reader can take numbers off it: a time axis with
/// dated ticks (a gap in the data is a gap on the axis), a y axis with round ticks, thousands
/// separators and its unit, gridlines, a zero line when values change sign, a legend, and a
/// tooltip (`<title>`) with the exact values at every instant or bar.
///
/// It draws lines (broken where data is missing), bands (such as a min–max range) and stacked
/// bars (each bar an interval of time, its parts stacked up from zero and down for negative
/// values). Non-finite values are left out, as missing data.
///
/// ```swift
/// var chart = TimeChart(unit: "MWh", timeZone: zurich)
/// chart.lines = [.init(series: Palette.imports, points: days.map { ($0.start, $0.imports) })]
/// let svg = chart.svg()
/// ```
public struct TimeChart: Sendable {
    /// A named colour: one entry of the legend.
    public struct Series: Sendable, Hashable {
        /// The name in the legend and tooltips, such as `imports`.
        public var name: String
        /// A CSS colour.
        public var color: String

        /// A series named `name`, drawn in `color`.
        public init(_ name: String, color: String) {
            self.name = name
            self.color = color
        }
    }

    /// A line through values at instants.
    public struct Line: Sendable {
        /// Its name and colour.
        public var series: Series
        /// The values, in time order.
        public var points: [(date: Date, value: Double)]
        /// Consecutive points further apart than this are not joined: the gap shows.
        public var maxGap: TimeInterval

        /// A line of `points`, broken where two points are more than `maxGap` seconds apart.
        public init(series: Series, points: [(date: Date, value: Double)], maxGap: TimeInterval = .infinity) {
            self.series = series
            self.points = points
            self.maxGap = maxGap
        }
    }

    /// A shaded range between a low and a high value at instants (a minute's min and max).
    public struct Band: Sendable {
        /// Its name and colour.
        public var series: Series
        /// The ranges, in time order.
        public var points: [(date: Date, low: Double, high: Double)]
        /// Consecutive points further apart than this are not joined.
        public var maxGap: TimeInterval

        /// A band of `points`, broken where two points are more than `maxGap` seconds apart.
        public init(
            series: Series,
            points: [(date: Date, low: Double, high: Double)],
            maxGap: TimeInterval = .infinity
        ) {
            self.series = series
            self.points = points
            self.maxGap = maxGap
        }
    }

    /// One bar: an interval of time and one value per bar series, stacked.
    public struct Bar: Sendable {
        /// The interval's first instant.
        public var start: Date
        /// The instant after the interval.
        public var end: Date
        /// The tooltip's name of the interval, such as `2024-03`.
        public var label: String
        /// One value per entry of ``TimeChart/barSeries``.
        public var values: [Double]

        /// A bar over `start..<end`.
        public init(start: Date, end: Date, label: String, values: [Double]) {
            self.start = start
            self.end = end
            self.label = label
            self.values = values
        }
    }

    /// The unit of the values, written above the y axis and in tooltips, such as `MWh`.
    public var unit: String
    /// The clock of the time axis.
    public var timeZone: TimeZone
    /// What the chart shows, for screen readers.
    public var title: String = ""
    /// The size of the drawing, in SVG units (it scales to the page's width).
    public var width = 960.0
    /// The height, in SVG units.
    public var height = 280.0
    /// Decimals of the values in tooltips.
    public var valueDigits = 0
    /// The lines.
    public var lines: [Line] = []
    /// The bands, drawn under the lines.
    public var bands: [Band] = []
    /// The stacked bars' series, in stacking order.
    public var barSeries: [Series] = []
    /// The bars.
    public var bars: [Bar] = []
    /// How a tooltip names the instant of a line's point; by default, the local date and time.
    public var pointLabel: @Sendable (Date, TimeZone) -> String = { date, zone in
        TimeTicks(timeZone: zone).format(date, "yyyy-MM-dd HH:mm")
    }

    /// A chart of values in `unit` on the clock of `timeZone`.
    public init(unit: String, timeZone: TimeZone) {
        self.unit = unit
        self.timeZone = timeZone
    }

    // The plot area inside the drawing: room for the legend above, the y labels on the left and
    // the time labels below.
    var left: Double { 78 }
    var right: Double { width - 16 }
    var top: Double { 34 }
    var bottom: Double { height - 26 }

    /// The chart as an `<svg>` element.
    public func svg() -> String {
        let (start, end) = timeDomain()
        let yTicks = Ticks.nice(valueDomain().low, valueDomain().high, count: 5)
        let low = yTicks.first ?? 0
        let high = yTicks.last ?? 1
        let span = max(end.timeIntervalSince(start), 1)
        func x(_ date: Date) -> Double {
            end == start ? (left + right) / 2 : left + date.timeIntervalSince(start) / span * (right - left)
        }
        func y(_ value: Double) -> Double {
            high == low ? (top + bottom) / 2 : bottom - (value - low) / (high - low) * (bottom - top)
        }
        var svg = """
            <svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(HTML.escape(title))" \
            font-family="system-ui, sans-serif" font-size="11">
            """
        svg.reserveCapacity(64 * (lines.map(\.points.count).reduce(0, +) + bars.count * 4 + 64))
        svg += legend()
        // The y axis: a gridline and a label per tick, the unit on top.
        let step = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        svg += "<g class=\"axis y\">"
        for tick in yTicks {
            let position = f(y(tick))
            svg += "<line class=\"grid\" x1=\"\(f(left))\" x2=\"\(f(right))\" y1=\"\(position)\" y2=\"\(position)\" "
            svg += "stroke=\"#e3e3e3\"/>"
            svg += "<text class=\"tick y\" x=\"\(f(left - 6))\" y=\"\(position)\" dy=\"0.32em\" text-anchor=\"end\" "
            svg += "fill=\"#555\">\(NumberFormat.tick(tick, step: step))</text>"
        }
        svg += "<text class=\"unit\" x=\"\(f(left - 6))\" y=\"\(f(top - 10))\" text-anchor=\"end\" fill=\"#555\">"
        svg += "\(HTML.escape(unit))</text></g>"
        // The time axis: a gridline and a dated label per tick.
        svg += "<g class=\"axis x\">"
        for tick in TimeTicks(timeZone: timeZone).ticks(from: start, to: end, count: Int(width / 110)) {
            let position = f(x(tick.date))
            svg += "<line class=\"grid\" x1=\"\(position)\" x2=\"\(position)\" y1=\"\(f(top))\" y2=\"\(f(bottom))\" "
            svg += "stroke=\"#eeeeee\"/>"
            svg += "<text class=\"tick x\" x=\"\(position)\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\" "
            svg += "fill=\"#555\">\(HTML.escape(tick.label))</text>"
        }
        svg +=
            "<line x1=\"\(f(left))\" x2=\"\(f(right))\" y1=\"\(f(bottom))\" y2=\"\(f(bottom))\" stroke=\"#999\"/></g>"
        svg += barMarks(x: x, y: y)
        for band in bands {
            for run in runs(
                band.points.map(\.date),
                maxGap: band.maxGap,
                isValid: { index in
                    band.points[index].low.isFinite && band.points[index].high.isFinite
                }
            ) {
                let upper = run.map { "\(f(x(band.points[$0].date))),\(f(y(band.points[$0].high)))" }
                let lower = run.reversed().map { "\(f(x(band.points[$0].date))),\(f(y(band.points[$0].low)))" }
                svg += "<polygon class=\"band\" fill=\"\(band.series.color)\" fill-opacity=\"0.35\" "
                svg += "points=\"\((upper + lower).joined(separator: " "))\"/>"
            }
        }
        for line in lines {
            for run in runs(line.points.map(\.date), maxGap: line.maxGap, isValid: { line.points[$0].value.isFinite }) {
                let points = run.map { "\(f(x(line.points[$0].date))),\(f(y(line.points[$0].value)))" }
                if points.count == 1 {
                    // A lone point between two gaps: a dot, since a line of one point is invisible.
                    let parts = points[0].split(separator: ",")
                    svg += "<circle cx=\"\(parts[0])\" cy=\"\(parts[1])\" r=\"2\" fill=\"\(line.series.color)\"/>"
                } else {
                    svg += "<polyline class=\"line\" fill=\"none\" stroke=\"\(line.series.color)\" "
                    svg += "stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>"
                }
            }
        }
        // A zero line where values change sign, darker than the gridlines.
        if low < 0 && high > 0 {
            svg += "<line class=\"zero\" x1=\"\(f(left))\" x2=\"\(f(right))\" y1=\"\(f(y(0)))\" y2=\"\(f(y(0)))\" "
            svg += "stroke=\"#333\" stroke-width=\"1\"/>"
        }
        svg += pointTooltips(x: x)
        return svg + "</svg>"
    }

    /// The legend: a swatch and a name per series, in a row above the plot.
    func legend() -> String {
        var svg = "<g class=\"legend\">"
        var position = left
        for series in bands.map(\.series) + lines.map(\.series) + barSeries {
            svg += "<rect x=\"\(f(position))\" y=\"8\" width=\"12\" height=\"12\" fill=\"\(series.color)\"/>"
            svg += "<text class=\"legend-label\" x=\"\(f(position + 16))\" y=\"18\" fill=\"#333\">"
            svg += "\(HTML.escape(series.name))</text>"
            position += 30 + Double(series.name.count) * 6.5
        }
        return svg + "</g>"
    }

    /// The stacked bars, each with a tooltip listing its parts and total.
    func barMarks(x: (Date) -> Double, y: (Double) -> Double) -> String {
        var svg = ""
        for bar in bars {
            let left = x(bar.start)
            let width = max(0.6, (x(bar.end) - left) * 0.85)
            var above = 0.0
            var below = 0.0
            var parts: [String] = []
            svg += "<g class=\"bar\">"
            for (index, value) in bar.values.enumerated() where value.isFinite && value != 0 {
                let series = barSeries[index]
                let base = value > 0 ? above : below
                let top = y(base + value)
                let bottom = y(base)
                svg += "<rect x=\"\(f(left))\" y=\"\(f(min(top, bottom)))\" width=\"\(f(width))\" "
                svg += "height=\"\(f(abs(bottom - top)))\" fill=\"\(series.color)\"/>"
                if value > 0 { above += value } else { below += value }
                parts.append("\(series.name): \(amount(value))")
            }
            if barSeries.count > 1 { parts.append("total: \(amount(above + below))") }
            svg += "<title>\(HTML.escape(bar.label + " — " + parts.joined(separator: "; ")))</title></g>"
        }
        return svg
    }

    /// Tooltips of the lines and bands: an invisible column per instant, reaching halfway to its
    /// neighbours, whose `<title>` lists every value at that instant.
    func pointTooltips(x: (Date) -> Double) -> String {
        var texts: [Date: [String]] = [:]
        for band in bands {
            for point in band.points {
                texts[point.date, default: []].append(
                    "\(band.series.name): \(amount(point.low, unit: false)) – \(amount(point.high))"
                )
            }
        }
        for line in lines {
            for point in line.points {
                texts[point.date, default: []].append("\(line.series.name): \(amount(point.value))")
            }
        }
        let dates = texts.keys.sorted()
        var svg = "<g class=\"tooltips\" fill=\"transparent\">"
        for (index, date) in dates.enumerated() {
            let from = index == 0 ? left : (x(dates[index - 1]) + x(date)) / 2
            let to = index == dates.count - 1 ? right : (x(date) + x(dates[index + 1])) / 2
            svg += "<rect x=\"\(f(from))\" y=\"\(f(top))\" width=\"\(f(max(to - from, 0.5)))\" "
            svg += "height=\"\(f(bottom - top))\"><title>"
            svg += HTML.escape(pointLabel(date, timeZone) + " — " + texts[date]!.joined(separator: "; "))
            svg += "</title></rect>"
        }
        return svg + "</g>"
    }

    /// Index runs of consecutive valid points no further apart than `maxGap`.
    func runs(_ dates: [Date], maxGap: TimeInterval, isValid: (Int) -> Bool) -> [[Int]] {
        var runs: [[Int]] = []
        var current: [Int] = []
        for index in dates.indices {
            guard isValid(index) else {
                if !current.isEmpty { runs.append(current) }
                current = []
                continue
            }
            if let last = current.last, dates[index].timeIntervalSince(dates[last]) > maxGap {
                runs.append(current)
                current = []
            }
            current.append(index)
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// The first and last instant of the data.
    func timeDomain() -> (Date, Date) {
        let dates =
            lines.flatMap { $0.points.map(\.date) } + bands.flatMap { $0.points.map(\.date) }
            + bars.flatMap { [$0.start, $0.end] }
        guard let first = dates.min(), let last = dates.max() else {
            return (Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 3_600))
        }
        return (first, last)
    }

    /// The lowest and highest finite value drawn; bars stand on zero, so zero is in their domain.
    func valueDomain() -> (low: Double, high: Double) {
        var values = lines.flatMap { $0.points.map(\.value) }
        values += bands.flatMap { $0.points.flatMap { [$0.low, $0.high] } }
        for bar in bars {
            let finite = bar.values.filter(\.isFinite)
            values += [0, finite.filter { $0 > 0 }.reduce(0, +), finite.filter { $0 < 0 }.reduce(0, +)]
        }
        let finite = values.filter(\.isFinite)
        return (finite.min() ?? 0, finite.max() ?? 1)
    }

    /// A value in a tooltip: separators, the chart's decimals, the unit.
    func amount(_ value: Double, unit: Bool = true) -> String {
        let number =
            abs(value) >= NumberFormat.scientificFrom || !value.isFinite
            ? NumberFormat.human(value) : NumberFormat.grouped(value, fractionDigits: valueDigits)
        return unit && !self.unit.isEmpty ? "\(number) \(self.unit)" : number
    }

    /// A coordinate with one decimal: enough on a 960-unit drawing, and short.
    func f(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        guard tenths.isFinite, abs(tenths) < 1e12 else { return "0" }
        let whole = Int(tenths)
        let sign = whole < 0 ? "-" : ""
        return whole % 10 == 0 ? String(whole / 10) : "\(sign)\(abs(whole) / 10).\(abs(whole) % 10)"
    }
}

/// Text for HTML and SVG.
public enum HTML {
    /// `text` with the characters that end an HTML or SVG text or attribute escaped.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
