import ElectricityExample
import Foundation
import StreamKit
import StreamKitKafka
import StreamKitMQTT
import Testing

/// Mike's pipeline against totals computed by hand, on the traps of the real file.
@Suite struct ElectricityFlowsTests {
    /// A line with `at` MWh from Austria and `itExport` MWh to Italy in the hour `time`.
    func line(_ time: String, at: Double = 1, itExport: Double = 0) -> String {
        [time, PeriodRowNumber(at), "0", "0", "0", "0", "0", "0", PeriodRowNumber(itExport), "0"].joined(separator: ",")
    }

    func PeriodRowNumber(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// Every local hour of `day` (`2021-06-15`) with its offset, in the file's string order.
    func hours(_ day: String, offset: String = "+0200", skipping: Set<Int> = [], at: Double = 1) -> [String] {
        (0..<24).filter { !skipping.contains($0) }.map {
            line(String(format: "%@T%02d:00:00%@", day, $0, offset), at: at)
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

    func day(_ tables: ElectricityRunner.Tables, _ period: String) -> PeriodRow? {
        tables.days.sorted.first { $0.period == period }
    }

    @Test func theSpringDayHas23HoursAndTheAutumnDay25WithItsOutOfOrderRows() async throws {
        // 28 March 2021: 02:00 does not exist; +0100 before 03:00, +0200 from then on.
        let spring = (0..<24).filter { $0 != 2 }.map {
            line(String(format: "2021-03-28T%02d:00:00%@", $0, $0 < 2 ? "+0100" : "+0200"))
        }
        // 31 October 2021, sorted as strings: 02:00+0100 (01:00 UTC) comes before 02:00+0200
        // (00:00 UTC), an hour out of order.
        var autumn = (0..<24).map { line(String(format: "2021-10-31T%02d:00:00%@", $0, $0 < 2 ? "+0200" : "+0100")) }
        autumn.insert(line("2021-10-31T02:00:00+0200", at: 10), at: 3)
        autumn[2] = line("2021-10-31T02:00:00+0100", at: 100)
        let tables = try await runBatch(spring + autumn)

        let march = try #require(day(tables, "2021-03-28"))
        #expect(march.expectedHours == 23)
        #expect(march.hours == 23)
        #expect(march.flows["AT_CH_MWh"] == 23)
        let october = try #require(day(tables, "2021-10-31"))
        #expect(october.expectedHours == 25)
        #expect(october.hours == 25)
        #expect(october.flows["AT_CH_MWh"] == 133.0)  // 23 hours × 1, 100 at 02:00+0100, 10 at 02:00+0200
        #expect(tables.rejected.elements.isEmpty)
    }

    @Test func anIncompleteDayAndACorrectionThatComesLater() async throws {
        var lines = hours("2021-06-15", skipping: [3, 4, 5, 6])
        lines += hours("2021-06-16")
        lines += hours("2021-06-17").prefix(12)
        // A correction of 16 June 05:00, after the 16th has closed (the watermark is at 17 June 09:00).
        lines.append(line("2021-06-16T05:00:00+0200", at: 50))
        lines += hours("2021-06-17").suffix(12)
        let tables = try await runBatch(lines)

        let incomplete = try #require(day(tables, "2021-06-15"))
        #expect(incomplete.hours == 20)
        #expect(incomplete.missingHours == 4)
        #expect(incomplete.flows["AT_CH_MWh"] == 20)
        let corrected = try #require(day(tables, "2021-06-16"))
        #expect(corrected.flows["AT_CH_MWh"] == 73.0)  // 23 hours × 1 + the correction's 50: the last row counts
        #expect(corrected.replacedRows == 1)
        #expect(corrected.hours == 24)
    }

    @Test func isoWeeksCrossTheYearBoundaryAndMonthsAddUp() async throws {
        // ISO week 2020-W53 runs from Monday 28 December 2020 to Sunday 3 January 2021.
        var lines = hours("2020-12-31", offset: "+0100", at: 2) + hours("2021-01-01", offset: "+0100", at: 3)
        lines += hours("2021-01-04", offset: "+0100", at: 5)
        let tables = try await runBatch(lines)

        let weeks = tables.weeks.sorted
        #expect(weeks.map(\.period) == ["2020-W53", "2021-W01"])
        let weekTotals: [Double?] = weeks.map { $0.flows["AT_CH_MWh"] }
        #expect(weekTotals == [120, 120])  // 24 h × 2 + 24 h × 3 in W53; 24 h × 5 in W01
        let months = tables.months.sorted
        #expect(months.map(\.period) == ["2020-12", "2021-01"])
        let monthTotals: [Double?] = months.map { $0.flows["AT_CH_MWh"] }
        #expect(monthTotals == [48, 192])  // 24 h × 2 in December; 24 h × 3 + 24 h × 5 in January
        #expect(months.map(\.expectedHours) == [31 * 24, 31 * 24])
    }

    @Test func netImportIsImportsMinusExports() async throws {
        let lines = (0..<24).map { line(String(format: "2021-07-01T%02d:00:00+0200", $0), at: 100, itExport: 250) }
        let tables = try await runBatch(lines)
        let july = try #require(day(tables, "2021-07-01"))
        #expect(july.imports == 2400)
        #expect(july.exports == 6000)
        #expect(july.netImport == -3600)
        #expect(july.largestExportPartner == "IT")
    }

    @Test func badLinesGoToTheErrorOutputWithLineAndReason() async throws {
        let tables = try await runBatch(
            hours("2021-06-15") + ["2021-06-16T00:00:00+0200,x,0,0,0,0,0,0,0,0", "garbage"]
        )
        #expect(tables.rejected.elements.count == 2)
        #expect(tables.rejected.elements[0].reason.contains("AT_CH_MWh is 'x'"))
        #expect(tables.rejected.elements[1].reason.contains("expected 10 comma-separated fields"))
        #expect(tables.rejected.elements[1].rawText == "garbage")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ElectricityFlowsTests.realFile)))
    func theRealFileMatchesTotalsComputedIndependently() async throws {
        let text = try String(contentsOfFile: Self.realFile, encoding: .utf8)
        // Independently: Foundation's date parsing and calendar, summing per local day.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssZ"
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Zurich")!
        var frByDay: [String: Double] = [:]
        var itExportByMonth: [String: Double] = [:]
        // The file ends its lines with CR LF.
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let fields = line.split(separator: ",")
            let date = formatter.date(from: String(fields[0]))!
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let day = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            frByDay[day, default: 0] += Double(fields[3])!
            itExportByMonth[String(day.prefix(7)), default: 0] += Double(fields[8])!
        }
        #expect(frByDay.count > 2800)
        let tables = try ElectricityRunner.Tables(directory: nil)
        try await ElectricityRunner.batch(file: Self.realFile, tables: tables)
        let days = Dictionary(uniqueKeysWithValues: tables.days.sorted.map { ($0.period, $0) })
        for day in ["2017-01-01", "2017-10-29", "2021-08-02", "2023-01-08", "2023-02-09"] {
            #expect(days[day]?.flows["FR_CH_MWh"] == frByDay[day], "FR→CH on \(day)")
        }
        let months = Dictionary(uniqueKeysWithValues: tables.months.sorted.map { ($0.period, $0) })
        for month in ["2017-01", "2020-02", "2024-10"] {
            #expect(months[month]?.flows["CH_IT_MWh"] == itExportByMonth[month], "CH→IT in \(month)")
        }
        #expect(spikes(tables.spikes.sorted) == Self.spikesComputedIndependently(text))
        #expect(
            tables.spikes.sorted.contains {
                $0.localTime == "2023-01-08T06:00:00+01:00" && $0.column == "FR_CH_MWh" && $0.value == 23_635
                    && $0.baseline == 4269
            }
        )
        #expect(days["2017-10-29"]?.expectedHours == 25)
        #expect(days["2023-02-09"]?.missingHours == 12)
        #expect(tables.rejected.elements.isEmpty)
    }

    static let realFile = "../shared/data/ogd107_strom_import_export.csv"

    /// A spike as the independent computation sees it: column, hour (s since the epoch), value and
    /// baseline.
    struct Spike: Hashable {
        var column: Int
        var hour: Int
        var value: Double
        var baseline: Double
    }

    func spikes(_ rows: [SpikeRow]) -> Set<Spike> {
        Set(
            rows.map { row in
                Spike(
                    column: Flow.allCases.firstIndex { flow in flow.column == row.column }!,
                    hour: Int(row.time.microseconds / 1_000_000),
                    value: row.value,
                    baseline: row.baseline
                )
            }
        )
    }

    /// The spikes of the file by brute force, with Foundation's date parsing: the last row of each
    /// hour counts; an hour is a spike when at least 24 of the preceding 168 hours are present,
    /// and its value is above 1.5 × their largest value and at least 2,000 MWh more.
    static func spikesComputedIndependently(_ text: String) -> Set<Spike> {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssZ"
        var hours: [Int: [Double]] = [:]
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let fields = line.split(separator: ",")
            let hour = Int(formatter.date(from: String(fields[0]))!.timeIntervalSince1970)
            hours[hour] = fields[1...8].map { Double($0)! }
        }
        let times = hours.keys.sorted()
        var found: Set<Spike> = []
        var from = 0
        for (index, time) in times.enumerated() {
            while times[from] < time - 168 * 3600 { from += 1 }
            guard index - from >= 24 else { continue }
            for column in 0..<8 {
                let value = hours[time]![column]
                guard value >= 2000 else { continue }
                let baseline = times[from..<index].map { hours[$0]![column] }.max()!
                if value > 1.5 * baseline && value - baseline >= 2000 {
                    found.insert(Spike(column: column, hour: time, value: value, baseline: baseline))
                }
            }
        }
        return found
    }

    @Test func realTimeOverMosquittoGivesTheRowsOfBatchMode() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString)").path
        let broker = try LocalMosquitto(directory: "\(directory)/mosquitto")
        defer { broker.stop() }
        let file = "\(directory)/flows.csv"
        try (FlowFileGenerator(startYear: 2021, startMonth: 10, startDay: 20, days: 20).lines().joined(separator: "\n"))
            .write(toFile: file, atomically: true, encoding: .utf8)
        let batch = try ElectricityRunner.Tables(directory: nil)
        try await ElectricityRunner.batch(file: file, tables: batch)
        // In real time the last day never closes: no watermark passes its midnight; nor are its
        // last hours judged for spikes.
        let expected = Array(batch.days.sorted.dropLast())
        let lastDay = try #require(batch.days.sorted.last)
        let expectedSpikes = batch.spikes.sorted.filter { $0.time < lastDay.start }
        // The generator's planted spike: day 7 from 20 October, 06:00.
        #expect(expectedSpikes.contains { $0.localTime == "2021-10-27T06:00:00+02:00" })

        let mqtt = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "flows-live")
        let live = try ElectricityRunner.Tables(directory: nil)
        try await ElectricityRunner.live(mqtt: mqtt, topic: "flows", tables: live, prints: false) { pipeline, source in
            do {
                while !source.current.isSubscribed { try await Task.sleep(for: .milliseconds(20)) }
                try await ElectricityRunner.replay(file: file, mqtt: mqtt, topic: "flows", hourEvery: .zero)
                let deadline = Date().addingTimeInterval(30)
                while (live.days.sorted != expected || live.spikes.sorted != expectedSpikes) && Date() < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
            } catch {
                Issue.record("replay failed: \(error)")
            }
            pipeline.stop()
        }
        #expect(live.days.sorted == expected)
        #expect(live.spikes.sorted == expectedSpikes)
        #expect(expected.contains { $0.expectedHours == 25 })  // 31 October, with its out-of-order rows
    }
}

extension ElectricityFlowsTests {
    @Test func realTimeFromKafkaGivesTheRowsOfBatchMode() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/flows.csv"
        try (FlowFileGenerator(startYear: 2021, startMonth: 10, startDay: 20, days: 20).lines().joined(separator: "\n"))
            .write(toFile: file, atomically: true, encoding: .utf8)
        let batch = try ElectricityRunner.Tables(directory: nil)
        try await ElectricityRunner.batch(file: file, tables: batch)
        let expected = Array(batch.days.sorted.dropLast())
        let lastDay = try #require(batch.days.sorted.last)
        let expectedSpikes = batch.spikes.sorted.filter { $0.time < lastDay.start }

        // librdkafka's mock cluster: the real protocol on loopback. One partition keeps file order.
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("flows", partitions: 1)
        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        try await ElectricityRunner.replay(file: file, kafka: kafka, topic: "flows", hourEvery: .zero)

        let live = try ElectricityRunner.Tables(directory: nil)
        try await ElectricityRunner.live(
            kafka: kafka,
            topic: "flows",
            groupID: "flows-live",
            tables: live,
            prints: false
        ) {
            pipeline in
            let deadline = Date().addingTimeInterval(60)
            while (live.days.sorted != expected || live.spikes.sorted != expectedSpikes) && Date() < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            pipeline.stop()
        }
        #expect(live.days.sorted == expected)
        #expect(
            live.weeks.sorted.filter { $0.end <= lastDay.start }
                == batch.weeks.sorted.filter { $0.end <= lastDay.start }
        )
        #expect(live.spikes.sorted == expectedSpikes)
        #expect(expected.contains { $0.expectedHours == 25 })
    }
}
