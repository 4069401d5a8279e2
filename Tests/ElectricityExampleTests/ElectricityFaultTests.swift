import ElectricityExample
import Foundation
import StreamKit
import Testing

/// What the electricity example does with input that cannot count: rejected lines keep their line
/// numbers and are written out, hours too late for their period are reported rather than lost, a
/// file with nothing valid fails the command, and two runs over one input give the same bytes.
@Suite struct ElectricityFaultTests {
    static var products: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent() }

    func line(_ time: String, at: Double = 1) -> String {
        [time, String(at), "0", "0", "0", "0", "0", "0", "0", "0"].joined(separator: ",")
    }

    func days(from first: Int, count: Int, at: Double = 1) -> [String] {
        (0..<count).flatMap { offset -> [String] in
            let day = String(format: "2021-06-%02d", first + offset)
            return (0..<24).map { line(String(format: "%@T%02d:00:00+0200", day, $0), at: at) }
        }
    }

    func write(_ lines: [String]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString).csv").path
        try ([FlowRow.header] + lines).joined(separator: "\r\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func rejectedLinesKeepTheirLineNumbersAndAreWrittenToRejectedCSV() async throws {
        let file = try write(days(from: 1, count: 1) + ["2021-06-02T00:00:00+0200,x,0,0,0,0,0,0,0,0", "garbage"])
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)").path
        let tables = try ElectricityRunner.Tables(directory: out)
        try await ElectricityRunner.batch(file: file, tables: tables)
        // The header is line 1, the 24 hours lines 2 to 25 (CR LF line breaks count once).
        #expect(tables.rejected.elements.map(\.line) == [26, 27])
        #expect(tables.rejected.elements.allSatisfy { $0.location == file })
        let csv = try String(contentsOfFile: "\(out)/rejected.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "file,line,reason,text")
        #expect(csv.count == 3)
        #expect(csv[2].hasPrefix("\(file),27,") && csv[2].hasSuffix(",garbage"))
        #expect(
            try String(contentsOfFile: "\(out)/late.csv", encoding: .utf8) == "table,hour_utc,imports_mwh,exports_mwh\n"
        )
    }

    @Test func anHourTooLateForItsPeriodIsReportedNotLost() async throws {
        // Forty days of data, then an hour of the first day: later than the 35 days of allowed
        // lateness after that day (and its week), but its month is still open.
        let late = line("2021-06-01T05:00:00+0200", at: 6285)
        let file = try write(days(from: 1, count: 30) + julyDays(10) + [late])
        let tables = try ElectricityRunner.Tables(directory: nil)
        try await ElectricityRunner.batch(file: file, tables: tables)
        let tablesMissingIt = Set(tables.late.elements.map(\.table))
        #expect(tablesMissingIt.contains("days"))
        #expect(tables.late.elements.allSatisfy { $0.row.imports == 6285 })
        // The day's total is the on-time hours only; nothing silently mixed in.
        #expect(tables.days.sorted.first { $0.period == "2021-06-01" }?.imports == 24)
        #expect(tables.rejected.elements.isEmpty)
    }

    func julyDays(_ count: Int) -> [String] {
        (1...count).flatMap { day -> [String] in
            (0..<24).map { line(String(format: "2021-07-%02dT%02d:00:00+0200", day, $0)) }
        }
    }

    @Test func aFileWithNoValidLineFailsTheCommandAndAMissingFileSaysWhy() throws {
        let file = try write(["garbage", "more garbage"])
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)").path
        let (status, output) = try run(["batch", file, "--out", out])
        #expect(status == 1)
        #expect(output.contains("no valid line in \(file)"))
        #expect(output.contains("rejected lines: 2"))

        let (missingStatus, missingOutput) = try run(["batch", "/nonexistent/flows.csv", "--out", out])
        #expect(missingStatus != 0)
        #expect(missingOutput.contains("cannot read /nonexistent/flows.csv: No such file or directory"))
        #expect(!missingOutput.contains("NSCocoaErrorDomain"))
    }

    @Test func twoBatchRunsOverOneFileWriteTheSameBytes() throws {
        // Values with many digits, whose sums depend on the order they are added in (the real
        // file's are like this; the generator's are whole numbers).
        var lines: [String] = []
        for day in 1...60 {
            for hour in 0..<24 {
                let time = String(
                    format: "2021-%02d-%02dT%02d:00:00+0200",
                    5 + (day - 1) / 30,
                    (day - 1) % 30 + 1,
                    hour
                )
                let values = (0..<8).map { column in
                    String(
                        format: "%.6f",
                        Double((day * 7_919 + hour * 104_729 + column * 1_299_709) % 1_000_003) / 997.0
                    )
                }
                lines.append(([time] + values + ["0"]).joined(separator: ","))
            }
        }
        let file = try write(lines)
        var outputs: [[String: Data]] = []
        for _ in 0..<2 {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)").path
            #expect(try run(["batch", file, "--out", out]).status == 0)
            var files: [String: Data] = [:]
            for name in ["weeks.csv", "months.csv", "days.csv", "weeks.json", "months.json"] {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(name)"))
            }
            outputs.append(files)
        }
        #expect(outputs[0] == outputs[1])
    }

    /// Runs the `electricity-flows` program; returns its exit status and what it wrote.
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = Self.products.appendingPathComponent("electricity-flows")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
