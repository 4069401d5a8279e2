import ExampleCharts
import Foundation
import StreamKit

/// An HTML report of a run, its charts drawn here as SVG by ``TimeChart`` (no script, no
/// library): daily imports and exports over time, the daily net balance, monthly imports per
/// partner country; a table of the months with their peak days and leading partners, the longest
/// runs of net-import and net-export days, and the spikes. Every chart has dated time ticks, a y
/// scale in MWh, gridlines, a legend and a tooltip with the exact values; the tables write numbers
/// with thousands separators and flows in words (`France → Switzerland`).
public enum ElectricityReport {
    /// The report's HTML.
    /// - Parameters:
    ///   - days: The daily rows, in order.
    ///   - months: The monthly rows, in order.
    ///   - spikes: The spikes, in order.
    public static func html(days: [PeriodRow], months: [PeriodRow], spikes: [SpikeRow] = []) -> String {
        let runs = RunRow.runs(in: days)
        let longestImport = RunRow.longest(.netImport, in: runs)
        let longestExport = RunRow.longest(.netExport, in: runs)
        let peaks = PeakRow.peaks(in: days)
        let peaksByMonth = Dictionary(uniqueKeysWithValues: peaks.map { ($0.period, $0) })
        let incomplete = days.filter { $0.missingHours > 0 }.count
        let corrected = days.map { $0.replacedRows }.reduce(0, +)
        var rows = ""
        for month in months {
            let peak = peaksByMonth[month.period]
            rows += "<tr><td>\(month.period)</td><td>\(mwh(month.imports))</td><td>\(mwh(month.exports))</td>"
            rows += "<td class=\"\(month.netImport >= 0 ? "imp" : "exp")\">\(mwh(month.netImport))</td>"
            rows += "<td>\(country(month.largestImportPartner))</td><td>\(country(month.largestExportPartner))</td>"
            rows += "<td>\(peak.map { "\($0.peakImportDay) (\(mwh($0.peakImports)))" } ?? "")</td>"
            rows += "<td>\(peak.map { "\($0.peakExportDay) (\(mwh($0.peakExports)))" } ?? "")</td>"
            rows += "<td>\(month.missingHours)</td></tr>\n"
        }
        var summary = ""
        if let all = peaks.last {
            summary = """
                <p>Peak import day: <b>\(all.peakImportDay)</b> (\(mwh(all.peakImports)) MWh); peak export day:
                <b>\(all.peakExportDay)</b> (\(mwh(all.peakExports)) MWh). Largest partner for imports:
                <b>\(country(all.largestImportPartner))</b> (\(mwh(all.largestImports)) MWh); for exports:
                <b>\(country(all.largestExportPartner))</b> (\(mwh(all.largestExports)) MWh).</p>
                """
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Swiss cross-border electricity flows</title>
            <style>
              body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 1100px; }
              h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
              svg.chart { width: 100%; height: auto; background: #fdfdfd; border: 1px solid #ddd; }
              table { border-collapse: collapse; font-size: .85rem; }
              td, th { padding: .2rem .6rem; text-align: right; white-space: nowrap; }
              th { border-bottom: 1px solid #999; } .imp { color: \(Palette.imports); } .exp { color: \(Palette.exports); }
              .meta { color: #666; font-size: .85rem; }
            </style></head><body>
            <h1>Swiss cross-border electricity flows</h1>
            <p class="meta">\(days.first?.period ?? "") to \(days.last?.period ?? ""): \(grouped(days.count)) days,
            \(grouped(incomplete)) incomplete, \(grouped(corrected)) corrected hours, \(grouped(spikes.count)) spikes.
            Longest run of net-import days: \(longestImport?.days ?? 0) (from \(longestImport?.first ?? "-"));
            of net-export days: \(longestExport?.days ?? 0) (from \(longestExport?.first ?? "-")).
            Times on the Swiss clock; hover a chart for its exact values.</p>
            \(summary)
            <h2>Daily imports and exports (MWh per day)</h2>
            \(lines(days))
            <h2>Daily net import (MWh per day): above zero Switzerland imports, below zero it exports</h2>
            \(balance(days))
            <h2>Monthly imports per partner country (MWh per month)</h2>
            \(partners(months))
            <h2>Months</h2>
            <table><tr><th>month</th><th>imports (MWh)</th><th>exports (MWh)</th><th>net import (MWh)</th>
            <th>largest import from</th><th>largest export to</th><th>peak import day (MWh)</th>
            <th>peak export day (MWh)</th><th>missing hours</th></tr>
            \(rows)</table>
            <h2>Longest runs of net-import and net-export days</h2>
            \(runsTable(runs))
            <h2>Spikes: hours above 1.5 × the flow's largest value of the preceding week, and 2,000 MWh more</h2>
            \(spikesTable(spikes))
            </body></html>
            """
    }

    /// The five longest runs of each kind.
    static func runsTable(_ runs: [RunRow]) -> String {
        var rows = ""
        for kind in [RunRow.Kind.netImport, .netExport] {
            let longest = runs.filter { $0.kind == kind }.sorted { $0.days > $1.days }.prefix(5)
            for run in longest {
                rows +=
                    "<tr><td class=\"\(kind == .netImport ? "imp" : "exp")\">\(kind == .netImport ? "net import" : "net export")</td>"
                rows +=
                    "<td>\(run.first)</td><td>\(run.last)</td><td>\(run.days)</td><td>\(mwh(run.netImport))</td></tr>\n"
            }
        }
        return """
            <table><tr><th>kind</th><th>first day</th><th>last day</th><th>days</th><th>net import (MWh)</th></tr>
            \(rows)</table>
            """
    }

    /// The spikes, at most 100.
    static func spikesTable(_ spikes: [SpikeRow]) -> String {
        guard !spikes.isEmpty else { return "<p>none</p>" }
        var rows = ""
        for spike in spikes.prefix(100) {
            rows +=
                "<tr><td>\(spike.localTime)</td><td>\(HTML.escape(spike.flowLabel))</td><td>\(mwh(spike.value))</td>"
            rows += "<td>\(mwh(spike.baseline))</td><td>\(spike.baselineHours)</td></tr>\n"
        }
        return """
            <table><tr><th>hour (Swiss time)</th><th>flow</th><th>MWh</th><th>baseline (MWh)</th><th>baseline hours</th></tr>
            \(rows)</table>
            """
    }

    /// MWh with thousands separators, rounded to the MWh: `108,395,988`.
    static func mwh(_ value: Double) -> String { NumberFormat.grouped(value) }

    /// A count with thousands separators.
    static func grouped(_ value: Int) -> String { NumberFormat.grouped(Double(value)) }

    /// A partner country's name from its code (`DE` → `Germany`).
    static func country(_ code: String) -> String {
        Flow.allCases.first { $0.partner == code }?.partnerName ?? code
    }

    /// A chart in MWh on the Swiss clock, its tooltips naming the day.
    static func chart() -> TimeChart {
        var chart = TimeChart(unit: "MWh", timeZone: ElectricityGraph.timeZone)
        chart.pointLabel = { date, zone in TimeTicks(timeZone: zone).format(date, "EEE yyyy-MM-dd") }
        return chart
    }

    /// Daily imports and exports as two lines, broken where a day has no row.
    static func lines(_ days: [PeriodRow]) -> String {
        guard !days.isEmpty else { return "<p>no days</p>" }
        var chart = chart()
        chart.title = "Daily imports and exports in MWh"
        // Days start 23 to 25 hours apart; a missing day leaves 47 hours or more.
        let maxGap: TimeInterval = 36 * 3_600
        chart.lines = [
            .init(
                series: .init("imports", color: Palette.imports),
                points: days.map { ($0.start.date, $0.imports) },
                maxGap: maxGap
            ),
            .init(
                series: .init("exports", color: Palette.exports),
                points: days.map { ($0.start.date, $0.exports) },
                maxGap: maxGap
            ),
        ]
        return chart.svg()
    }

    /// Daily net import as bars up (net import) or down (net export) from a zero line.
    static func balance(_ days: [PeriodRow]) -> String {
        guard !days.isEmpty else { return "" }
        var chart = chart()
        chart.title = "Daily net import in MWh"
        chart.barSeries = [.init("net import", color: Palette.imports), .init("net export", color: Palette.exports)]
        chart.bars = days.map { day in
            .init(
                start: day.start.date,
                end: day.end.date,
                label: day.period,
                values: [max(0, day.netImport), min(0, day.netImport)]
            )
        }
        return chart.svg()
    }

    /// Monthly imports stacked by partner country, in the partners' own colours.
    static func partners(_ months: [PeriodRow]) -> String {
        guard !months.isEmpty else { return "" }
        let flows = Flow.allCases.filter(\.isImport)
        var chart = chart()
        chart.title = "Monthly imports per partner country in MWh"
        chart.barSeries = flows.map { .init($0.label, color: Palette.partners[$0.partner]!) }
        chart.bars = months.map { month in
            .init(
                start: month.start.date,
                end: month.end.date,
                label: month.period,
                values: flows.map { month.flows[$0.column] ?? 0 }
            )
        }
        return chart.svg()
    }
}
