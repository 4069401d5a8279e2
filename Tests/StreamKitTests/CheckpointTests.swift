import Foundation
import Logging
import StreamKit
import Synchronization
import Testing

/// Keeps the latest value per key, across runs: an idempotent upsert target, as a database table
/// keyed by (sensor, window) would be.
final class UpsertTable: Sendable {
    private let rows = Mutex<[String: String]>([:])
    var snapshot: [String: String] { rows.withLock { $0 } }
    func upsert(_ key: String, _ value: String) { rows.withLock { $0[key] = value } }
}

/// Counts the readings a run reads.
final class ReadCounter: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func add(_ count: Int = 1) { value.add(count, ordering: .relaxed) }
}

/// Collects log messages, to check what recovery reports.
final class LogCollector: Sendable {
    let messages = Mutex<[String]>([])
    func makeLogger() -> Logger {
        Logger(label: "test") { _ in Handler(collector: self) }
    }
    struct Handler: LogHandler {
        let collector: LogCollector
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            collector.messages.withLock { $0.append("\(event.message) \(event.metadata ?? [:])") }
        }
    }
}

@Suite struct CheckpointTests {
    static let readings: [Reading] = {
        var readings: [Reading] = []
        var state: UInt64 = 7
        for index in 0..<6000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            readings.append(
                reading("s\(state >> 61)", Double(index) / 10 - Double(state >> 59 & 7), Double(state >> 40 & 255))
            )
        }
        return readings
    }()

    static func writeInput(_ directory: TemporaryDirectory) throws -> String {
        let encoder = JSONEncoder()
        let lines = try readings.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        return directory.write("readings.jsonl", lines.joined(separator: "\n") + "\n")
    }

    /// File → event time → per-sensor one-minute windows and a keyed process function → upserts.
    static func build(
        input: String,
        table: UpsertTable,
        read: ReadCounter,
        slow: Bool,
        logger: Logger = Logger(label: "test")
    ) -> Pipeline {
        let pipeline = Pipeline(
            "checkpointed",
            configuration: PipelineConfiguration(workers: 2, batchSize: 50, logger: logger)
        )
        let keyed = pipeline.source(JSONLinesSource<Reading>(path: input), name: "readings")
            .map(name: "count-read") { reading in
                read.add()
                return reading
            }
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
            .key(by: { $0.sensor })
        keyed.window(.tumbling(.minutes(1)), name: "minutes")
            .aggregate(Count(), Sum { $0.value })
            .forEach(name: "minute-rows") { row in
                if slow { try await Task.sleep(for: .microseconds(300)) }
                table.upsert("window \(row.key) \(row.window.start)", "\(row.value.0) \(row.value.1)")
            }
        keyed.process(PeriodTotals(), name: "period-totals")
            .forEach(name: "period-rows") { line in
                let parts = line.split(separator: " ")
                table.upsert("period \(parts[0]) \(parts[1])", String(parts[2]))
            }
        return pipeline
    }

    @Test func aRunStoppedAfterACheckpointResumesWithTheSameResults() async throws {
        let directory = TemporaryDirectory()
        let input = try Self.writeInput(directory)

        let expected = UpsertTable()
        try await Self.build(input: input, table: expected, read: ReadCounter(), slow: false).run()

        // First run: checkpoints every 20 ms; stop it abruptly once two have completed.
        let table = UpsertTable()
        let firstRead = ReadCounter()
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .milliseconds(20))
        let first = Task {
            try await Self.build(input: input, table: table, read: firstRead, slow: true).run(checkpoints: checkpoints)
        }
        var completed: [String] = []
        for _ in 0..<400 {
            try await Task.sleep(for: .milliseconds(10))
            completed = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.directory)) ?? [])
                .filter { FileManager.default.fileExists(atPath: "\(checkpoints.directory)/\($0)/MANIFEST.json") }
            if completed.count >= 2 { break }
        }
        first.cancel()
        _ = await first.result
        #expect(completed.count >= 2)
        #expect(firstRead.count < Self.readings.count)

        // Second run: restores the newest checkpoint, rewinds the file, and finishes.
        let secondRead = ReadCounter()
        try await Self.build(input: input, table: table, read: secondRead, slow: false).run(checkpoints: checkpoints)
        let reread = secondRead.count
        #expect(reread > 0 && reread < Self.readings.count)
        #expect(table.snapshot == expected.snapshot)
        #expect(expected.snapshot.count > 50)
    }

    @Test func aCorruptOrIncompleteCheckpointFallsBackToThePreviousOneAndSaysWhy() async throws {
        let directory = TemporaryDirectory()
        let input = try Self.writeInput(directory)
        let root = directory.path + "/state"
        let checkpoints = CheckpointConfiguration(directory: root, interval: .milliseconds(15), retain: 10)
        let stopped = Task {
            try await Self.build(input: input, table: UpsertTable(), read: ReadCounter(), slow: true).run(
                checkpoints: checkpoints
            )
        }
        var complete: [String] = []
        for _ in 0..<400 {
            try await Task.sleep(for: .milliseconds(10))
            complete = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
                .filter { FileManager.default.fileExists(atPath: "\(root)/\($0)/MANIFEST.json") }
            if complete.count >= 4 { break }
        }
        stopped.cancel()
        _ = await stopped.result
        try #require(complete.count >= 4)
        let newest = complete.suffix(3)
        // Newest: a truncated state file. Next: one flipped byte. Next: no manifest.
        let truncated = "\(root)/\(newest[newest.startIndex + 2])/minutes-0.state"
        let original = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: truncated))
        let flipped = "\(root)/\(newest[newest.startIndex + 1])/event-time-0.state"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: flipped))
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: flipped))
        try FileManager.default.removeItem(atPath: "\(root)/\(newest[newest.startIndex])/MANIFEST.json")

        let logs = LogCollector()
        let table = UpsertTable()
        try await Self.build(input: input, table: table, read: ReadCounter(), slow: false, logger: logs.makeLogger())
            .run(checkpoints: checkpoints)
        let messages = logs.messages.withLock { $0 }
        #expect(messages.contains { $0.contains("truncated") })
        #expect(messages.contains { $0.contains("checksum does not match") })
        #expect(messages.contains { $0.contains("has no manifest") })
        let fallback = String(complete[complete.count - 4].dropFirst(4))
        #expect(messages.contains { $0.contains("restoring from checkpoint") && $0.contains(String(Int64(fallback)!)) })

        let expected = UpsertTable()
        try await Self.build(input: input, table: expected, read: ReadCounter(), slow: false).run()
        for (key, value) in expected.snapshot where key.hasPrefix("window") {
            // Windows that fired before the restored checkpoint were emitted by the stopped run,
            // whose table this test did not keep; every later one must match.
            if let restoredValue = table.snapshot[key] { #expect(restoredValue == value) }
        }
    }

    @Test func aCheckpointThatNoLongerFitsTheGraphFailsNamingTheOperator() async throws {
        let directory = TemporaryDirectory()
        let input = try Self.writeInput(directory)
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .milliseconds(10))
        try await Self.build(input: input, table: UpsertTable(), read: ReadCounter(), slow: true).run(
            checkpoints: checkpoints
        )

        let renamed = Pipeline("checkpointed", configuration: PipelineConfiguration(workers: 1))
        renamed.source(JSONLinesSource<Reading>(path: input), name: "readings")
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)), name: "minute-windows")
            .aggregate(Count())
            .sink(CollectingSink(), name: "minute-rows")
        let error = try await #require(throws: StreamKitError.self) { try await renamed.run(checkpoints: checkpoints) }
        #expect(error.code == .checkpoint)
        #expect(error.message.contains("operator 'minutes'") || error.message.contains("operator 'period-"))
        #expect(error.message.contains("give the operator its old name again"))
    }
}

@Suite struct GracefulStopTests {
    @Test func aStoppedRunTakesAFinalCheckpointAndTheRestartLosesAndRepeatsNothing() async throws {
        let directory = TemporaryDirectory()
        let input = try CheckpointTests.writeInput(directory)
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .seconds(3600))

        let expected = UpsertTable()
        try await CheckpointTests.build(input: input, table: expected, read: ReadCounter(), slow: false).run()

        let table = UpsertTable()
        let firstRead = ReadCounter()
        let first = CheckpointTests.build(input: input, table: table, read: firstRead, slow: true)
        try await runAndStop(first, checkpoints: checkpoints, afterReading: 500, counted: firstRead)
        let stoppedAt = firstRead.count
        #expect(stoppedAt > 0 && stoppedAt < CheckpointTests.readings.count)
        // The only checkpoint is the stop's: the interval is an hour.
        let checkpointDirectories = try FileManager.default.contentsOfDirectory(atPath: checkpoints.directory)
            .filter { $0.hasPrefix("chk-") }
        #expect(checkpointDirectories.count == 1)

        let secondRead = ReadCounter()
        try await CheckpointTests.build(input: input, table: table, read: secondRead, slow: false)
            .run(checkpoints: checkpoints)
        #expect(stoppedAt + secondRead.count == CheckpointTests.readings.count)
        #expect(table.snapshot == expected.snapshot)

        // The input is exhausted: a third start has nothing to do, unless it starts fresh.
        let thirdRead = ReadCounter()
        try await CheckpointTests.build(input: input, table: UpsertTable(), read: thirdRead, slow: false)
            .run(checkpoints: checkpoints)
        #expect(thirdRead.count == 0)
        let freshRead = ReadCounter()
        var fresh = checkpoints
        fresh.fresh = true
        try await CheckpointTests.build(input: input, table: UpsertTable(), read: freshRead, slow: false)
            .run(checkpoints: fresh)
        #expect(freshRead.count == CheckpointTests.readings.count)
    }

    @Test func onlyTheLastCheckpointsAreKept() async throws {
        let directory = TemporaryDirectory()
        let input = try CheckpointTests.writeInput(directory)
        let checkpoints = CheckpointConfiguration(
            directory: directory.path + "/state",
            interval: .milliseconds(5),
            retain: 2
        )
        try await CheckpointTests.build(input: input, table: UpsertTable(), read: ReadCounter(), slow: true)
            .run(checkpoints: checkpoints)
        let complete = try FileManager.default.contentsOfDirectory(atPath: checkpoints.directory)
            .filter { FileManager.default.fileExists(atPath: "\(checkpoints.directory)/\($0)/MANIFEST.json") }
        #expect(complete.count == 2)
    }

    @Test func theRollingFileSinkShowsOnlyCommittedFilesAndEveryLineOnce() async throws {
        let directory = TemporaryDirectory()
        let input = try CheckpointTests.writeInput(directory)
        let archive = directory.path + "/archive"
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .milliseconds(40))
        func build(slow: Bool) -> Pipeline {
            let pipeline = Pipeline("archive", configuration: PipelineConfiguration(workers: 1, batchSize: 50))
            pipeline.source(JSONLinesSource<Reading>(path: input), name: "readings")
                .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
                .map(name: "pace") { reading in
                    // 12 s for the input: the stop comes long before the end, even on a busy machine.
                    if slow { usleep(2_000) }
                    return reading
                }
                .sink(
                    RollingFileSink<Reading>(directory: archive, partitioning: .none, maximumFileSize: 20_000),
                    name: "archive"
                )
            return pipeline
        }
        func visibleLines() throws -> (lines: Int, unfinished: Int) {
            let names = try FileManager.default.contentsOfDirectory(atPath: archive)
            var lines = 0
            for name in names where name.hasSuffix(".jsonl") {
                lines += try String(contentsOfFile: "\(archive)/\(name)", encoding: .utf8).split(separator: "\n").count
            }
            return (lines, names.filter { !$0.hasSuffix(".jsonl") }.count)
        }
        let first = build(slow: true)
        let run = Task { try await first.run(checkpoints: checkpoints) }
        // Stop once the sink has written its first files (the machine may be busy: wait for that,
        // not for a time).
        for _ in 0..<1000 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []
            if names.count >= 2 { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        first.stop()
        try await run.value
        let afterStop = try visibleLines()
        #expect(afterStop.lines > 0 && afterStop.lines < CheckpointTests.readings.count)

        try await build(slow: false).run(checkpoints: checkpoints)
        let afterRestart = try visibleLines()
        #expect(afterRestart.lines == CheckpointTests.readings.count)
        #expect(afterRestart.unfinished == 0)
    }
}

@Suite struct RawWindowStateTests {
    /// Integer keys and plain accumulators take the raw-memory path of window snapshots.
    static func build(input: String, table: UpsertTable, read: ReadCounter, slow: Bool) -> Pipeline {
        let pipeline = Pipeline("raw-state", configuration: PipelineConfiguration(workers: 2, batchSize: 50))
        pipeline.source(JSONLinesSource<Reading>(path: input), name: "readings")
            .map(name: "count-read") { reading in
                read.add()
                if slow { usleep(50) }
                return reading
            }
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
            .key(by: { Int($0.sensor.dropFirst())! })
            .window(.tumbling(.minutes(1)), name: "minutes")
            .aggregate(Count(), Mean { $0.value }, Max { $0.value })
            .forEach(name: "rows") { row in
                table.upsert("\(row.key) \(row.window.start)", "\(row.value.0) \(row.value.1) \(row.value.2)")
            }
        return pipeline
    }

    @Test func integerKeyedWindowsResumeFromRawSnapshots() async throws {
        let directory = TemporaryDirectory()
        let input = try CheckpointTests.writeInput(directory)
        let expected = UpsertTable()
        try await Self.build(input: input, table: expected, read: ReadCounter(), slow: false).run()

        let table = UpsertTable()
        let firstRead = ReadCounter()
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .seconds(3600))
        let first = Self.build(input: input, table: table, read: firstRead, slow: true)
        try await runAndStop(first, checkpoints: checkpoints, afterReading: 1000, counted: firstRead)
        #expect(firstRead.count < CheckpointTests.readings.count)

        try await Self.build(input: input, table: table, read: ReadCounter(), slow: false).run(checkpoints: checkpoints)
        #expect(table.snapshot == expected.snapshot)
        #expect(expected.snapshot.count > 50)
    }
}

/// A stop requested after every source has reached the end of its input: the run did not stop
/// early, so it is marked finished, and a later start does not resume from an older checkpoint and
/// write its results again.
@Suite struct StopAfterTheEndTests {
    /// A sink whose `finish` waits until the test lets it go.
    struct HeldSink: Sink {
        let reached = ReadCounter()
        let release = ReadCounter()
        let written = ReadCounter()

        func makeWriter(context: SinkContext) async throws -> Writer { Writer(sink: self) }

        final class Writer: SinkWriter {
            let sink: HeldSink
            init(sink: HeldSink) { self.sink = sink }
            func write(_ batch: Batch<Reading>) async throws { sink.written.add(batch.count) }
            func finish() async throws {
                sink.reached.add()
                while sink.release.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aStopRequestedAfterTheInputEndedStillMarksTheRunFinished() async throws {
        let directory = TemporaryDirectory()
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .milliseconds(10))
        let readings = (0..<500).map { reading("s\($0 % 5)", Double($0)) }
        let sink = HeldSink()
        let pipeline = Pipeline("stop-after-end", configuration: PipelineConfiguration(workers: 1))
        pipeline.source(readings, name: "readings").sink(sink, name: "held")
        let run = Task { try await pipeline.run(checkpoints: checkpoints) }
        while sink.reached.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
        // Every reading is through; the stop comes while the run is finishing.
        pipeline.stop()
        sink.release.add()
        try await run.value
        #expect(sink.written.count == 500)
        #expect(FileManager.default.fileExists(atPath: checkpoints.directory + "/FINISHED"))

        let again = HeldSink()
        again.release.add()
        let second = Pipeline("stop-after-end", configuration: PipelineConfiguration(workers: 1))
        second.source(readings, name: "readings").sink(again, name: "held")
        try await second.run(checkpoints: checkpoints)
        #expect(again.written.count == 0)
    }
}
