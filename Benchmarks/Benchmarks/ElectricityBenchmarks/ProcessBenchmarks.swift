import Benchmark
import Foundation

/// What a user runs, whole processes against whole processes: `electricity-flows batch` on the
/// flows file against a pandas script doing the same daily, weekly and monthly totals
/// (`Benchmarks/scripts/electricity-totals.py`), each started, run and waited for in the same
/// iteration. The ratio is pandas' wall-clock time divided by StreamKit's: 200 means StreamKit
/// takes half of pandas' time.
///
/// Needs the release binary (`swift build -c release --product electricity-flows` in the StreamKit
/// checkout) and `python3` with pandas (`pip install pandas`); without them the benchmark fails
/// with a message that says which is missing.
enum ProcessBenchmarks {
    /// The StreamKit checkout: four folders up from this file.
    static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = checkout.appendingPathComponent(".build/release/electricity-flows").path
    static let script = checkout.appendingPathComponent("Benchmarks/scripts/electricity-totals.py").path

    /// pandas' time divided by StreamKit's, in hundredths.
    static let speedRatio = BenchmarkMetric.custom(
        "speed ratio (%)",
        polarity: .prefersLarger,
        useScalingFactor: false
    )

    static func register() {
        var configuration = Benchmark.defaultConfiguration
        configuration.metrics = [speedRatio, .wallClock]
        configuration.maxIterations = 15
        configuration.maxDuration = .seconds(120)
        Benchmark("Electricity batch process vs pandas process (paired)", configuration: configuration) { benchmark in
            let output = NSTemporaryDirectory() + "electricity-process-benchmark"
            let clock = ContinuousClock()
            let start = clock.now
            try run("/usr/bin/env", ["python3", script, FlowsFile.path, output + "/pandas"])
            let middle = clock.now
            try run(binary, ["batch", FlowsFile.path, "--out", output + "/streamkit"])
            let end = clock.now
            benchmark.stopMeasurement()
            benchmark.measurement(
                speedRatio,
                Int((start.duration(to: middle) / middle.duration(to: end) * 100).rounded())
            )
            let days = try String(contentsOfFile: output + "/streamkit/days.csv", encoding: .utf8)
            let pandasDays = try String(contentsOfFile: output + "/pandas/days.csv", encoding: .utf8)
            if days.split(separator: "\n").count != pandasDays.split(separator: "\n").count {
                benchmark.error("StreamKit and pandas wrote a different number of days")
            }
        } setup: {
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw BenchmarkSetupError(
                    "no \(binary): build it with `swift build -c release --product electricity-flows`"
                )
            }
            _ = FlowsFile.path
        }
    }

    /// Runs a process to its end, its output discarded.
    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkSetupError(
                "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)"
                    + " (is pandas installed? `pip install pandas`)"
            )
        }
    }
}

/// A benchmark that cannot run, and why.
struct BenchmarkSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
