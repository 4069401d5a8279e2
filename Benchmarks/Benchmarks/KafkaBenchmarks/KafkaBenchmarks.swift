import Benchmark
import Foundation
import MQTTBenchmarkSupport
import StreamKit
import StreamKitKafka
import Synchronization

/// Kafka → decode → one-minute window, against kcat reading the same records in the same round.
///
/// The setup starts librdkafka's mock cluster (three brokers in this process, speaking the real
/// protocol on loopback ports) and produces ``KafkaWorkload/readingCount`` JSON readings to a topic
/// of ``KafkaWorkload/partitions`` partitions (the mock keeps a few megabytes per partition, so the
/// readings are spread), and counts with kcat what the topic holds (``KafkaWorkload/keptCount``:
/// the mock drops a few percent). Each iteration then reads them all twice, one right after the
/// other:
/// - `kcat -C -b <bootstrap> -t readings -e -q -o beginning > /dev/null`, librdkafka's own
///   command-line consumer: the reference;
/// - a StreamKit pipeline: `KafkaSource` (a new consumer group each time) → `FlatJSONDecoder` →
///   event time → key by sensor → one-minute tumbling count and mean → a sink that adds up the
///   counts, which must equal the number of readings the topic holds (checked in every iteration).
///
/// It records kcat's time divided by StreamKit's, in hundredths, twice: with StreamKit's time from
/// the start of the pipeline (connecting and joining the group, about 3 s on the mock cluster,
/// included) and from its first record (the join left out; kcat assigns partitions without a
/// group, so it has no join to leave out), and the ratio of kcat's whole run to StreamKit's first to
/// last record (the data path alone).
///
/// Run from this folder:
///
/// ```sh
/// swift package --allow-writing-to-package-directory benchmark --target KafkaBenchmarks
/// ```
let benchmarks: @Sendable () -> Void = {
    kafkaBenchmark("Kafka ratio kcat to StreamKit source-decode-window (paired)") { source in
        source.decoding(Reading.self, decoder: FlatJSONDecoder())
    }
    // The same with a hand-written parser of the three numbers in place of `FlatJSONDecoder`: what
    // the connector and the engine cost without the `Codable` machinery.
    kafkaBenchmark("Kafka ratio kcat to StreamKit source-parse-window, hand-written parser (paired)") { source in
        KafkaDecodingSource(source: source, decode: Reading.parse)
    }
}

/// Registers a paired benchmark whose StreamKit side reads the topic through `decoding`.
func kafkaBenchmark(
    _ name: String,
    decoding: @escaping @Sendable (KafkaSource) -> KafkaDecodingSource<Reading>
) {
    Benchmark(
        name,
        configuration: .init(
            metrics: [
                speedRatio, speedRatioAfterJoin, speedRatioRecords, streamKitRecordsPerSecond, kcatRecordsPerSecond,
                closingMilliseconds, recordsPerRead,
            ],
            timeUnits: .milliseconds,
            warmupIterations: 1,
            maxDuration: .seconds(300),
            maxIterations: 11
        )
    ) { benchmark in
        guard let cluster = KafkaWorkload.cluster.withLock({ $0 }) else {
            benchmark.error("no mock cluster")
            return
        }
        let kcat = try KafkaWorkload.kcat(cluster)
        let run = try await KafkaWorkload.streamKit(cluster, decoding: decoding)
        benchmark.stopMeasurement()
        let kept = KafkaWorkload.keptCount.withLock { $0 }
        guard run.counted == kept, run.rejected == 0 else {
            benchmark.error(
                "StreamKit counted \(run.counted) of \(kept) readings in its windows "
                    + "and rejected \(run.rejected)"
            )
            return
        }
        benchmark.measurement(speedRatio, Int((kcat / run.total * 100).rounded()))
        benchmark.measurement(speedRatioAfterJoin, Int((kcat / run.afterFirstRecord * 100).rounded()))
        benchmark.measurement(speedRatioRecords, Int((kcat / run.records * 100).rounded()))
        benchmark.measurement(streamKitRecordsPerSecond, rate(of: run.records))
        benchmark.measurement(closingMilliseconds, Int(run.closing / .milliseconds(1)))
        benchmark.measurement(recordsPerRead, kept / max(1, run.reads))
        benchmark.measurement(kcatRecordsPerSecond, rate(of: kcat))
    } setup: {
        let cluster = try await KafkaWorkload.makeCluster()
        KafkaWorkload.cluster.withLock { $0 = cluster }
    } teardown: {
        KafkaWorkload.cluster.withLock { $0 = nil }
    }
}

/// kcat's time divided by StreamKit's (connecting and the group join included), in hundredths.
let speedRatio = BenchmarkMetric.custom("speed ratio (%)", polarity: .prefersLarger, useScalingFactor: false)
/// kcat's time divided by StreamKit's from its first record, in hundredths.
let speedRatioAfterJoin = BenchmarkMetric.custom(
    "speed ratio after join (%)",
    polarity: .prefersLarger,
    useScalingFactor: false
)
/// kcat's time divided by StreamKit's from its first record to its last, in hundredths: the data
/// path alone, without the group join and without closing.
let speedRatioRecords = BenchmarkMetric.custom(
    "speed ratio first to last record (%)",
    polarity: .prefersLarger,
    useScalingFactor: false
)
/// From StreamKit's last record to the end of its pipeline: the last windows and leaving the group.
let closingMilliseconds = BenchmarkMetric.custom(
    "StreamKit closing (ms)",
    polarity: .prefersSmaller,
    useScalingFactor: false
)
/// The mean number of records a read of StreamKit's source returned.
let recordsPerRead = BenchmarkMetric.custom("records per read", polarity: .prefersLarger, useScalingFactor: false)
/// Readings per second through the StreamKit pipeline, from its first record to its last.
let streamKitRecordsPerSecond = BenchmarkMetric.custom(
    "StreamKit records/s",
    polarity: .prefersLarger,
    useScalingFactor: false
)
/// Readings per second through kcat.
let kcatRecordsPerSecond = BenchmarkMetric.custom("kcat records/s", polarity: .prefersLarger, useScalingFactor: false)

/// The topic's readings in `duration`, per second.
func rate(of duration: Duration) -> Int {
    Int((Double(KafkaWorkload.keptCount.withLock { $0 }) / (duration / .seconds(1))).rounded())
}
