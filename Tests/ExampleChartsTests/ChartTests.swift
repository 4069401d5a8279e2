import ExampleCharts
import Foundation
import Testing

@Suite struct NumberFormatTests {
    @Test func groupsThousandsAndKeepsTheSign() {
        #expect(NumberFormat.grouped(108_395_988) == "108,395,988")
        #expect(NumberFormat.grouped(-1_234.5, fractionDigits: 1) == "-1,234.5")
        #expect(NumberFormat.grouped(999) == "999")
        #expect(NumberFormat.grouped(-0.2) == "0")
        #expect(NumberFormat.grouped(1_000_000.456, fractionDigits: 2) == "1,000,000.46")
    }

    @Test func aHugeOrOddValueStaysShort() {
        #expect(NumberFormat.human(1e300) == "1e+300")
        #expect(NumberFormat.human(-2.5e16) == "-2.5e+16")
        #expect(NumberFormat.human(.infinity) == "inf")
        #expect(NumberFormat.human(.nan) == "nan")
        #expect(NumberFormat.human(0.000_25) == "0.00025")
        #expect(NumberFormat.human(21.519) == "21.52")
        #expect(NumberFormat.human(44) == "44")
        #expect(NumberFormat.human(12_345.678) == "12,345.68")
    }

    @Test func tickLabelsHaveTheDecimalsOfTheirStep() {
        #expect(NumberFormat.tick(100_000, step: 50_000) == "100,000")
        #expect(NumberFormat.tick(2.5, step: 0.5) == "2.5")
        #expect(NumberFormat.tick(0.75, step: 0.25) == "0.75")
        #expect(NumberFormat.tick(-20, step: 10) == "-20")
    }
}

@Suite struct TicksTests {
    @Test func ticksAreRoundAndCoverTheValues() {
        #expect(Ticks.nice(0, 97, count: 5) == [0, 20, 40, 60, 80, 100])
        #expect(Ticks.nice(3, 44, count: 5) == [0, 10, 20, 30, 40, 50])
        #expect(Ticks.nice(0.1, 0.9, count: 4).map { ($0 * 10).rounded() / 10 } == [0, 0.2, 0.4, 0.6, 0.8, 1])
    }

    @Test func aDomainAcrossZeroHasATickAtZero() {
        let ticks = Ticks.nice(-180_000, 260_000, count: 5)
        #expect(ticks.contains(0))
        #expect(ticks.first! <= -180_000 && ticks.last! >= 260_000)
        #expect(ticks == [-200_000, -100_000, 0, 100_000, 200_000, 300_000])
    }

    @Test func aFlatOrHugeDomainStillGivesTicks() {
        #expect(Ticks.nice(5, 5).count >= 2)
        #expect(Ticks.nice(0, 0).contains(0))
        let huge = Ticks.nice(-1e300, 1e300)
        #expect(huge.count >= 2 && huge.allSatisfy(\.isFinite))
        #expect(Ticks.step(for: 23) == 25)
        #expect(Ticks.step(for: 0.3) == 0.5)
    }
}

@Suite struct TimeTicksTests {
    let utc = TimeTicks(timeZone: TimeZone(identifier: "UTC")!)
    let zurich = TimeTicks(timeZone: TimeZone(identifier: "Europe/Zurich")!)

    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func anHourGetsTenMinuteTicksOnTheClock() {
        let ticks = utc.ticks(from: date("2024-01-01T13:02:00Z"), to: date("2024-01-01T14:01:00Z"), count: 6)
        #expect(ticks.map(\.label) == ["13:10", "13:20", "13:30", "13:40", "13:50", "14:00"])
    }

    @Test func tenYearsGetYearTicksAtNewYearOnTheSwissClock() {
        let ticks = zurich.ticks(from: date("2015-06-01T00:00:00Z"), to: date("2024-12-31T00:00:00Z"), count: 10)
        #expect(ticks.map(\.label) == (2016...2024).map(String.init))
        // New Year at midnight in Zurich is 23:00 UTC the day before.
        #expect(ticks[0].date == date("2015-12-31T23:00:00Z"))
    }

    @Test func aYearGetsMonthTicksAndAMonthGetsWeekTicksOnMondays() {
        let months = zurich.ticks(from: date("2021-01-01T00:00:00Z"), to: date("2021-12-31T00:00:00Z"), count: 8)
        #expect(months.map(\.label) == ["Mar 2021", "May 2021", "Jul 2021", "Sep 2021", "Nov 2021"])
        let weeks = utc.ticks(from: date("2024-03-01T00:00:00Z"), to: date("2024-03-31T00:00:00Z"), count: 6)
        #expect(weeks.map(\.label) == ["4 Mar", "11 Mar", "18 Mar", "25 Mar"])
    }
}

@Suite struct TimeChartTests {
    func date(_ minutes: Int) -> Date { Date(timeIntervalSince1970: 1_704_114_000 + Double(minutes) * 60) }

    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func aLineChartHasAxesTicksLegendAndTooltips() {
        var chart = TimeChart(unit: "°C", timeZone: TimeZone(identifier: "UTC")!)
        chart.valueDigits = 2
        chart.lines = [.init(series: .init("mean", color: "#00f"), points: [(date(0), 20), (date(1), 21.5)])]
        let svg = chart.svg()
        #expect(count("<text class=\"tick y\"", in: svg) >= 3)
        #expect(count("<text class=\"tick x\"", in: svg) >= 1)
        #expect(svg.contains("<text class=\"legend-label\""))
        #expect(svg.contains(">°C</text>"))
        #expect(svg.contains("<title>2024-01-01 13:01 — mean: 21.50 °C</title>"))
        #expect(!svg.contains("class=\"zero\""))
    }

    @Test func aGapBreaksTheLineAndNonFiniteValuesAreLeftOut() {
        var chart = TimeChart(unit: "", timeZone: TimeZone(identifier: "UTC")!)
        chart.lines = [
            .init(
                series: .init("mean", color: "#00f"),
                points: [
                    (date(0), 1), (date(1), 2), (date(10), 3), (date(11), .infinity), (date(12), 5), (date(13), 6),
                ],
                maxGap: 90
            )
        ]
        let svg = chart.svg()
        // 0–1, then 10 alone (a dot), then 12–13: the 9-minute gap and the infinite value show.
        #expect(count("<polyline", in: svg) == 2)
        #expect(count("<circle", in: svg) == 1)
        #expect(svg.contains("mean: inf"))
    }

    @Test func barsAcrossZeroGetAZeroLineAndATotal() {
        var chart = TimeChart(unit: "MWh", timeZone: TimeZone(identifier: "UTC")!)
        chart.barSeries = [.init("net import", color: "#c00"), .init("net export", color: "#0c0")]
        chart.bars = [
            .init(start: date(0), end: date(60), label: "day 1", values: [1_500, 0]),
            .init(start: date(60), end: date(120), label: "day 2", values: [0, -2_000]),
        ]
        let svg = chart.svg()
        #expect(svg.contains("class=\"zero\""))
        #expect(svg.contains("<title>day 2 — net export: -2,000 MWh; total: -2,000 MWh</title>"))
        #expect(count("<rect x=", in: svg) >= 4)  // two bars, two legend swatches
    }
}

@Suite struct DateFormatTests {
    @Test func datesAreWrittenOnTheLocalClockAsAFormatterWould() {
        let zurich = TimeTicks(timeZone: TimeZone(identifier: "Europe/Zurich")!)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zurich.timeZone
        let pattern = "EEE d MMM yyyy-MM-dd HH:mm"
        formatter.dateFormat = pattern
        // Across the clock changes, leap days, centuries and before 1970.
        for seconds in stride(from: -2_000_000_000.0, through: 4_000_000_000, by: 7_777_777) {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(zurich.format(date, pattern) == formatter.string(from: date))
        }
    }
}
