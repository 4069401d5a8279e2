// The first pipeline of the README, compiled against StreamKit as a dependency.
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
