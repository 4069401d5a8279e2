import Benchmark
import FileReference
import Foundation
import StreamKit
import Synchronization

/// StreamKit's file sources against a plain C loop over the same file: the canonical one-minute
/// window (count and mean per sensor, 5 s watermark bound) fed from CSV and JSON Lines files of the
/// core benchmarks' 10 million readings.
///
/// Each "paired" benchmark times the C loop (`fgets` + `strtol` + `strtod` and the same windowing,
/// `FileReference/file_reference.c`) and then the StreamKit pipeline in the same iteration, and
/// records the C loop's time divided by StreamKit's (`speed ratio (%)`: 50 means half the C loop's
/// speed). Every StreamKit run's window results are checked, bit for bit through their fingerprint,
/// against the C loop's; a difference fails the benchmark. The files are written once, outside
/// timing, to the temporary folder (about 1.3 GB for the three).
///
/// Run from the Benchmarks folder:
///
/// ```sh
/// swift package --allow-writing-to-package-directory benchmark --target FileBenchmarks
/// ```
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(300),
        maxIterations: 9
    )

    pairedBenchmark("CSV Decodable to window vs C loop (paired)", reference: FileWorkload.csv) {
        try await FilePipelines.windows(CSVSource<Reading>(path: FileWorkload.csv))
    }
    pairedBenchmark("CSV row closure to window vs C loop (paired)", reference: FileWorkload.csv) {
        try await FilePipelines.windows(
            CSVSource(path: FileWorkload.csv) { row in
                Reading(sensor: try row.int(0), time: try row.timestamp(1), value: try row.double(2))
            }
        )
    }
    pairedBenchmark("JSON Lines to window vs C CSV loop (paired)", reference: FileWorkload.csv) {
        try await FilePipelines.windows(JSONLinesSource<Reading>(path: FileWorkload.jsonLines))
    }
    pairedBenchmark("CSV 10% bad rows to window vs C loop (paired)", reference: FileWorkload.badCSV) {
        try await FilePipelines.windows(CSVSource<Reading>(path: FileWorkload.badCSV))
    }
    // The cost of bad rows: the clean file, then the same file with every tenth value replaced by
    // `n/a` (each bad row goes to the error output with its line and reason), in the same iteration.
    pairedBenchmark(
        "CSV 10% bad rows vs clean file, StreamKit both (paired)",
        reference: FileWorkload.badCSV,
        baseline: { _ = try await FilePipelines.windows(CSVSource<Reading>(path: FileWorkload.csv)) }
    ) {
        try await FilePipelines.windows(CSVSource<Reading>(path: FileWorkload.badCSV))
    }
    // The default plan (no worker count given) against one worker, behind one CSV source.
    pairedBenchmark(
        "CSV default workers vs 1 worker (paired)",
        reference: FileWorkload.csv,
        baseline: { _ = try await FilePipelines.windows(CSVSource<Reading>(path: FileWorkload.csv), workers: 1) }
    ) {
        try await FilePipelines.windows(CSVSource<Reading>(path: FileWorkload.csv), workers: nil)
    }
}

/// The speed of the measured side relative to the baseline, in hundredths: the baseline's
/// wall-clock time divided by the measured side's, both timed in the same iteration.
let speedRatio = BenchmarkMetric.custom("speed ratio (%)", polarity: .prefersLarger, useScalingFactor: false)

/// Registers a benchmark whose iterations time `baseline` (by default the C loop over `reference`)
/// and then `measured`, record ``speedRatio``, and check `measured`'s windows against the C loop's
/// over `reference` after timing.
func pairedBenchmark(
    _ name: String,
    reference: String,
    baseline: (@Sendable () async throws -> Void)? = nil,
    measured: @escaping @Sendable () async throws -> FileTally
) {
    var configuration = Benchmark.defaultConfiguration
    configuration.metrics.append(speedRatio)
    Benchmark(name, configuration: configuration) { benchmark in
        let clock = ContinuousClock()
        let start = clock.now
        if let baseline {
            try await baseline()
        } else {
            _ = fr_csv_windows(reference)
        }
        let middle = clock.now
        let result = try await measured()
        let end = clock.now
        benchmark.stopMeasurement()
        benchmark.measurement(speedRatio, Int((start.duration(to: middle) / middle.duration(to: end) * 100).rounded()))
        let expected = FileWorkload.references[reference]!
        if result.windows != Int(expected.windows) || result.fingerprint != expected.fingerprint
            || result.rejected != Int(expected.rejected)
        {
            benchmark.error(
                "\(name): \(result.windows) windows (fingerprint \(result.fingerprint)), \(result.rejected) rejected; "
                    + "the C loop: \(expected.windows) windows (fingerprint \(expected.fingerprint)), "
                    + "\(expected.rejected) rejected"
            )
        }
    } setup: {
        try FileWorkload.prepare()
        _ = FileWorkload.references
    }
}

/// What a file pipeline produced: its windows' count and fingerprint, and how many rows it rejected.
struct FileTally: Sendable {
    var windows = 0
    var fingerprint: UInt64 = 0
    var rejected = 0
}

/// The benchmarked pipelines.
enum FilePipelines {
    /// The canonical window over `source`, with the rejected rows counted from its error output.
    static func windows(_ source: some Source<Reading>, workers: Int? = 1) async throws -> FileTally {
        let pipeline = Pipeline("file-windows", configuration: PipelineConfiguration(workers: workers))
        let tally = Mutex(FileTally())
        let readings = pipeline.source(source)
        readings.errors.sink(CountingSink { count, _ in tally.withLock { $0.rejected += count } })
        readings
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
            .aggregate(Count(), Mean { $0.value })
            .sink(
                CountingSink { count, results in
                    var fingerprint: UInt64 = 0
                    for result in results {
                        fingerprint &+= fr_window_fingerprint(
                            Int64(result.key),
                            result.window.start.microseconds,
                            Int64(result.value.0),
                            result.value.1
                        )
                    }
                    tally.withLock {
                        $0.windows += count
                        $0.fingerprint &+= fingerprint
                    }
                }
            )
        try await pipeline.run()
        return tally.withLock { $0 }
    }
}

/// A sink that hands each batch to a closure, and keeps nothing.
struct CountingSink<Element: Sendable>: Sink {
    let body: @Sendable (Int, [Element]) -> Void

    init(_ body: @escaping @Sendable (Int, [Element]) -> Void) {
        self.body = body
    }

    func makeWriter(context: SinkContext) async throws -> Writer { Writer(body: body) }

    final class Writer: SinkWriter {
        let body: @Sendable (Int, [Element]) -> Void
        init(body: @escaping @Sendable (Int, [Element]) -> Void) { self.body = body }
        func write(_ batch: Batch<Element>) async throws { body(batch.elements.count, batch.elements) }
        func finish() async throws {}
    }
}
