// sensor-minutes: the core of StreamKit in one small program.
//
// It writes a JSON Lines file of temperature readings the way the IoT challenge's sensors send
// them — some out of order, some late, a few malformed — and then runs one graph over it:
//
//   readings file ─▶ raw archive (Hive-partitioned JSONL)
//                 └▶ event time (5 s bound) ─▶ key by sensor ─▶ 1-minute windows ─▶ printed means
//                                                                               └▶ late readings
//   rejected lines ─▶ printed with file, line and reason
//
// Run it with `swift run sensor-minutes [directory]` (default: ./data/sensor-minutes). The
// directory must be new, empty, or one an earlier run of sensor-minutes wrote (it leaves a
// `.sensor-minutes` file there); only then are its earlier outputs replaced.

import Foundation
import StreamKit

/// One reading as the sensors publish it: `{"id": "Sensor 1", "dt": "2024-01-01T13:45:12.123456", "value": 21}`.
struct Reading: Codable, Sendable {
    var id: String
    var dt: Timestamp
    var value: Int
}

let usage = """
    usage: sensor-minutes [directory]

    Writes ten minutes of simulated sensor readings to <directory>/readings.jsonl, archives them under
    <directory>/raw and prints per-sensor one-minute means, late readings and rejected lines.
    The directory (default: data/sensor-minutes) must be new, empty, or written by an earlier run.
    """
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(usage)
    exit(0)
}
if arguments.count > 1 || arguments.first?.hasPrefix("-") == true {
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(2)
}
let directory = arguments.first ?? "data/sensor-minutes"
let marker = "\(directory)/.sensor-minutes"
let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
var isDirectory: ObjCBool = false
if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
    FileHandle.standardError.write(Data("sensor-minutes: '\(directory)' is a file: give a directory\n".utf8))
    exit(1)
}
if !existing.isEmpty && !FileManager.default.fileExists(atPath: marker) {
    FileHandle.standardError.write(
        Data(
            ("sensor-minutes: '\(directory)' is not empty and was not written by sensor-minutes; "
                + "give a new or empty directory\n").utf8
        )
    )
    exit(1)
}
// Only what an earlier run wrote is replaced.
for output in ["readings.jsonl", "raw"] { try? FileManager.default.removeItem(atPath: "\(directory)/\(output)") }
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
FileManager.default.createFile(atPath: marker, contents: Data("written by sensor-minutes\n".utf8))

// Ten minutes of readings from five sensors, one per second each, written as JSON Lines.
var lines: [String] = []
var random = SplitMix(seed: 2024)
let start = try Timestamp(iso8601: "2024-01-01T13:00:00")
for second in 0..<600 {
    for sensor in 1...5 {
        var time = start + .seconds(Int64(second))
        if random.next() % 20 == 0 { time = time - .seconds(Int64(random.next() % 5)) }  // out of order, within 5 s
        if random.next() % 500 == 0 { time = time - .seconds(90) }  // late: its minute has closed
        let value = 15 + Int(random.next() % 10) + sensor
        lines.append(#"{"id": "Sensor \#(sensor)", "dt": "\#(time.iso8601.dropLast())", "value": \#(value)}"#)
    }
    if second % 150 == 7 { lines.append(#"{"id": "Sensor 3", "dt": "not a time", "value": 1}"#) }
}
let input = "\(directory)/readings.jsonl"
try lines.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)

let pipeline = Pipeline("sensor-minutes")
let readings = pipeline.source(JSONLinesSource<Reading>(path: input), name: "readings")
readings.errors.sink(PrintSink(prefix: "rejected: "), name: "rejected")

let timed = readings.eventTime({ $0.dt }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
timed.sink(RollingFileSink<Reading>(directory: "\(directory)/raw", partitioning: .hourly), name: "raw-archive")

let minutes =
    timed
    .key(by: { $0.id })
    .window(.tumbling(.minutes(1)), name: "minute-window")
minutes.late.sink(PrintSink(prefix: "late: ") { "\($0.id) at \($0.dt)" }, name: "late")
minutes
    .aggregate(
        Count(),
        Mean { Double($0.value) },
        Min { $0.value },
        Max { $0.value },
        StandardDeviation { Double($0.value) }
    )
    .sink(
        PrintSink { result in
            let (count, mean, low, high, deviation) = result.value
            let minute = result.window.start.iso8601.dropFirst(11).prefix(5)
            return "\(minute) \(result.key): n=\(count) mean=\(String(format: "%.2f", mean)) "
                + "min=\(low) max=\(high) sd=\(String(format: "%.2f", deviation))"
        },
        name: "minute-means"
    )

print(pipeline.diagram(.mermaid))
do {
    try await pipeline.run()
} catch {
    // What went wrong and what to change, rather than a crash report.
    FileHandle.standardError.write(Data("sensor-minutes: \(error)\n".utf8))
    exit(1)
}
print("raw archive written under \(directory)/raw")

/// A small deterministic random number generator, so that every run writes the same file.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
