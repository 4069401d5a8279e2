// crash-recovery: the checkpointed pipeline that the crash test kills and restarts.
//
//   readings.jsonl ─▶ event time (5 s bound) ─▶ key by sensor ─▶ 1-minute windows ─▶ upsert file
//
// Usage: crash-recovery <input.jsonl> <output.csv> <checkpoint directory> [--slow] [--fresh] [--print]
// With --slow the sink waits a little per batch, so that a run lasts long enough to be killed at
// many points. The output file holds one line per sensor and minute: sensor,start,count,sum.
// With --print every reading is also printed to standard output as `sensor time value`.

import Foundation
import StreamKit

struct Reading: Codable, Sendable {
    var sensor: String
    var time: Timestamp
    var value: Double
}

let arguments = CommandLine.arguments
let usage = "usage: crash-recovery <input.jsonl> <output.csv> <checkpoint directory> [--slow] [--fresh] [--print]"
if arguments.contains("--help") || arguments.contains("-h") {
    print(usage)
    exit(0)
}
guard arguments.count >= 4 else {
    print(usage)
    exit(2)
}
let (input, output, state) = (arguments[1], arguments[2], arguments[3])
let slow = arguments.contains("--slow")

let pipeline = Pipeline("crash-recovery", configuration: PipelineConfiguration(workers: 2, batchSize: 64))
let paced = pipeline.source(JSONLinesSource<Reading>(path: input), name: "readings")
    .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
    .map(name: "pace") { reading in
        if slow { usleep(200) }
        return reading
    }
if arguments.contains("--print") {
    paced.sink(PrintSink { "\($0.sensor) \($0.time.microseconds) \($0.value)" }, name: "printed")
}
paced
    .key(by: { $0.sensor })
    .window(.tumbling(.minutes(1)), name: "minutes")
    .aggregate(Count(), Sum { $0.value })
    .sink(
        UpsertFileSink(path: output, key: { "\($0.key) \($0.window.start.microseconds)" }) {
            "\($0.key),\($0.window.start),\($0.value.0),\($0.value.1)"
        },
        name: "minute-table"
    )
// SIGTERM and Ctrl-C stop the pipeline with a final checkpoint; SIGKILL cannot be caught.
pipeline.stopOnTermination()
do {
    try await pipeline.run(
        checkpoints: CheckpointConfiguration(
            directory: state,
            interval: .milliseconds(150),
            fresh: arguments.contains("--fresh")
        )
    )
} catch {
    // What went wrong and what to change, rather than a crash report.
    FileHandle.standardError.write(Data("crash-recovery: \(error)\n".utf8))
    exit(1)
}
