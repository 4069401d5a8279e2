import Benchmark
import ElectricityExample
import Foundation
import StreamKit

/// Batch mode over the whole file (reading it, the graph, the tables in memory and the derived
/// runs and peaks) and parsing its lines alone.
enum BatchBenchmarks {
    static func register() {
        Benchmark("Electricity batch whole file") { benchmark in
            let clock = ContinuousClock()
            let started = clock.now
            let tables = try ElectricityRunner.Tables(directory: nil)
            try await ElectricityRunner.batch(file: FlowsFile.path, tables: tables)
            let peaks = tables.peaks
            let elapsed = started.duration(to: clock.now)
            benchmark.stopMeasurement()
            benchmark.measurement(rowsPerSecond, rate(FlowsFile.rows, in: elapsed))
            check(tables, peaks: peaks, benchmark: benchmark)
        } setup: {
            _ = (FlowsFile.rows, FlowsFile.distinctHours)
        }

        Benchmark("Electricity parse lines") { benchmark in
            let lines = FlowsFile.lines
            let clock = ContinuousClock()
            let started = clock.now
            var sum = 0.0
            for line in lines {
                let row = try FlowRow.parse(line)
                sum += row.flows[2] + Double(row.time.microseconds % 1000)
            }
            let elapsed = started.duration(to: clock.now)
            benchmark.stopMeasurement()
            benchmark.measurement(rowsPerSecond, rate(lines.count, in: elapsed))
            blackHole(sum)
        } setup: {
            _ = FlowsFile.lines
        }
    }

    /// Every row of the file in a day, the expected spike found, no line rejected.
    static func check(_ tables: ElectricityRunner.Tables, peaks: [PeakRow], benchmark: Benchmark) {
        let hours = tables.days.sorted.map(\.hours).reduce(0, +)
        if hours != FlowsFile.distinctHours {
            benchmark.error("the days hold \(hours) hours, the file has \(FlowsFile.distinctHours)")
        }
        if !tables.rejected.elements.isEmpty {
            benchmark.error("\(tables.rejected.elements.count) lines rejected")
        }
        if !tables.spikes.sorted.contains(where: { $0.value == FlowFileGenerator.plantedSpikeMWh }) {
            benchmark.error("the FR→CH spike of 23,635 MWh was not found")
        }
        if peaks.last?.period != "all" { benchmark.error("no peaks for the whole run") }
    }
}

/// The file the benchmarks read: the real one when present, else a generated one as large.
enum FlowsFile {
    /// The real file's rows.
    static let realRows = 68_680

    /// The path of the file.
    static let path: String = {
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let real =
            ProcessInfo.processInfo.environment["ELECTRICITY_FILE"]
            ?? checkout.deletingLastPathComponent().appendingPathComponent("shared/data/ogd107_strom_import_export.csv")
            .path
        if FileManager.default.fileExists(atPath: real) {
            print("Electricity benchmarks: the real file \(real)")
            return real
        }
        // 2,862 days from 2017-01-01 give 68,680 rows give or take the generator's missing hours
        // and corrections; cut to exactly as many.
        let lines = FlowFileGenerator(startYear: 2017, days: 2_862).lines().prefix(realRows + 1)
        let generated = NSTemporaryDirectory() + "electricity-benchmark-flows.csv"
        try! (lines.joined(separator: "\n") + "\n").write(toFile: generated, atomically: true, encoding: .utf8)
        print("Electricity benchmarks: no real file at \(real), a generated one: \(generated)")
        return generated
    }()

    /// The data lines of the file.
    static let lines: [String] = try! ElectricityRunner.dataLines(of: path)

    /// How many rows the file has.
    static let rows = lines.count

    /// How many distinct hours the file has.
    static let distinctHours = Set(lines.map { try! FlowRow.parse($0).time }).count
}
