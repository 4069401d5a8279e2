import ExampleCharts
import Foundation
import StreamKit

/// The page served at `/`, for the challenge's BI users: find a sensor, pick a period, see its
/// values and its data quality. Drawn on the server in one request for all sensors — a table of
/// every matching sensor (catalogue, latest minute, quality score, late, malformed and
/// out-of-range counts), the quality of all of them per minute, and charts of the minute means
/// (with min–max band) of the first sensors listed — so that 1,000 sensors load as fast as five.
/// A few lines of script filter the table while typing and refresh the page's content every
/// 10 seconds; the page needs no library and no network beyond the pipeline's own API.
enum DashboardPage {
    /// How many sensors get a chart: the first ones of the list, in its order.
    static let charted = 12

    /// Choices of the period, in minutes back from the newest minute.
    static let periods = [(15, "15 min"), (60, "1 hour"), (360, "6 hours"), (1_440, "24 hours"), (10_080, "7 days")]

    /// The page of `dashboard`, with charts of the minutes in `minutes` (by sensor).
    static func html(_ dashboard: Dashboard, minutes: [String: [Dashboard.MinuteRow]]) -> String {
        let query = dashboard.query
        let utc = TimeTicks(timeZone: TimeZone(identifier: "UTC")!)
        let period =
            "\(utc.format(dashboard.from.date, "yyyy-MM-dd HH:mm")) to \(utc.format(dashboard.to.date, "yyyy-MM-dd HH:mm")) UTC"
        var options = ""
        for (value, name) in periods {
            let selected = query.from == nil && query.minutes == value ? " selected" : ""
            options += "<option value=\"\(value)\"\(selected)>last \(name)</option>"
        }
        let sortOptions = [("sensor", "sensor"), ("quality", "lowest quality first")].map { value, name in
            "<option value=\"\(value)\"\(query.sort == value ? " selected" : "")>\(name)</option>"
        }.joined()
        var charts = ""
        for sensor in dashboard.sensors.prefix(charted) {
            charts += card(sensor, minutes: minutes[sensor.id] ?? [])
        }
        let shown = dashboard.sensors.count
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>StreamKit IoT — sensors and data quality</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
              body { font-family: system-ui, sans-serif; margin: 1.2rem; background: #fafafa; color: #222; }
              h1 { font-size: 1.3rem; margin: 0 0 .4rem; } h2 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
              form { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; margin: .4rem 0; }
              input, select, button { font: inherit; padding: .2rem .4rem; }
              input[name=search] { width: 16rem; }
              .meta { color: #666; font-size: .85rem; }
              .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: .8rem; }
              .card { background: white; border: 1px solid #ddd; border-radius: 6px; padding: .5rem .7rem; }
              .card h3 { font-size: .95rem; margin: 0; } .wide { background: white; border: 1px solid #ddd; }
              svg.chart { width: 100%; height: auto; display: block; }
              .table { max-height: 32rem; overflow: auto; border: 1px solid #ddd; background: white; }
              table { border-collapse: collapse; font-size: .8rem; width: 100%; }
              th { position: sticky; top: 0; background: #f0f0f0; text-align: left; }
              td, th { padding: .15rem .5rem; white-space: nowrap; border-bottom: 1px solid #eee; }
              td.n { text-align: right; font-variant-numeric: tabular-nums; }
              .good { color: #1e8449; } .fair { color: #b9770e; } .poor { color: #c0392b; font-weight: 600; }
              .unknown { color: #c0392b; }
            </style></head>
            <body>
            <h1>Sensors and data quality</h1>
            <form method="get" action="/" id="filters">
              <input name="search" type="search" placeholder="find a sensor: id, place, type" \
            value="\(HTML.escape(query.search))" aria-label="search sensors">
              <label>period <select name="minutes">\(options)</select></label>
              <label>sort <select name="sort">\(sortOptions)</select></label>
              <button type="submit">show</button>
              <label class="meta"><input type="checkbox" id="live" checked> refresh every 10 s</label>
            </form>
            <p class="meta" id="status">\(period) · \(NumberFormat.grouped(Double(shown))) of \
            \(NumberFormat.grouped(Double(dashboard.total))) sensors\(query.search.isEmpty ? "" : " match “\(HTML.escape(query.search))”") · \
            newest minute \(dashboard.newest.map { utc.format($0.date, "yyyy-MM-dd HH:mm") + " UTC" } ?? "none yet") · \
            <span id="timing"></span></p>
            <div id="content">
            <h2>Data quality of these sensors per minute</h2>
            <div class="wide">\(qualityChart(dashboard))</div>
            <div class="wide">\(problemsChart(dashboard))</div>
            <h2>Sensors (\(NumberFormat.grouped(Double(shown))))</h2>
            <div class="table">\(table(dashboard))</div>
            <h2>Minute means of the first \(min(charted, shown)) sensors listed</h2>
            <div class="grid">\(charts)</div>
            </div>
            <script>
            // Filters the table while typing (Enter asks the server, which also redraws the charts).
            function filter() {
              const words = document.querySelector('input[name=search]').value.toLowerCase();
              for (const row of document.querySelectorAll('tr[data-search]')) {
                row.hidden = words !== '' && !row.dataset.search.includes(words);
              }
            }
            document.querySelector('input[name=search]').addEventListener('input', filter);
            // Redraws the content from the same query, in one request, unless the reader paused it.
            async function refresh() {
              if (!document.getElementById('live').checked) return;
              try {
                const response = await fetch(location.href);
                if (!response.ok) throw new Error('HTTP ' + response.status);
                const page = new DOMParser().parseFromString(await response.text(), 'text/html');
                document.getElementById('content').replaceWith(page.getElementById('content'));
                document.getElementById('status').replaceWith(page.getElementById('status'));
                filter();
              } catch (error) {
                document.getElementById('timing').textContent = 'refresh failed: ' + error.message;
              }
            }
            setInterval(refresh, 10000);
            window.addEventListener('load', () => {
              document.getElementById('timing').textContent = 'page ready in ' + Math.round(performance.now()) + ' ms';
            });
            </script></body></html>
            """
    }

    /// The table of the matching sensors: catalogue, latest minute, quality over the period.
    static func table(_ dashboard: Dashboard) -> String {
        let utc = TimeTicks(timeZone: TimeZone(identifier: "UTC")!)
        var rows = ""
        rows.reserveCapacity(dashboard.sensors.count * 600)
        for sensor in dashboard.sensors {
            let info = sensor.info
            let unit = info.map { unitName($0.unit) } ?? ""
            let search = [sensor.id, info?.description ?? "", info?.type ?? "", info?.unit ?? ""].joined(separator: " ")
            rows += "<tr data-search=\"\(HTML.escape(search.lowercased()))\"><td>\(HTML.escape(sensor.id))</td>"
            if let info {
                rows += "<td>\(HTML.escape(info.description))</td><td>\(HTML.escape(info.type))</td>"
                rows += "<td>\(HTML.escape(unit))</td><td class=\"n\">"
                rows +=
                    info.validRange.map {
                        "\(NumberFormat.human($0.lowerBound)) – \(NumberFormat.human($0.upperBound))"
                    }
                    ?? "—"
                rows += "</td>"
            } else {
                rows += "<td class=\"unknown\" colspan=\"4\">not in the catalogue</td>"
            }
            if let latest = sensor.latest {
                let time = utc.format(latest.minute.date, "HH:mm")
                rows += "<td class=\"n\">\(time)</td><td class=\"n\">\(NumberFormat.human(latest.mean))</td>"
                rows += "<td class=\"n\">\(NumberFormat.human(latest.min))</td>"
                rows += "<td class=\"n\">\(NumberFormat.human(latest.max))</td>"
            } else {
                rows += "<td class=\"n\">—</td><td></td><td></td><td></td>"
            }
            let score = sensor.score
            let grade = score.isNaN ? "" : score >= 90 ? "good" : score >= 50 ? "fair" : "poor"
            rows += "<td class=\"n\">\(NumberFormat.grouped(Double(sensor.readings)))</td>"
            rows +=
                "<td class=\"n \(grade)\">\(score.isNaN ? "—" : NumberFormat.grouped(score, fractionDigits: 1))</td>"
            rows += "<td class=\"n\">\(NumberFormat.grouped(Double(sensor.late)))</td>"
            rows += "<td class=\"n\">\(NumberFormat.grouped(Double(sensor.malformed)))</td>"
            rows += "<td class=\"n\">\(NumberFormat.grouped(Double(sensor.outOfRange)))</td></tr>\n"
        }
        return """
            <table><thead><tr><th>sensor</th><th>where</th><th>type</th><th>unit</th><th>valid range</th>
            <th>latest minute (UTC)</th><th>mean</th><th>min</th><th>max</th><th>readings</th>
            <th title="100 × completeness × share in range × share on time and well formed, mean over the period">quality score</th>
            <th>late</th><th>malformed</th><th>out of range</th></tr></thead><tbody>
            \(rows)</tbody></table>
            """
    }

    /// One sensor's minute means in a min–max band, broken where minutes are missing.
    static func card(_ sensor: Dashboard.Sensor, minutes: [Dashboard.MinuteRow]) -> String {
        let unit = sensor.info.map { unitName($0.unit) } ?? ""
        var chart = chart(unit: unit)
        chart.title = "Minute means of \(sensor.id)"
        chart.width = 480
        chart.height = 220
        chart.valueDigits = 2
        // Minutes are 60 s apart; a missing minute leaves 120 s.
        chart.bands = [
            .init(
                series: .init("min – max", color: Palette.range),
                points: minutes.map { ($0.minute.date, $0.min, $0.max) },
                maxGap: 90
            )
        ]
        chart.lines = [
            .init(
                series: .init("mean", color: Palette.mean),
                points: minutes.map { ($0.minute.date, $0.mean) },
                maxGap: 90
            )
        ]
        let odd = minutes.filter { !$0.mean.isFinite || !$0.min.isFinite || !$0.max.isFinite }.count
        let what = sensor.info.map { "\($0.description), \($0.type)" } ?? "not in the catalogue"
        return """
            <div class="card"><h3>\(HTML.escape(sensor.id)) <span class="meta">\(HTML.escape(what))</span></h3>
            <div class="meta">\(NumberFormat.grouped(Double(minutes.count))) minutes\
            \(odd > 0 ? ", \(odd) with values that are not numbers (left out)" : "")</div>
            \(minutes.isEmpty ? "<p class=\"meta\">no minute in this period</p>" : chart.svg())</div>
            """
    }

    /// The quality score per minute over the matching sensors: mean, and lowest to highest.
    static func qualityChart(_ dashboard: Dashboard) -> String {
        guard !dashboard.quality.isEmpty else { return "<p class=\"meta\">no minute in this period</p>" }
        var chart = chart(unit: "score")
        chart.title = "Quality score per minute"
        chart.height = 220
        chart.valueDigits = 1
        chart.bands = [
            .init(
                series: .init("lowest – highest score", color: Palette.range),
                points: dashboard.quality.map { ($0.minute.date, $0.lowestScore, $0.highestScore) },
                maxGap: 90
            )
        ]
        chart.lines = [
            .init(
                series: .init("mean score", color: Palette.mean),
                points: dashboard.quality.map { ($0.minute.date, $0.meanScore) },
                maxGap: 90
            )
        ]
        return chart.svg()
    }

    /// Out-of-range, late and malformed readings per minute over the matching sensors.
    static func problemsChart(_ dashboard: Dashboard) -> String {
        guard !dashboard.quality.isEmpty else { return "" }
        var chart = chart(unit: "readings")
        chart.title = "Out-of-range, late and malformed readings per minute"
        chart.height = 200
        chart.barSeries = [
            .init("out of range", color: Palette.outOfRange), .init("late", color: Palette.late),
            .init("malformed", color: Palette.malformed),
        ]
        let utc = TimeTicks(timeZone: TimeZone(identifier: "UTC")!)
        chart.bars = dashboard.quality.map { minute in
            .init(
                start: minute.minute.date,
                end: minute.minute.date.addingTimeInterval(60),
                label: utc.format(minute.minute.date, "yyyy-MM-dd HH:mm") + " UTC",
                values: [minute.outOfRange, minute.late, minute.malformed].map(Double.init)
            )
        }
        return chart.svg()
    }

    /// A chart on the UTC clock of the store, its tooltips naming the minute.
    static func chart(unit: String) -> TimeChart {
        var chart = TimeChart(unit: unit, timeZone: TimeZone(identifier: "UTC")!)
        chart.pointLabel = { date, zone in TimeTicks(timeZone: zone).format(date, "yyyy-MM-dd HH:mm") + " UTC" }
        return chart
    }

    /// The catalogue's unit as people write it (`C` is °C).
    static func unitName(_ unit: String) -> String {
        switch unit {
        case "C": "°C"
        case "F": "°F"
        default: unit
        }
    }
}
