import Benchmark
import Foundation
import IoTExample
import StreamKit
import StreamKitMQTT

/// The IoT example's whole graph, from a real mosquitto to the raw archive and the SQLite BI store:
/// how many readings per second it sustains end to end.
///
/// Each iteration starts a fresh pipeline on a fresh data directory, publishes `rounds` rounds of
/// readings from `sensors` synthetic sensors through mosquitto with QoS 0 or 1 as fast as the broker
/// takes them (the challenge's message shape, with 2% out of order, 0.2% late and 0.1% malformed),
/// and times from the first publication until every message is in the BI store (as a reading or a
/// malformed row; the minute means, quality rows and raw archive are written alongside).
///
/// The "CPU per reading" benchmarks (`cpuBenchmark`) run the same graph on a backlog waiting in
/// the broker, so that the generator is not in the measured process, with QoS 0 and 1 and with
/// and without the source's journal.
///
/// Run from this folder:
///
/// ```sh
/// swift package --allow-writing-to-package-directory benchmark --target IoTBenchmarks
/// ```
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [readingsPerSecond, .wallClock, .cpuTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 0,
        maxDuration: .seconds(180),
        maxIterations: 3
    )
    iotBenchmark(sensors: 1_000, rounds: 300, qos: .atMostOnce)
    iotBenchmark(sensors: 10_000, rounds: 30, qos: .atMostOnce)
    iotBenchmark(sensors: 1_000, rounds: 300, qos: .atLeastOnce)
    for qos in [MQTTQoS.atMostOnce, .atLeastOnce] {
        for journal in [false, true] {
            cpuBenchmark(sensors: 1_000, rounds: 300, qos: qos, journal: journal)
        }
    }
    for rate in [20, 35, 50, 75, 100] {
        latencyBenchmark(sensors: rate * 100, interval: .milliseconds(100), qos: .atMostOnce)
    }
}

/// Milliseconds from the earliest moment a minute can close (its end plus the 5 s watermark bound)
/// to its row in `minute_means`: the median and the 99th percentile over every sensor's minutes.
let latencyMedian = BenchmarkMetric.custom(
    "window latency p50 (ms)",
    polarity: .prefersSmaller,
    useScalingFactor: false
)
/// See ``latencyMedian``.
let latencyP99 = BenchmarkMetric.custom("window latency p99 (ms)", polarity: .prefersSmaller, useScalingFactor: false)

/// Readings in real time (event time = now) at `sensors / interval` per second for 75 s, so that a
/// minute closes while the pipeline runs at that rate.
func latencyBenchmark(sensors: Int, interval: Duration, qos: MQTTQoS) {
    let rate = Int(Double(sensors) / interval.seconds)
    Benchmark(
        "IoT window latency at \(rate / 1000) k readings/s, QoS \(qos.rawValue)",
        configuration: .init(
            metrics: [latencyMedian, latencyP99, .cpuTotal],
            timeUnits: .milliseconds,
            warmupIterations: 0,
            maxDuration: .seconds(200),
            maxIterations: 1
        )
    ) { benchmark in
        let rig = try await IoTRig(sensors: sensors, interval: interval)
        var generator = rig.generator
        generator.interval = interval
        generator.rounds = Int(75 / interval.seconds)
        await rig.publish(generator, qos: qos)
        try await Task.sleep(for: .seconds(2))
        try await rig.finish(keepingData: true)
        defer { rig.removeData() }

        let rows = try await rig.store.rows("SELECT minute, written_at FROM minute_means")
        var latencies: [Double] = []
        for row in rows {
            guard case .string(let minute) = row["minute"], case .string(let written) = row["written_at"],
                let start = try? Timestamp(iso8601: minute), let at = try? Timestamp(iso8601: written)
            else { continue }
            let closes = start + .seconds(60) + rig.options.watermarkBound
            latencies.append(Double(at.microseconds - closes.microseconds) / 1000)
        }
        guard latencies.count >= sensors else {
            benchmark.error("only \(latencies.count) minute rows for \(sensors) sensors")
            return
        }
        latencies.sort()
        let median = latencies[latencies.count / 2]
        let p99 = latencies[latencies.count * 99 / 100]
        benchmark.measurement(latencyMedian, Int(median.rounded()))
        benchmark.measurement(latencyP99, Int(p99.rounded()))
        print("window latency over \(latencies.count) minute rows: p50 \(Int(median)) ms, p99 \(Int(p99)) ms")
    }
}

/// Readings per second, from the first publication until every message is in the BI store.
let readingsPerSecond = BenchmarkMetric.custom("readings/s", polarity: .prefersLarger, useScalingFactor: false)

/// `rounds` rounds of `sensors` readings, published as fast as the broker takes them.
func iotBenchmark(sensors: Int, rounds: Int, qos: MQTTQoS) {
    let total = sensors * rounds
    Benchmark("IoT pipeline end to end, \(sensors) sensors × \(rounds) rounds, QoS \(qos.rawValue)") { benchmark in
        let rig = try await IoTRig(sensors: sensors)
        var generator = rig.generator
        generator.rounds = rounds
        generator.speed = 1_000_000  // no pacing: as fast as the broker takes them
        generator.start = try Timestamp(iso8601: "2024-01-01T00:00:00Z")
        let clock = ContinuousClock()
        let started = clock.now
        benchmark.startMeasurement()
        await rig.publish(generator, qos: qos)
        let deadline = clock.now + .seconds(120)
        while rig.source.statistics.current.messages < total {
            guard clock.now < deadline else {
                let received = rig.source.statistics.current.messages
                benchmark.error("the pipeline received \(received) of \(total) messages in two minutes")
                try await rig.finish()
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        // The pipeline has caught up when the BI store stops growing: every received message is a
        // reading or a malformed row (readings of one sensor at one instant count once).
        func stored() async throws -> Int64 {
            let rows = try await rig.store.rows(
                "SELECT (SELECT COUNT(*) FROM readings) + (SELECT COUNT(*) FROM malformed) AS n"
            )
            guard case .integer(let count) = rows.first?["n"] else { return 0 }
            return count
        }
        var last: Int64 = -1
        while true {
            let now = try await stored()
            if now == last && now >= Int64(total) * 99 / 100 { break }
            guard clock.now < deadline else {
                benchmark.error("the BI store holds \(now) rows for \(total) messages after two minutes")
                try await rig.finish()
                return
            }
            last = now
            try await Task.sleep(for: .milliseconds(20))
        }
        benchmark.stopMeasurement()
        benchmark.measurement(
            readingsPerSecond,
            Int((Double(total) / started.duration(to: clock.now).seconds).rounded())
        )
        try await rig.finish()
    }
}
