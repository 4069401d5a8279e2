import Benchmark
import Foundation
import IoTExample
import StreamKit
import StreamKitMQTT

/// The IoT example's whole graph, from a real mosquitto to the raw archive and the SQLite BI store:
/// how many readings per second it sustains end to end.
///
/// Each iteration starts a fresh pipeline on a fresh data directory, publishes `rounds` rounds of
/// readings from `sensors` synthetic sensors through mosquitto with QoS 1 as fast as the broker
/// takes them (the challenge's message shape, with 2% out of order, 0.2% late and 0.1% malformed),
/// and times from the first publication until every message is in the BI store (as a reading or a
/// malformed row; the minute means, quality rows and raw archive are written alongside).
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
    iotBenchmark(sensors: 1_000, rounds: 300)
    iotBenchmark(sensors: 10_000, rounds: 30)
    latencyBenchmark(sensors: 1_000, interval: .milliseconds(100))
    latencyBenchmark(sensors: 2_000, interval: .milliseconds(100))
}

/// Milliseconds from the earliest moment a minute can close (its end plus the 5 s watermark bound)
/// to its row in `minute_means`: the median and the 99th percentile over every sensor's minutes.
let latencyMedian = BenchmarkMetric.custom("window latency p50 (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let latencyP99 = BenchmarkMetric.custom("window latency p99 (ms)", polarity: .prefersSmaller, useScalingFactor: false)

/// Readings in real time (event time = now) at `sensors / interval` per second for 75 s, so that a
/// minute or two close while the pipeline runs at that rate.
func latencyBenchmark(sensors: Int, interval: Duration) {
    let rate = Int(Double(sensors) / (Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds)))
    Benchmark(
        "IoT window latency at \(rate / 1000) k readings/s",
        configuration: .init(
            metrics: [latencyMedian, latencyP99, .cpuTotal],
            timeUnits: .milliseconds,
            warmupIterations: 0,
            maxDuration: .seconds(200),
            maxIterations: 1
        )
    ) { benchmark in
        let directory = NSTemporaryDirectory() + "iot-latency-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try LocalMosquitto(directory: directory + "/mosquitto", persistence: false)
        defer { broker.stop() }
        let catalog = try SensorCatalog.bundled().extended(to: sensors)
        var options = IoTPipelineOptions(
            mqtt: MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "iot-latency"),
            dataDirectory: directory + "/data",
            catalog: catalog
        )
        options.printsMinutes = false
        options.expectedInterval = interval
        let store = try BIStore(path: options.databasePath)
        let source = MQTTSource(options.mqtt, topics: [options.topic], qos: .atLeastOnce)
        let pipeline = IoTPipeline.build(options: options, store: store, source: source)
        let run = Task { try await pipeline.run(checkpoints: .every(.seconds(5), in: options.checkpointDirectory)) }
        while !source.statistics.current.isSubscribed { try await Task.sleep(for: .milliseconds(10)) }

        var generator = ReadingGenerator(catalog: catalog)
        generator.interval = interval
        generator.rounds = Int(75 / (Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds)))
        await IoTRunner.publish(generator, mqtt: options.mqtt, topic: options.topic)
        try await Task.sleep(for: .seconds(2))
        pipeline.stop()
        try await run.value

        let rows = try await store.rows("SELECT minute, written_at FROM minute_means")
        var latencies: [Double] = []
        for row in rows {
            guard case .string(let minute) = row["minute"], case .string(let written) = row["written_at"],
                let start = try? Timestamp(iso8601: minute), let at = try? Timestamp(iso8601: written)
            else { continue }
            let closes = start + .seconds(60) + options.watermarkBound
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

/// Readings per second, from the first publication to the end of the pipeline's run.
let readingsPerSecond = BenchmarkMetric.custom("readings/s", polarity: .prefersLarger, useScalingFactor: false)

func iotBenchmark(sensors: Int, rounds: Int) {
    let total = sensors * rounds
    Benchmark("IoT pipeline end to end, \(sensors) sensors × \(rounds) rounds") { benchmark in
        let directory = NSTemporaryDirectory() + "iot-benchmark-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try LocalMosquitto(directory: directory + "/mosquitto", persistence: false)
        defer { broker.stop() }
        let catalog = try SensorCatalog.bundled().extended(to: sensors)
        var options = IoTPipelineOptions(
            mqtt: MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "iot-benchmark"),
            dataDirectory: directory + "/data",
            catalog: catalog
        )
        options.printsMinutes = false
        let store = try BIStore(path: options.databasePath)
        let source = MQTTSource(options.mqtt, topics: [options.topic], qos: .atLeastOnce)
        let pipeline = IoTPipeline.build(options: options, store: store, source: source)
        let run = Task { try await pipeline.run(checkpoints: .every(.seconds(5), in: options.checkpointDirectory)) }
        while !source.statistics.current.isSubscribed { try await Task.sleep(for: .milliseconds(10)) }

        var generator = ReadingGenerator(catalog: catalog)
        generator.rounds = rounds
        generator.speed = 1_000_000  // no pacing: as fast as the broker takes them
        generator.start = try Timestamp(iso8601: "2024-01-01T00:00:00Z")
        let clock = ContinuousClock()
        let started = clock.now
        benchmark.startMeasurement()
        let publisher = Task { await IoTRunner.publish(generator, mqtt: options.mqtt, topic: options.topic) }
        await publisher.value
        while source.statistics.current.messages < total { try await Task.sleep(for: .milliseconds(5)) }
        // The pipeline has caught up when the BI store stops growing: every received message is a
        // reading or a malformed row (readings of one sensor at one instant count once).
        func stored() async throws -> Int64 {
            let rows = try await store.rows(
                "SELECT (SELECT COUNT(*) FROM readings) + (SELECT COUNT(*) FROM malformed) AS n"
            )
            guard case .integer(let count) = rows.first?["n"] else { return 0 }
            return count
        }
        var last: Int64 = -1
        let deadline = clock.now + .seconds(120)
        while true {
            let now = try await stored()
            if now == last && now >= Int64(total) * 99 / 100 { break }
            guard clock.now < deadline else {
                benchmark.error("the BI store holds \(now) rows for \(total) messages after two minutes")
                pipeline.stop()
                return
            }
            last = now
            try await Task.sleep(for: .milliseconds(20))
        }
        benchmark.stopMeasurement()
        let elapsed = started.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        benchmark.measurement(readingsPerSecond, Int((Double(total) / seconds).rounded()))
        pipeline.stop()
        try await run.value
    }
}
