import ExampleCharts
import Foundation
import StreamKit
import StreamKitKafka
import StreamKitMQTT
import Synchronization

/// Runs the electricity graph in its two modes, and replays a file to MQTT.
public enum ElectricityRunner {
    /// The tables a run produces.
    public struct Tables: Sendable {
        /// Totals per local day.
        public var days: PeriodTable
        /// Totals per ISO week.
        public var weeks: PeriodTable
        /// Totals per month.
        public var months: PeriodTable
        /// Hours far above the rolling baseline of their column.
        public var spikes: SpikeTable
        /// Lines that could not be read.
        public var rejected: CollectingSink<ErrorRecord>
        /// Hours that came too late for a table.
        public var late: CollectingSink<LateRow>
        /// Where the tables are written, if anywhere.
        public let directory: String?

        /// Tables written under `directory` (or kept in memory only, when `nil`).
        public init(directory: String?) throws {
            if let directory {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            self.directory = directory
            days = PeriodTable(path: directory.map { "\($0)/days" })
            weeks = PeriodTable(path: directory.map { "\($0)/weeks" })
            months = PeriodTable(path: directory.map { "\($0)/months" })
            spikes = SpikeTable(path: directory.map { "\($0)/spikes" })
            rejected = CollectingSink()
            late = CollectingSink()
        }

        /// The runs of net-import and net-export days, from the daily rows so far.
        public var runs: [RunRow] { RunRow.runs(in: days.sorted) }

        /// The peak days and leading partners per month and for the whole run, from the daily rows
        /// so far.
        public var peaks: [PeakRow] { PeakRow.peaks(in: days.sorted) }

        /// Writes the tables derived from the daily rows (`runs` and `peaks`, as CSV and JSON),
        /// the rejected lines and the late hours (`rejected.csv`, `late.csv`: a header only when
        /// there are none) and the HTML report, when the tables have a directory. The period and
        /// spike tables are written once more, so that a live run stopped before any spike leaves
        /// a header-only `spikes.csv` as a batch run does: both modes write the same files.
        public func writeSummaries() throws {
            guard let directory else { return }
            for table in [self.days, weeks, months] { try table.save() }
            try spikes.save()
            let days = self.days.sorted
            try writeTable(RunRow.runs(in: days), to: "\(directory)/runs")
            try writeTable(PeakRow.peaks(in: days), to: "\(directory)/peaks")
            try Self.csv(
                header: "file,line,reason,text",
                rows: rejected.elements.map {
                    [$0.location ?? "", $0.line.map(String.init) ?? "", $0.reason, $0.rawText]
                }
            ).write(toFile: "\(directory)/rejected.csv", atomically: true, encoding: .utf8)
            try Self.csv(
                header: "table,hour_utc,imports_mwh,exports_mwh",
                rows: late.elements.map { late in
                    [
                        late.table, late.row.time.iso8601, PeriodRow.number(late.row.imports),
                        PeriodRow.number(late.row.exports),
                    ]
                }
            ).write(toFile: "\(directory)/late.csv", atomically: true, encoding: .utf8)
            let report = ElectricityReport.html(days: days, months: months.sorted, spikes: spikes.sorted)
            try report.write(toFile: "\(directory)/report.html", atomically: true, encoding: .utf8)
        }

        /// CSV text, with fields quoted where they hold a comma, a quote or a line break.
        static func csv(header: String, rows: [[String]]) -> String {
            func field(_ text: String) -> String {
                text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                    ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
            }
            return ([header] + rows.map { $0.map(field).joined(separator: ",") }).joined(separator: "\n") + "\n"
        }

        /// Attaches the tables to the graph's outputs; with `savingEachBatch` false (a batch run) the
        /// tables write no files while the run goes on: ``writeSummaries()`` writes each once.
        func attach(_ outputs: ElectricityGraph.Outputs, savingEachBatch: Bool = true) {
            if savingEachBatch {
                outputs.days.sink(days, name: "days-table")
                outputs.weeks.sink(weeks, name: "weeks-table")
                outputs.months.sink(months, name: "months-table")
                outputs.spikes.sink(spikes, name: "spikes-table")
            } else {
                outputs.days.sink(days.keepingSink, name: "days-table")
                outputs.weeks.sink(weeks.keepingSink, name: "weeks-table")
                outputs.months.sink(months.keepingSink, name: "months-table")
                outputs.spikes.sink(spikes.keepingSink, name: "spikes-table")
            }
            outputs.rejected.sink(rejected, name: "rejected")
            outputs.late.sink(late, name: "late-table")
        }
    }

    /// Batch mode: the file's lines through the graph; a progress bar on standard error when
    /// `showsProgress`. Returns how many data lines were read.
    /// - Throws: ``StreamKitError`` (`io`) when the file cannot be read.
    @discardableResult
    public static func batch(file: String, tables: Tables, showsProgress: Bool = false) async throws -> Int {
        let lines = try numberedLines(of: file)
        let total = lines.count
        let pipeline = Pipeline("electricity-flows-batch")
        var stream = pipeline.source(lines, name: "csv")
        if showsProgress {
            let progress = Progress(total: total)
            stream = stream.map(name: "progress") { line in
                progress.step()
                return line
            }
        }
        tables.attach(ElectricityGraph.build(lines: stream), savingEachBatch: false)
        try await pipeline.run()
        try tables.writeSummaries()
        return total
    }

    /// Real-time mode: lines from MQTT as they arrive; daily rows are emitted when the watermark
    /// passes local midnight and printed, spikes when the watermark reaches their hour. `stop`,
    /// when given, runs beside the pipeline with the source's counters, and may stop it. The
    /// derived tables (runs, peaks) and the report are written when the pipeline stops.
    public static func live(
        mqtt: MQTTConfiguration,
        topic: String,
        tables: Tables,
        prints: Bool = true,
        until stop: (@Sendable (Pipeline, MQTTStatistics) async -> Void)? = nil
    ) async throws {
        let pipeline = Pipeline("electricity-flows-live")
        let source = MQTTSource(mqtt, topics: [topic], qos: .atLeastOnce)
        let lines = pipeline.source(source, name: "mqtt")
            .map(name: "text") { $0.text }
        let statistics = source.statistics
        try await run(pipeline, lines: lines, tables: tables, prints: prints) { pipeline in
            await stop?(pipeline, statistics)
        }
    }

    /// Real-time mode fed by Kafka: the same graph on the lines of `topic`, consumed in `groupID`.
    /// Use a topic of one partition: the graph reads the file's order (a correction counts because
    /// it comes later), which Kafka keeps within a partition only.
    public static func live(
        kafka: KafkaConfiguration,
        topic: String,
        groupID: String,
        tables: Tables,
        prints: Bool = true,
        until stop: (@Sendable (Pipeline) async -> Void)? = nil
    ) async throws {
        let pipeline = Pipeline("electricity-flows-live")
        let lines = pipeline.source(KafkaSource(kafka, topics: [topic], groupID: groupID), name: "kafka")
            .map(name: "text") { String(decoding: $0.value ?? [], as: UTF8.self) }
        try await run(pipeline, lines: lines, tables: tables, prints: prints, until: stop)
    }

    /// Builds the graph on `lines`, prints what closes, runs until stopped, writes the summaries.
    static func run(
        _ pipeline: Pipeline,
        lines: DataStream<String>,
        tables: Tables,
        prints: Bool,
        until stop: (@Sendable (Pipeline) async -> Void)?
    ) async throws {
        let outputs = ElectricityGraph.build(lines: lines)
        tables.attach(outputs)
        if prints {
            outputs.days.sink(
                PrintSink {
                    "\($0.period): imports \(NumberFormat.grouped($0.imports)) MWh, "
                        + "exports \(NumberFormat.grouped($0.exports)) MWh, "
                        + "net import \(NumberFormat.grouped($0.netImport)) MWh, \($0.hours)/\($0.expectedHours) h"
                },
                name: "print-days"
            )
            outputs.spikes.sink(
                PrintSink {
                    $0.isSpike
                        ? "spike: \($0.flowLabel) \(NumberFormat.grouped($0.value)) MWh at \($0.localTime), "
                            + "baseline \(NumberFormat.grouped($0.baseline)) MWh"
                        : "spike cleared by a correction: \($0.flowLabel) at \($0.localTime)"
                },
                name: "print-spikes"
            )
        }
        pipeline.stopOnTermination()
        if let stop {
            let watcher = Task { await stop(pipeline) }
            defer { watcher.cancel() }
            try await pipeline.run()
        } else {
            try await pipeline.run()
        }
        try tables.writeSummaries()
    }

    /// The lines of a file without its header (`Datetime,…`), split at line feeds and carriage
    /// returns (the real file ends its lines with CR LF), without empty lines.
    /// - Throws: ``StreamKitError`` (`io`) when the file cannot be read.
    public static func dataLines(of file: String) throws -> [String] {
        try numberedLines(of: file).map(\.text)
    }

    /// The lines of a file without its header and empty lines, each with the file and its line
    /// number (a CR LF counts as one line break).
    /// - Throws: ``StreamKitError`` (`io`) when the file cannot be read.
    public static func numberedLines(of file: String) throws -> [FlowLine] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            let reason = String(cString: strerror(access(file, R_OK) == 0 ? EIO : errno))
            throw StreamKitError(
                code: .io,
                message: "cannot read \(file): \(reason); give the path of the flows CSV "
                    + "(ogd107_strom_import_export.csv, or one made by `electricity-flows generate`)"
            )
        }
        var lines: [FlowLine] = []
        lines.reserveCapacity(data.count / 40)
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            var number = 1
            var previous: UInt8 = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == 10 || bytes[index] == 13 {
                if index > start {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    lines.append(FlowLine(text, file: file, number: number))
                }
                // A line feed right after a carriage return ends the same line.
                if index < bytes.count && !(bytes[index] == 10 && previous == 13 && index == start) { number += 1 }
                if index < bytes.count { previous = bytes[index] }
                start = index + 1
            }
        }
        if lines.first?.text.hasPrefix("Datetime") == true { lines.removeFirst() }
        return lines
    }

    /// Publishes the file's lines to `topic`, one hour of data every `hourEvery`, with QoS 1.
    public static func replay(file: String, mqtt: MQTTConfiguration, topic: String, hourEvery: Duration) async throws {
        var configuration = mqtt
        configuration.clientID = "electricity-replay-\(UInt32.random(in: 0...UInt32.max))"
        let pipeline = Pipeline("electricity-replay")
        pipeline.source(AsyncSequenceSource(try paced(file: file, hourEvery: hourEvery)), name: "file")
            .sink(MQTTSink<[UInt8]>(configuration, topic: topic, qos: .atLeastOnce) { $0 }, name: "mqtt")
        try await pipeline.run()
    }

    /// Produces the file's lines to `topic` (partition 0, in file order), one hour of data every
    /// `hourEvery`; returns when the brokers acknowledged every line.
    public static func replay(file: String, kafka: KafkaConfiguration, topic: String, hourEvery: Duration) async throws
    {
        let pipeline = Pipeline("electricity-replay")
        pipeline.source(AsyncSequenceSource(try paced(file: file, hourEvery: hourEvery)), name: "file")
            .sink(KafkaSink<[UInt8]>(kafka, topic: topic) { $0 }, name: "kafka")
        try await pipeline.run()
    }

    /// The file's data lines, one every `hourEvery`.
    static func paced(file: String, hourEvery: Duration) throws -> AsyncStream<[UInt8]> {
        let rows = try dataLines(of: file)
        return AsyncStream<[UInt8]> { continuation in
            let task = Task {
                let clock = ContinuousClock()
                let start = clock.now
                for (index, line) in rows.enumerated() {
                    if hourEvery > .zero { try? await clock.sleep(until: start + hourEvery * index) }
                    continuation.yield(Array(line.utf8))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A progress bar on standard error, redrawn every percent.
final class Progress: Sendable {
    let total: Int
    private let done = Mutex(0)

    init(total: Int) { self.total = total }

    func step() {
        let count = done.withLock { count -> Int in
            count += 1
            return count
        }
        let step = Swift.max(1, total / 100)
        guard count % step == 0 || count == total else { return }
        let filled = total == 0 ? 40 : count * 40 / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 40 - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(count)/\(total) rows".utf8))
        if count == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
