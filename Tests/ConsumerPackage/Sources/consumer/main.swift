// The first pipeline of the README, compiled against StreamKit as a dependency.
import Foundation
import StreamKit

struct Reading: Sendable {
    var sensor: String
    var time: Timestamp
    var value: Double
}

let readings = (0..<180).map { Reading(sensor: "s\($0 % 3)", time: Timestamp(seconds: Int64($0)), value: Double($0)) }
let pipeline = Pipeline("first-pipeline")
let means = CollectingSink<WindowResult<String, (Int, Double)>>()
pipeline.source(readings)
    .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
    .key(by: { $0.sensor })
    .window(.tumbling(.minutes(1)))
    .aggregate(Count(), Mean { $0.value })
    .sink(means)
try await pipeline.run()

let rows = means.elements
guard rows.count == 9, rows.allSatisfy({ $0.value.0 == 20 }) else {
    fatalError("expected 9 windows of 20 readings, got \(rows)")
}
print("consumer: \(rows.count) windows, as expected")

// The same readings from a CSV file, read with the row closure (the documented fastest path), with
// a bad row that must reach the error output with its line and a reason naming the column.

let csvPath = NSTemporaryDirectory() + "consumer-readings-\(getpid()).csv"
let csvText =
    "sensor,time,value\n" + readings.map { "\($0.sensor),\($0.time.iso8601),\($0.value)" }.joined(separator: "\n")
    + "\ns0,2024-01-01T00:00:00Z,n/a\n"
try csvText.write(toFile: csvPath, atomically: true, encoding: .utf8)
defer { try? FileManager.default.removeItem(atPath: csvPath) }
let csvPipeline = Pipeline("csv-pipeline")
let csvMeans = CollectingSink<WindowResult<String, (Int, Double)>>()
let csvRejected = CollectingSink<ErrorRecord>()
let csvReadings = csvPipeline.source(
    CSVSource(path: csvPath) { row in
        Reading(sensor: row.string(0), time: try row.timestamp(1), value: try row.double(row.column("value")!))
    }
)
csvReadings.errors.sink(csvRejected)
csvReadings
    .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
    .key(by: { $0.sensor })
    .window(.tumbling(.minutes(1)))
    .aggregate(Count(), Mean { $0.value })
    .sink(csvMeans)
try await csvPipeline.run()
guard csvMeans.elements.count == 9, csvRejected.elements.map(\.line) == [182],
    csvRejected.elements.first?.reason == "column 3 'value': expected a finite number, found 'n/a'"
else {
    fatalError("CSV: expected 9 windows and line 182 rejected, got \(csvMeans.elements.count), \(csvRejected.elements)")
}
print("consumer: the CSV file gives the same \(csvMeans.elements.count) windows; line 182 rejected")
