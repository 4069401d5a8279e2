import Benchmark
import BenchmarkSupport

/// Runs the benchmark runner on a thread of its own, so that every core is left to the measured
/// code (see `RunnerThread`).
extension BenchmarkRunner {
    static func main() async {
        await withTaskExecutorPreference(RunnerThread()) {
            await Benchmark::BenchmarkRunner.setupBenchmarkRunner(registerBenchmarks: registerBenchmarks)
        }
    }
}
