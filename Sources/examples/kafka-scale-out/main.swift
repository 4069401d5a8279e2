// kafka-scale-out: one-minute sums per key over a Kafka topic, shared by every copy of this program
// in the same consumer group. Each process runs a pipeline copy per partition it is assigned, with
// checkpoints in a shared directory, and writes each partition's minute sums to
// <output>/<topic>-<partition>.csv (an upsert file committed on checkpoints).
//
//   kafka-scale-out <bootstrap-servers> <topic> <group> <checkpoint-directory> <output-directory>
//
// Records are text values `key,epoch-seconds,value`. Start it twice with the same arguments: the
// two processes split the partitions; kill one and the other takes its partitions over from their
// last checkpoints. See docs/scaling-out.md.
import Foundation
import StreamKit
import StreamKitKafka

let usage = """
    usage: kafka-scale-out <bootstrap-servers> <topic> <group> <checkpoints> <output>
    Minute sums per key of `key,epoch-seconds,value` records, shared by the copies of this program in
    one consumer group; rejected records and records too late for their minute are printed with the
    prefixes `rejected: ` and `late: `.

    """
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(usage, terminator: "")
    exit(0)
}
guard arguments.count == 5 else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(2)
}
StandardOutput.writeLineByLine()
let (servers, topic, group, checkpoints, output) = (
    arguments[0], arguments[1], arguments[2], arguments[3], arguments[4]
)

/// One record of the topic.
struct Event: Sendable {
    var key: String
    var time: Timestamp
    var value: Int

    struct Malformed: Error, CustomStringConvertible {
        var text: String
        var description: String { "expected key,epoch-seconds,value, got '\(text)'" }
    }

    init(_ record: KafkaRecord) throws {
        let text = String(decoding: record.value ?? [], as: UTF8.self)
        let fields = text.split(separator: ",")
        guard fields.count == 3, let seconds = Int64(fields[1]), let value = Int(fields[2]) else {
            throw Malformed(text: text)
        }
        key = String(fields[0])
        time = Timestamp(seconds: seconds)
        self.value = value
    }
}

var kafka = KafkaConfiguration(bootstrapServers: servers)
// A dead process's partitions move after this long without a heartbeat.
kafka.properties["session.timeout.ms"] = ProcessInfo.processInfo.environment["SESSION_TIMEOUT_MS"] ?? "6000"
let group_ = KafkaPartitionedPipelines(
    kafka,
    topic: topic,
    groupID: group,
    checkpointDirectory: checkpoints,
    checkpointInterval: .milliseconds(500)
) { pipeline, records, partition in
    let events = records.tryMap(name: "parse") { try Event($0) }
    events.errors.sink(PrintSink(prefix: "rejected: "), name: "rejected")
    let minutes =
        events
        .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
        .key(by: { $0.key })
        .window(.tumbling(.minutes(1)))
    // A record whose minute has closed is in no sum: it is reported, never dropped silently.
    minutes.late.sink(PrintSink { "late: \($0.key),\($0.time.microseconds / 1_000_000),\($0.value)" }, name: "late")
    minutes
        .aggregate(Count(), Sum { $0.value })
        .sink(
            UpsertFileSink(
                path: "\(output)/\(partition.topic)-\(partition.partition).csv",
                key: { "\($0.key) \($0.window.start.microseconds)" },
                line: { "\($0.key),\($0.window.start.microseconds / 1_000_000),\($0.value.0),\($0.value.1)" }
            ),
            name: "minute-sums"
        )
}
Pipeline.onTermination { group_.stop() }
print("kafka-scale-out: group \(group) on \(topic), checkpoints in \(checkpoints)")
try await group_.run()
print("kafka-scale-out: stopped")
