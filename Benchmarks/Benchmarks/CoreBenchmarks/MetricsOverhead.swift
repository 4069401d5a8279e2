import Benchmark
import CoreMetrics
import Prometheus
import Synchronization

/// The canonical windowed workload with StreamKit's metrics reported to Prometheus, and with them
/// off, in one process: swift-metrics is bootstrapped once with ``SwitchableMetricsFactory``, which
/// hands out Prometheus handlers while ``SwitchableMetricsFactory/isOn`` is set and no-op handlers
/// otherwise. Operators make their handlers when a pipeline is built, so each iteration (a new
/// pipeline) runs in the mode set by its benchmark.
func metricsOverheadBenchmarks() {
    SwitchableMetricsFactory.install()
    workloadBenchmark("Windows engine workers=1 metrics off", reference: { Workload.windowReference }) {
        SwitchableMetricsFactory.isOn.store(false, ordering: .relaxed)
        return try await Engine.windows(Workload.events, workers: 1)
    }
    workloadBenchmark("Windows engine workers=1 metrics on (Prometheus)", reference: { Workload.windowReference }) {
        SwitchableMetricsFactory.isOn.store(true, ordering: .relaxed)
        defer { SwitchableMetricsFactory.isOn.store(false, ordering: .relaxed) }
        return try await Engine.windows(Workload.events, workers: 1)
    }
    workloadBenchmark("Windows engine workers=2 metrics off", reference: { Workload.windowReference }) {
        SwitchableMetricsFactory.isOn.store(false, ordering: .relaxed)
        return try await Engine.windows(Workload.events, workers: 2)
    }
    workloadBenchmark("Windows engine workers=2 metrics on (Prometheus)", reference: { Workload.windowReference }) {
        SwitchableMetricsFactory.isOn.store(true, ordering: .relaxed)
        defer { SwitchableMetricsFactory.isOn.store(false, ordering: .relaxed) }
        return try await Engine.windows(Workload.events, workers: 2)
    }
}

/// A swift-metrics backend that is Prometheus while ``isOn`` is set, and no-op otherwise.
struct SwitchableMetricsFactory: MetricsFactory {
    /// Whether handlers made now report to Prometheus.
    static let isOn = Atomic(false)
    private static let installed = Mutex(false)
    let prometheus = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())

    /// Bootstraps swift-metrics with this factory (once).
    static func install() {
        let first = installed.withLock { installed -> Bool in
            defer { installed = true }
            return !installed
        }
        if first { MetricsSystem.bootstrap(SwitchableMetricsFactory()) }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Self.isOn.load(ordering: .relaxed)
            ? prometheus.makeCounter(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        Self.isOn.load(ordering: .relaxed)
            ? prometheus.makeFloatingPointCounter(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Self.isOn.load(ordering: .relaxed)
            ? prometheus.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
            : NOOPMetricsHandler.instance
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        Self.isOn.load(ordering: .relaxed)
            ? prometheus.makeMeter(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Self.isOn.load(ordering: .relaxed)
            ? prometheus.makeTimer(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
