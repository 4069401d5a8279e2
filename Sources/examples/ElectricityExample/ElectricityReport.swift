import Foundation

/// An HTML report of a run, with SVG charts drawn here (no script, no library): daily imports and
/// exports over time, the daily net balance, monthly imports per partner country, and a table of
/// the months with their leading partners and the longest runs of net-import and net-export days.
public enum ElectricityReport {
    /// The report's HTML.
    public static func html(days: [PeriodRow], months: [PeriodRow]) -> String {
        let runs = Self.runs(days)
        let incomplete = days.filter { $0.missingHours > 0 }.count
        let corrected = days.map { $0.replacedRows }.reduce(0, +)
        var rows = ""
        for month in months {
            rows += "<tr><td>\(month.period)</td><td>\(mwh(month.imports))</td><td>\(mwh(month.exports))</td>"
            rows += "<td class=\"\(month.netImport >= 0 ? "imp" : "exp")\">\(mwh(month.netImport))</td>"
            rows += "<td>\(month.largestImportPartner)</td><td>\(month.largestExportPartner)</td>"
            rows += "<td>\(month.missingHours)</td></tr>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Swiss cross-border electricity flows</title>
            <style>
              body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 1100px; }
              h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
              svg { width: 100%; height: auto; background: #fbfbfb; border: 1px solid #ddd; }
              table { border-collapse: collapse; font-size: .85rem; } td, th { padding: .2rem .6rem; text-align: right; }
              th { border-bottom: 1px solid #999; } .imp { color: #b33; } .exp { color: #286; }
              .legend span { margin-right: 1rem; } .meta { color: #666; font-size: .85rem; }
            </style></head><body>
            <h1>Swiss cross-border electricity flows</h1>
            <p class="meta">\(days.first?.period ?? "") to \(days.last?.period ?? ""): \(days.count) days,
            \(incomplete) incomplete, \(corrected) corrected hours.
            Longest run of net-import days: \(runs.imports.length) (from \(runs.imports.start));
            of net-export days: \(runs.exports.length) (from \(runs.exports.start)).</p>
            <h2>Daily imports and exports (MWh)</h2>
            <p class="legend"><span class="imp">■ imports</span><span class="exp">■ exports</span></p>
            \(lines(days))
            <h2>Daily net import (MWh): above the line Switzerland imports, below it exports</h2>
            \(balance(days))
            <h2>Monthly imports per partner country (MWh)</h2>
            \(partners(months))
            <h2>Months</h2>
            <table><tr><th>month</th><th>imports</th><th>exports</th><th>net import</th><th>largest import from</th>
            <th>largest export to</th><th>missing hours</th></tr>
            \(rows)</table>
            </body></html>
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

    /// The longest runs of consecutive net-import and net-export days.
    static func runs(_ days: [PeriodRow]) -> (
        imports: (length: Int, start: String), exports: (length: Int, start: String)
    ) {
        var best = (imports: (length: 0, start: "-"), exports: (length: 0, start: "-"))
        var current = (importing: true, length: 0, start: "")
        for day in days {
            let importing = day.netImport >= 0
            if current.length > 0 && importing == current.importing {
                current.length += 1
            } else {
                current = (importing, 1, day.period)
            }
            if importing && current.length > best.imports.length { best.imports = (current.length, current.start) }
            if !importing && current.length > best.exports.length { best.exports = (current.length, current.start) }
        }
        return best
    }
}
