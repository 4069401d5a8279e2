import Foundation
import StreamKit
import Testing

@testable import ElectricityExample

/// Spikes, runs of net-import and net-export days, peak days and leading partners, against values
/// computed by hand on small files.
@Suite struct SpikeAndSummaryTests {
    /// A line of the file at `time` with `values` by column (missing columns are 0).
    func line(_ time: String, _ values: [String: Double] = [:]) -> String {
        let numbers = Flow.allCases.map { PeriodRow.number(values[$0.column] ?? 0) }
        return ([time] + numbers + ["0"]).joined(separator: ",")
    }

    /// Every hour of a summer day (`2021-06-15`) with `values`, except the hours in `overrides`,
    /// which get theirs.
    func day(_ day: String, _ values: [String: Double], overrides: [Int: [String: Double]] = [:]) -> [String] {
        (0..<24).map { hour in
            line(String(format: "%@T%02d:00:00+0200", day, hour), overrides[hour] ?? values)
        }
    }

    func runBatch(_ lines: [String]) async throws -> ElectricityRunner.Tables {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString).csv").path
        try ([FlowRow.header] + lines).joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let tables = try ElectricityRunner.Tables(directory: nil)
        try await ElectricityRunner.batch(file: file, tables: tables)
        return tables
    }

    static let normal: [String: Double] = ["FR_CH_MWh": 1000, "CH_IT_MWh": 1000, "AT_CH_MWh": 1]

    /// Two summer days: FR→CH 1,000 MWh an hour but 3,500 at 10:00 on the second (a spike: above
    /// 1.5 × 1,000 and 2,500 more) and 4,500 at 14:00 (not one: the week's maximum is now 3,500,
    /// and 4,500 < 1.5 × 3,500); CH→IT 2,900 at 12:00 (above 1.5 × 1,000, but only 1,900 more);
    /// AT→CH 9,000 at 05:00 on the first day (only 5 hours before it: not judged).
    func twoDays() -> (first: [String], second: [String]) {
        var firstOverrides: [Int: [String: Double]] = [:]
        firstOverrides[5] = Self.normal.merging(["AT_CH_MWh": 9000]) { $1 }
        var secondOverrides: [Int: [String: Double]] = [:]
        secondOverrides[10] = Self.normal.merging(["FR_CH_MWh": 3500]) { $1 }
        secondOverrides[12] = Self.normal.merging(["CH_IT_MWh": 2900]) { $1 }
        secondOverrides[14] = Self.normal.merging(["FR_CH_MWh": 4500]) { $1 }
        return (
            day("2021-06-14", Self.normal, overrides: firstOverrides),
            day("2021-06-15", Self.normal, overrides: secondOverrides)
        )
    }

    @Test func anHourFarAboveTheWeeksMaximumIsASpike() async throws {
        let (first, second) = twoDays()
        let tables = try await runBatch(first + second)
        let spikes = tables.spikes.sorted
        #expect(spikes.count == 1)
        let spike = try #require(spikes.first)
        #expect(spike.column == "FR_CH_MWh")
        #expect(spike.localTime == "2021-06-15T10:00:00+02:00")
        #expect(spike.time == Timestamp(seconds: 1_623_744_000))  // 08:00 UTC
        #expect(spike.value == 3500)
        #expect(spike.baseline == 1000)
        #expect(spike.baselineHours == 34)  // 24 hours of the 14th, 10 of the 15th
        #expect(spike.isSpike)
        #expect(
            spike.csvLine
                == "2021-06-15T08:00:00.000000Z,2021-06-15T10:00:00+02:00,fr_ch_mwh,France → Switzerland,3500,1000,34,3.5"
        )
    }

    @Test func aCorrectionAfterTheHourWasJudgedClearsItsSpike() async throws {
        let (first, second) = twoDays()
        // The watermark is at 18:00 on the 15th when the correction of 10:00 arrives.
        let correction = line("2021-06-15T10:00:00+0200", Self.normal)
        let tables = try await runBatch(first + second.prefix(21) + [correction] + second.suffix(3))
        // Without the 3,500 the 4,500 at 14:00 is a spike against 1,000.
        let spikes = tables.spikes.sorted
        #expect(spikes.map(\.localTime) == ["2021-06-15T14:00:00+02:00"])
        #expect(spikes.map(\.value) == [4500])
        #expect(spikes.map(\.baseline) == [1000])
    }

    @Test func aCorrectionBeforeTheHourIsJudgedReplacesTheRow() async throws {
        let (first, second) = twoDays()
        // 10:00 first says 1,000, then, two lines later (before the watermark reaches it), 3,500.
        var lines = first + second
        let early = line("2021-06-15T10:00:00+0200", Self.normal)
        lines.insert(early, at: 24 + 10)
        let tables = try await runBatch(lines)
        #expect(tables.spikes.sorted.map(\.localTime) == ["2021-06-15T10:00:00+02:00"])
        #expect(tables.days.sorted.last?.replacedRows == 1)
    }

    @Test func theGeneratorsPlantedSpikeIsFound() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString).csv").path
        try FlowFileGenerator(days: 20).lines().joined(separator: "\n").write(
            toFile: file,
            atomically: true,
            encoding: .utf8
        )
        defer { try? FileManager.default.removeItem(atPath: file) }
        let tables = try ElectricityRunner.Tables(directory: nil)
        try await ElectricityRunner.batch(file: file, tables: tables)
        // Day 7 from 1 January 2021, 06:00 Swiss winter time.
        let planted = tables.spikes.sorted.first { $0.localTime == "2021-01-08T06:00:00+01:00" }
        #expect(planted?.column == "FR_CH_MWh")
        #expect(planted?.value == FlowFileGenerator.plantedSpikeMWh)
        #expect((planted?.baseline ?? .infinity) < 3000)  // the generator's FR→CH stays below 2,000 in winter
    }

    /// Days with AT→CH `imports` and CH→IT `exports` MWh an hour: net import 24 × (imports − exports).
    func days(_ values: [(day: String, imports: Double, exports: Double)]) -> [String] {
        values.flatMap { day($0.day, ["AT_CH_MWh": $0.imports, "CH_IT_MWh": $0.exports]) }
    }

    @Test func runsOfNetImportAndNetExportDays() async throws {
        let tables = try await runBatch(
            days([
                ("2021-06-01", 10, 5), ("2021-06-02", 10, 10), ("2021-06-03", 1, 2), ("2021-06-04", 1, 3),
                // 5 June has no data at all: it ends the run.
                ("2021-06-06", 1, 4), ("2021-06-07", 6, 4),
            ])
        )
        let runs = tables.runs
        #expect(
            runs == [
                // 24 × 5 + 24 × 0 (a day with imports equal to exports counts as net import)
                RunRow(kind: .netImport, first: "2021-06-01", last: "2021-06-02", days: 2, netImport: 120),
                RunRow(kind: .netExport, first: "2021-06-03", last: "2021-06-04", days: 2, netImport: -72),
                RunRow(kind: .netExport, first: "2021-06-06", last: "2021-06-06", days: 1, netImport: -72),
                RunRow(kind: .netImport, first: "2021-06-07", last: "2021-06-07", days: 1, netImport: 48),
            ]
        )
        #expect(RunRow.longest(.netExport, in: runs)?.first == "2021-06-03")
        #expect(runs[1].csvLine == "net_export,2021-06-03,2021-06-04,2,-72")
    }

    @Test func peakDaysAndLeadingPartnersPerMonthAndForTheWholeRun() async throws {
        var lines = days([("2021-06-29", 10, 5), ("2021-06-30", 30, 1), ("2021-07-01", 20, 7)])
        // 2 July: 8 MWh an hour from Germany, 3 to France; no Austria, no Italy.
        lines += day("2021-07-02", ["DE_CH_MWh": 8, "CH_FR_MWh": 3])
        let tables = try await runBatch(lines)
        let peaks = tables.peaks
        #expect(peaks.map(\.period) == ["2021-06", "2021-07", "all"])
        let june = peaks[0]
        #expect(june.days == 2)
        #expect(june.peakImportDay == "2021-06-30")
        #expect(june.peakImports == 720)  // 24 × 30
        #expect(june.peakExportDay == "2021-06-29")
        #expect(june.peakExports == 120)  // 24 × 5
        #expect(june.largestImportPartner == "AT")
        #expect(june.largestImports == 960)  // 24 × (10 + 30)
        #expect(june.largestExportPartner == "IT")
        #expect(june.largestExports == 144)  // 24 × (5 + 1)
        let july = peaks[1]
        #expect(july.peakImportDay == "2021-07-01")
        #expect(july.peakImports == 480)
        #expect(july.peakExportDay == "2021-07-01")
        #expect(july.peakExports == 168)
        #expect(july.largestImportPartner == "AT")  // 480 against DE's 192
        #expect(july.largestExportPartner == "IT")  // 168 against FR's 72
        let all = peaks[2]
        #expect(all.days == 4)
        #expect(all.peakImportDay == "2021-06-30")
        #expect(all.peakExportDay == "2021-07-01")
        #expect(all.largestImports == 1440)  // 24 × 60
        #expect(all.largestExports == 312)  // 24 × 13
        #expect(all.csvLine == "all,4,2021-06-30,720,2021-07-01,168,AT,1440,IT,312")
    }

    /// Runs batch mode over ``twoDays()`` into a new folder; returns the folder and the tables.
    func batchOfTwoDays() async throws -> (directory: String, tables: ElectricityRunner.Tables) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString)").path
        let (first, second) = twoDays()
        let file = "\(directory)-in.csv"
        try ([FlowRow.header] + first + second).joined(separator: "\n").write(
            toFile: file,
            atomically: true,
            encoding: .utf8
        )
        defer { try? FileManager.default.removeItem(atPath: file) }
        let tables = try ElectricityRunner.Tables(directory: directory)
        try await ElectricityRunner.batch(file: file, tables: tables)
        return (directory, tables)
    }

    @Test func batchModeWritesTheTablesAndTheReport() async throws {
        let (directory, tables) = try await batchOfTwoDays()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spikes = try String(contentsOfFile: "\(directory)/spikes.csv", encoding: .utf8)
        #expect(spikes == SpikeRow.csvHeader + "\n" + tables.spikes.sorted[0].csvLine + "\n")
        let runs = try String(contentsOfFile: "\(directory)/runs.csv", encoding: .utf8)
        #expect(runs == "kind,first,last,days,net_import\nnet_import,2021-06-14,2021-06-15,2,13147\n")
        // The JSON tables use the CSV's snake_case columns as keys.
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let peaks = try decoder.decode(
            [PeakRow].self,
            from: Data(contentsOf: URL(fileURLWithPath: "\(directory)/peaks.json"))
        )
        #expect(peaks.map(\.period) == ["2021-06", "all"])
        #expect(peaks == tables.peaks)
        let report = try String(contentsOfFile: "\(directory)/report.html", encoding: .utf8)
        #expect(
            report.contains(
                "<td>2021-06-15T10:00:00+02:00</td><td>France → Switzerland</td><td>3,500</td><td>1,000</td>"
            )
        )
    }

    @Test func csvAndJSONTablesHaveTheSameSnakeCaseColumns() async throws {
        let (directory, _) = try await batchOfTwoDays()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for table in ["days", "weeks", "months", "spikes", "runs", "peaks"] {
            let csv = try String(contentsOfFile: "\(directory)/\(table).csv", encoding: .utf8)
            let header = csv.prefix { $0 != "\n" }.split(separator: ",").map(String.init)
            #expect(header.allSatisfy { $0 == $0.lowercased() && !$0.contains(" ") }, "\(table): \(header)")
            let json = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(table).json"))
            )
            let rows = try #require(json as? [[String: Any]], "\(table).json")
            #expect(!rows.isEmpty, "\(table).json")
            for row in rows { #expect(Set(row.keys) == Set(header), "\(table).json") }
        }
        let days = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(directory)/days.json")))
                as? [[String: Any]]
        )
        #expect(days[0]["missing_hours"] as? Int == 0)
        #expect(days[0]["fr_ch_mwh"] != nil)
        let spikes = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(directory)/spikes.json")))
                as? [[String: Any]]
        )
        #expect(spikes[0]["ratio"] as? Double == 3.5)
        #expect(spikes[0]["flow"] as? String == "France → Switzerland")
    }

    @Test func aLiveRunStoppedBeforeAnySpikeWritesTheFilesOfABatchRun() async throws {
        let batch = FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString)").path
        let live = batch + "-live"
        defer {
            for path in [batch, live, batch + "-in.csv"] { try? FileManager.default.removeItem(atPath: path) }
        }
        try FlowRow.header.write(toFile: batch + "-in.csv", atomically: true, encoding: .utf8)
        try await ElectricityRunner.batch(
            file: batch + "-in.csv",
            tables: try ElectricityRunner.Tables(directory: batch)
        )
        // What a live run does when it is stopped: its sinks were never finished, the summaries are
        // written.
        try ElectricityRunner.Tables(directory: live).writeSummaries()
        let files = { (path: String) in try FileManager.default.contentsOfDirectory(atPath: path).sorted() }
        #expect(try files(live) == files(batch))
        #expect(try String(contentsOfFile: "\(live)/spikes.csv", encoding: .utf8) == SpikeRow.csvHeader + "\n")
        #expect(try String(contentsOfFile: "\(live)/spikes.json", encoding: .utf8) == "[]\n")
    }
}

/// The spike detector's keyed state as checkpoints store it.
@Suite struct SpikeHistoryCodingTests {
    @Test func theHistoryStoresItsLiveHoursAndPendingRows() throws {
        let history = SpikeHistory()
        for hour in 0..<5 {
            history.insert(Int64(hour) * 3_600_000_000, [Double](repeating: Double(hour), count: 8), at: hour)
        }
        history.flags[3] = 0b100
        history.addPending(9 * 3_600_000_000, [Double](repeating: 9, count: 8))
        history.flushTimerSet = true
        history.drop(before: 2 * 3_600_000_000)  // hours 0 and 1 are dropped
        let decoded = try JSONDecoder().decode(SpikeHistory.self, from: JSONEncoder().encode(history))
        #expect(decoded.times == [2, 3, 4].map { Int64($0) * 3_600_000_000 })
        #expect((0..<3).map { decoded.value(at: $0, column: 5) } == [2, 3, 4])
        #expect(decoded.flags == [0, 0b100, 0])
        #expect(decoded.pendingTimes == [9 * 3_600_000_000])
        #expect(decoded.pendingFlows == [[Double](repeating: 9, count: 8)])
        #expect(decoded.flushTimerSet)
        #expect(!decoded.maximaValid)  // rebuilt from the hours on the next one
        #expect(decoded.newest.map { $0 == 4 * 3_600_000_000 } == true)
    }
}

/// Period names by integer arithmetic against Foundation's calendar.
@Suite struct CivilDateTests {
    @Test func dayMonthAndISOWeekNamesMatchTheCalendarFrom1999To2031() throws {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "Europe/Zurich")!
        var day = try #require(calendar.date(from: DateComponents(year: 1999, month: 1, day: 1)))
        var checked = 0
        while calendar.component(.year, from: day) < 2032 {
            let parts = calendar.dateComponents([.year, .month, .day, .yearForWeekOfYear, .weekOfYear], from: day)
            let date = CivilDate(localMidnight: Timestamp(day).microseconds)
            #expect([date.year, date.month, date.day] == [parts.year, parts.month, parts.day])
            let week = date.isoWeek
            #expect([week.year, week.week] == [parts.yearForWeekOfYear, parts.weekOfYear])
            day = try #require(calendar.date(byAdding: .day, value: 1, to: day))
            checked += 1
        }
        #expect(checked == 12_053)  // 33 years, 8 of them leap years
    }
}

/// The parser's direct reading of the file's timestamps against StreamKit's ISO 8601 parser.
@Suite struct FlowRowTimeTests {
    func direct(_ text: String) -> Timestamp? {
        var text = text
        return text.withUTF8 { FlowRow.fileTime($0) }
    }

    func general(_ text: String) -> Timestamp? {
        var text = text
        return try? text.withUTF8 { Timestamp.parseISO8601($0, defaultOffsetSeconds: nil) }.get()
    }

    @Test(arguments: [
        "2017-01-01T00:00:00+0100", "2021-10-31T02:00:00+0100", "2021-10-31T02:00:00+0200",
        "2020-02-29T23:00:00+01:00", "1999-12-31T23:59:59-0530", "2024-11-09T23:00:00+0100",
    ])
    func theFilesLayoutIsReadDirectlyAsTheGeneralParserReadsIt(_ text: String) throws {
        let time = try #require(direct(text))
        #expect(time == general(text))
    }

    @Test(arguments: [
        "2021-02-29T00:00:00+0100", "2021-13-01T00:00:00+0100", "2021-06-15T24:00:00+0200",
        "2021-06-15 00:00:00+0200", "2021-06-15T00:00:00", "2021-06-15T00:00:00Z", "2021-06-15T00:00:00+02",
        "2021-06-1xT00:00:00+0200",
    ])
    func anythingElseGoesToTheGeneralParser(_ text: String) {
        #expect(direct(text) == nil)
    }

    @Test func aLineWithAnotherLayoutIsStillRead() throws {
        let row = try FlowRow.parse("2021-06-15 00:00:00Z,1,2,3,4,5,6,7,8,0")
        #expect(row.time == Timestamp(seconds: 1_623_715_200))
        #expect(row.flows == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(throws: FlowRowError.self) { try FlowRow.parse("2021-02-29T00:00:00+0100,1,2,3,4,5,6,7,8,0") }
    }
}
