import Foundation

/// An HTML report of a run, with SVG charts drawn here (no script, no library): daily imports and
/// exports over time, the daily net balance, monthly imports per partner country; a table of the
/// months with their peak days and leading partners, the longest runs of net-import and net-export
/// days, and the spikes.
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
            rows += "<td>\(month.largestImportPartner)</td><td>\(month.largestExportPartner)</td>"
            rows += "<td>\(peak.map { "\($0.peakImportDay) (\(mwh($0.peakImports)))" } ?? "")</td>"
            rows += "<td>\(peak.map { "\($0.peakExportDay) (\(mwh($0.peakExports)))" } ?? "")</td>"
            rows += "<td>\(month.missingHours)</td></tr>\n"
        }
        var summary = ""
        if let all = peaks.last {
            summary = """
                <p>Peak import day: <b>\(all.peakImportDay)</b> (\(mwh(all.peakImports)) MWh); peak export day:
                <b>\(all.peakExportDay)</b> (\(mwh(all.peakExports)) MWh). Largest partner for imports:
                <b>\(all.largestImportPartner)</b> (\(mwh(all.largestImports)) MWh); for exports:
                <b>\(all.largestExportPartner)</b> (\(mwh(all.largestExports)) MWh).</p>
                """
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Swiss cross-border electricity flows</title>
            <style>
              body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 1100px; }
              h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
              svg { width: 100%; height: auto; background: #fbfbfb; border: 1px solid #ddd; }
              table { border-collapse: collapse; font-size: .85rem; }
              td, th { padding: .2rem .6rem; text-align: right; white-space: nowrap; }
              th { border-bottom: 1px solid #999; } .imp { color: #b33; } .exp { color: #286; }
              .legend span { margin-right: 1rem; } .meta { color: #666; font-size: .85rem; }
            </style></head><body>
            <h1>Swiss cross-border electricity flows</h1>
            <p class="meta">\(days.first?.period ?? "") to \(days.last?.period ?? ""): \(days.count) days,
            \(incomplete) incomplete, \(corrected) corrected hours, \(spikes.count) spikes.
            Longest run of net-import days: \(longestImport?.days ?? 0) (from \(longestImport?.first ?? "-"));
            of net-export days: \(longestExport?.days ?? 0) (from \(longestExport?.first ?? "-")).</p>
            \(summary)
            <h2>Daily imports and exports (MWh)</h2>
            <p class="legend"><span class="imp">■ imports</span><span class="exp">■ exports</span></p>
            \(lines(days))
            <h2>Daily net import (MWh): above the line Switzerland imports, below it exports</h2>
            \(balance(days))
            <h2>Monthly imports per partner country (MWh)</h2>
            \(partners(months))
            <h2>Months</h2>
            <table><tr><th>month</th><th>imports</th><th>exports</th><th>net import</th><th>largest import from</th>
            <th>largest export to</th><th>peak import day</th><th>peak export day</th><th>missing hours</th></tr>
            \(rows)</table>
            <h2>Longest runs of net-import and net-export days</h2>
            \(runsTable(runs))
            <h2>Spikes: hours above 1.5 × the column's largest value of the preceding week, and 2,000 MWh more</h2>
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
        return
            "<table><tr><th>kind</th><th>first day</th><th>last day</th><th>days</th><th>net import</th></tr>\n\(rows)</table>"
    }

    /// The spikes, at most 100.
    static func spikesTable(_ spikes: [SpikeRow]) -> String {
        guard !spikes.isEmpty else { return "<p>none</p>" }
        var rows = ""
        for spike in spikes.prefix(100) {
            rows += "<tr><td>\(spike.localTime)</td><td>\(spike.column)</td><td>\(mwh(spike.value))</td>"
            rows += "<td>\(mwh(spike.baseline))</td><td>\(spike.baselineHours)</td></tr>\n"
        }
        return """
            <table><tr><th>hour (Swiss time)</th><th>column</th><th>MWh</th><th>baseline</th><th>baseline hours</th></tr>
            \(rows)</table>
            """
    }

    static func mwh(_ value: Double) -> String { String(Int(value.rounded())) }

    static let width = 1000.0
    static let height = 260.0

    static func scale(_ values: [Double]) -> (Double) -> Double {
        let low = Swift.min(0, values.min() ?? 0)
        let high = Swift.max(1, values.max() ?? 1)
        return { value in height - 20 - (value - low) / (high - low) * (height - 40) }
    }

    static func lines(_ days: [PeriodRow]) -> String {
        guard days.count > 1 else { return "<p>not enough days</p>" }
        let y = scale(days.map(\.imports) + days.map(\.exports))
        func path(_ values: [Double]) -> String {
            values.enumerated().map { index, value in
                String(format: "%.1f,%.1f", 40 + Double(index) * (width - 60) / Double(values.count - 1), y(value))
            }.joined(separator: " ")
        }
        return """
            <svg viewBox="0 0 \(Int(width)) \(Int(height))">
            <polyline fill="none" stroke="#b33" stroke-width="1.2" points="\(path(days.map(\.imports)))"/>
            <polyline fill="none" stroke="#286" stroke-width="1.2" points="\(path(days.map(\.exports)))"/>
            <text x="40" y="\(Int(height) - 4)" font-size="11">\(days.first!.period)</text>
            <text x="\(Int(width) - 80)" y="\(Int(height) - 4)" font-size="11">\(days.last!.period)</text>
            </svg>
            """
    }

    static func balance(_ days: [PeriodRow]) -> String {
        guard !days.isEmpty else { return "" }
        let y = scale(days.map(\.netImport))
        let zero = y(0)
        let barWidth = (width - 60) / Double(days.count)
        let bars = days.enumerated().map { index, day in
            let top = Swift.min(y(day.netImport), zero)
            return String(
                format: "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%@\"/>",
                40 + Double(index) * barWidth,
                top,
                Swift.max(barWidth, 0.5),
                abs(y(day.netImport) - zero),
                day.netImport >= 0 ? "#b33" : "#286"
            )
        }.joined()
        return """
            <svg viewBox="0 0 \(Int(width)) \(Int(height))">\(bars)
            <line x1="40" x2="\(Int(width) - 20)" y1="\(zero)" y2="\(zero)" stroke="#555"/></svg>
            """
    }

    static func partners(_ months: [PeriodRow]) -> String {
        guard !months.isEmpty else { return "" }
        let colors = ["AT": "#c44", "DE": "#444", "FR": "#36c", "IT": "#3a3"]
        let imports = months.map { month in
            Flow.allCases.filter(\.isImport).map { (partner: $0.partner, value: month.flows[$0.column] ?? 0) }
        }
        let y = scale(imports.map { $0.map(\.value).reduce(0, +) })
        let barWidth = (width - 60) / Double(months.count)
        var bars = ""
        for (index, parts) in imports.enumerated() {
            var total = 0.0
            for part in parts {
                let top = y(total + part.value)
                bars += String(
                    format: "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%@\"/>",
                    40 + Double(index) * barWidth,
                    top,
                    barWidth * 0.8,
                    y(total) - top,
                    colors[part.partner]!
                )
                total += part.value
            }
        }
        let legend = colors.sorted { $0.key < $1.key }.map { "<span style=\"color:\($0.value)\">■ \($0.key)</span>" }
        return
            "<p class=\"legend\">\(legend.joined())</p><svg viewBox=\"0 0 \(Int(width)) \(Int(height))\">\(bars)</svg>"
    }
}
