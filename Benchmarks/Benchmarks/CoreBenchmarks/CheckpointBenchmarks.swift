import Benchmark
import Foundation
import StreamKit

/// Snapshot and restore of window state with one million keys.
///
/// The input puts one reading for each of a million sensors into the first minute. The setup runs
/// the pipeline once and stops it when every reading has been read: the stop's final checkpoint
/// then holds one open window with a million keys (`snapshotCheckpoint`). Each measured iteration
/// restores that checkpoint into a new pipeline and stops at once, which takes a new final
/// checkpoint: one restore and one snapshot of a million keys.
enum MillionKeys {
    static let keyCount = 1_000_000
    static let directory = NSTemporaryDirectory() + "streamkit-benchmark-million-keys"

    static let events: [Event] = (0..<keyCount).map {
        Event(sensor: $0, time: Timestamp(microseconds: Int64($0 % 60_000_000)), value: Double($0 % 100))
    }

    /// Builds the pipeline; `stopWhenRead` stops it once every reading has been read.
    static func pipeline(stopWhenRead: Bool) -> Pipeline {
        let pipeline = Pipeline("million-keys", configuration: PipelineConfiguration(workers: 1))
        let read = ReadCount()
        pipeline.source(CollectionSource(events), name: "readings")
            .map(name: "count") { event in
                if read.add() == keyCount && stopWhenRead { pipeline.stop() }
                return event
            }
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)), name: "minutes")
            .aggregate(Count(), Mean { $0.value })
            .sink(TallySink { _ in 1 }, name: "sink")
        return pipeline
    }

    /// Takes the checkpoint the iterations restore.
    static func prepare() async throws {
        try? FileManager.default.removeItem(atPath: directory)
        try await pipeline(stopWhenRead: true)
            .run(checkpoints: CheckpointConfiguration(directory: directory, interval: .seconds(3600)))
    }

    /// The total size of the newest checkpoint's state files, and its number of keys.
    static func checkpointSize() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard let newest = names.filter({ $0.hasPrefix("chk-") }).max() else { return 0 }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(newest)")) ?? []
        return files.filter { $0.hasSuffix(".state") }.reduce(0) { total, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(newest)/\(name)")[.size])
            return total + ((size as? Int) ?? 0)
        }
    }
}

/// Counts reads across the pipeline's tasks.
final class ReadCount: @unchecked Sendable {
    // `@unchecked Sendable` is safe: `value` is only touched with `lock` held.
    private let lock = NSLock()
    private var value = 0

    func add() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// The bytes of checkpointed window state per key.
let checkpointBytesPerKey = BenchmarkMetric.custom(
    "checkpoint bytes/key",
    polarity: .prefersSmaller,
    useScalingFactor: false
)

func checkpointBenchmarks() {
    Benchmark(
        "Checkpoint restore and snapshot of 1M window keys",
        configuration: .init(
            metrics: [.wallClock, .peakMemoryResident, checkpointBytesPerKey],
            maxDuration: .seconds(60),
            maxIterations: 3
        )
    ) { benchmark in
        // The pipeline stops before reading anything: it restores, then snapshots at once.
        let pipeline = MillionKeys.pipeline(stopWhenRead: false)
        pipeline.stop()
        try await pipeline.run(
            checkpoints: CheckpointConfiguration(directory: MillionKeys.directory, interval: .seconds(3600))
        )
        benchmark.stopMeasurement()
        benchmark.measurement(checkpointBytesPerKey, MillionKeys.checkpointSize() / MillionKeys.keyCount)
    } setup: {
        try await MillionKeys.prepare()
    }
}
