import Foundation

/// A task executor that runs its jobs on one thread of its own.
///
/// Benchmark's runner (`BenchmarkRunner.run()`, a nonisolated async function, so on the global
/// concurrent executor) runs each async benchmark with `Benchmark.runAsync()`, which blocks its
/// thread in `DispatchSemaphore.wait()` until the benchmark's `Task` is done. That takes one of the
/// global executor's threads (as many as there are cores) away from the benchmark for the whole
/// run. Each benchmark executable therefore starts its runner on a `RunnerThread`:
///
/// ```swift
/// extension BenchmarkRunner {
///     static func main() async {
///         await withTaskExecutorPreference(RunnerThread()) {
///             await Benchmark::BenchmarkRunner.setupBenchmarkRunner(registerBenchmarks: registerBenchmarks)
///         }
///     }
/// }
/// ```
///
/// `@unchecked Sendable` is safe: `jobs` is only touched with `condition` locked.
public final class RunnerThread: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    /// Starts the thread.
    public init() {
        Thread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }.start()
    }

    /// Queues a job for the thread.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }
}
