import Foundation
import StreamKit

/// A sensor reading, the element type most tests use.
struct Reading: Codable, Sendable, Hashable {
    var sensor: String
    var time: Timestamp
    var value: Double
}

/// A timestamp `seconds` after the epoch.
func at(_ seconds: Double) -> Timestamp {
    Timestamp(microseconds: Int64((seconds * 1_000_000).rounded()))
}

/// A reading of sensor `sensor` at `seconds` with `value`.
func reading(_ sensor: String, _ seconds: Double, _ value: Double = 1) -> Reading {
    Reading(sensor: sensor, time: at(seconds), value: value)
}

/// One window result reduced to comparable values.
struct Row: Hashable, CustomStringConvertible, Comparable {
    var key: String
    var start: Double
    var end: Double
    var count: Int
    var sum: Double

    init(_ key: String, _ start: Double, _ end: Double, count: Int, sum: Double) {
        self.key = key
        self.start = start
        self.end = end
        self.count = count
        self.sum = sum
    }

    init(_ result: WindowResult<String, (Int, Double)>) {
        key = result.key
        start = Double(result.window.start.microseconds) / 1_000_000
        end = Double(result.window.end.microseconds) / 1_000_000
        count = result.value.0
        sum = result.value.1
    }

    var description: String { "\(key) [\(start), \(end)) count \(count) sum \(sum)" }

    static func < (lhs: Row, rhs: Row) -> Bool {
        (lhs.key, lhs.start, lhs.end, lhs.count) < (rhs.key, rhs.start, rhs.end, rhs.count)
    }
}

/// Runs readings through event time, key by sensor, a window with count and sum, and returns the
/// rows in arrival order and the late readings.
func windowRows(
    _ readings: [Reading],
    window: WindowSpec = .tumbling(.minutes(1)),
    bound: Duration = .zero,
    allowedLateness: Duration = .zero,
    workers: Int = 1,
    batchSize: Int = 4096
) async throws -> (rows: [Row], late: [Reading]) {
    let pipeline = Pipeline(
        "test",
        configuration: PipelineConfiguration(workers: workers, batchSize: batchSize)
    )
    let results = CollectingSink<WindowResult<String, (Int, Double)>>()
    let late = CollectingSink<Reading>()
    let windowed = pipeline.source(readings)
        .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(bound))
        .key(by: { $0.sensor })
        .window(window, allowedLateness: allowedLateness)
    windowed.late.sink(late)
    windowed.aggregate(Count(), Sum { $0.value }).sink(results)
    try await pipeline.run()
    return (results.elements.map(Row.init), late.elements)
}

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "streamkit-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) -> String {
        let file = "\(path)/\(name)"
        _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        return file
    }
}

/// Runs `pipeline` with `checkpoints` until `counter` has counted `count` elements, then stops it
/// gracefully and waits for its final checkpoint. It waits for reading, not for a time, since the
/// machine may be busy; after 1,000 polls 5 ms apart it stops whatever was read.
func runAndStop(
    _ pipeline: Pipeline,
    checkpoints: CheckpointConfiguration,
    afterReading count: Int,
    counted counter: ReadCounter
) async throws {
    let run = Task { try await pipeline.run(checkpoints: checkpoints) }
    for _ in 0..<1000 where counter.count < count { try await Task.sleep(for: .milliseconds(5)) }
    pipeline.stop()
    try await run.value
}

/// Runs a pipeline of `source` alone to the end of its input; returns its elements and the records
/// of its error output.
func readToEnd<S: Source>(_ source: S, batchSize: Int = 4096) async throws -> (
    elements: [S.Element], errors: [ErrorRecord]
) {
    let pipeline = Pipeline("read-to-end", configuration: PipelineConfiguration(batchSize: batchSize))
    let elements = CollectingSink<S.Element>()
    let errors = CollectingSink<ErrorRecord>()
    let stream = pipeline.source(source, name: "input")
    stream.sink(elements)
    stream.errors.sink(errors)
    try await pipeline.run()
    return (elements.elements, errors.elements)
}
