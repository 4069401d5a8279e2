import Benchmark
import Foundation
import IoTExample
import MQTTBenchmarkSupport
import StreamKit
import StreamKitMQTT

/// CPU time of the benchmark process per reading.
let cpuPerReading = BenchmarkMetric.custom("CPU ns/reading", polarity: .prefersSmaller, useScalingFactor: false)

/// The IoT example's whole graph in the pipeline's process alone: the CPU time (user and system,
/// every thread of the process) it spends per reading while it drains a known backlog.
///
/// The publisher must not share the measured process, so the readings wait in mosquitto first: the
/// setup of each iteration creates the pipeline's persistent session (client id `iot-cpu`, clean
/// session off, subscribed with `qos`) with `mosquitto_sub -E`, then the example's generator
/// publishes `sensors × rounds` readings with QoS 1 (the broker holds each one when it returns)
/// and the broker queues them for the offline session. The measurement runs from building the
/// pipeline (opening the BI store included) until the BI store holds every reading, polled every
/// 100 ms; the CPU time of those polls, measured afterwards with the pipeline stopped, is taken
/// off. The broker runs in its own process and is not counted.
///
/// With QoS 0 the broker sends the backlog without waiting for acknowledgements, faster than the
/// graph takes it, and the source would drop what its buffer cannot hold, so its buffer holds the
/// whole backlog; with QoS 1 it has the default buffer (10,000) and the broker waits. With
/// `journal`, the source writes every message to the journal in the data folder first (as the
/// example does). Checkpoints every 5 s, as in the example.
func cpuBenchmark(sensors: Int, rounds: Int, qos: MQTTQoS, journal: Bool) {
    let total = sensors * rounds
    Benchmark(
        "IoT pipeline CPU per reading, \(sensors) sensors × \(rounds) rounds, QoS \(qos.rawValue)"
            + (journal ? ", journal" : ""),
        configuration: .init(
            metrics: [cpuPerReading, readingsPerSecond, .wallClock],
            timeUnits: .milliseconds,
            warmupIterations: 0,
            maxDuration: .seconds(240),
            maxIterations: 3
        )
    ) { benchmark in
        let broker = try MosquittoBroker()
        let directory = NSTemporaryDirectory() + "iot-cpu-benchmark-\(UUID().uuidString)"
        defer {
            broker.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        var mqtt = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "iot-cpu")
        mqtt.cleanSession = false
        var options = IoTPipelineOptions(
            mqtt: mqtt,
            dataDirectory: directory + "/data",
            catalog: try SensorCatalog.bundled().extended(to: sensors)
        )
        options.printsMinutes = false

        // The backlog, outside the measurement.
        let session = try MosquittoBroker.spawn(
            "/usr/bin/mosquitto_sub",
            [
                "-h", "127.0.0.1", "-p", "\(broker.port)", "-i", "iot-cpu", "-c", "-t", options.topic,
                "-q", "\(qos.rawValue)", "-E",
            ]
        )
        guard MosquittoBroker.wait(for: session) == 0 else {
            benchmark.error("mosquitto_sub could not create the pipeline's session")
            return
        }
        var generator = ReadingGenerator(catalog: options.catalog)
        generator.rounds = rounds
        generator.speed = 1_000_000  // no pacing: as fast as the broker takes them
        generator.start = try Timestamp(iso8601: "2024-01-01T00:00:00Z")
        await IoTRunner.publish(generator, mqtt: options.mqtt, topic: options.topic, qos: .atLeastOnce)

        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let cpuBefore = CPUTime.ofProcess
        let started = clock.now
        let store = try BIStore(path: options.databasePath)
        let source = MQTTSource(
            options.mqtt,
            topics: [options.topic],
            qos: qos,
            bufferCapacity: qos == .atMostOnce ? total + 10_000 : 10_000,
            journal: journal ? MQTTJournalConfiguration(directory: options.journalDirectory) : nil
        )
        let pipeline = IoTPipeline.build(options: options, store: store, source: source)
        let checkpoints = CheckpointConfiguration.every(.seconds(5), in: options.checkpointDirectory)
        let run = Task { try await pipeline.run(checkpoints: checkpoints) }
        defer { run.cancel() }

        // Every message is a reading or a malformed row once the store stops growing (readings of
        // one sensor at one instant count once).
        func stored() async throws -> Int64 {
            let rows = try await store.rows(
                "SELECT (SELECT COUNT(*) FROM readings) + (SELECT COUNT(*) FROM malformed) AS n"
            )
            guard case .integer(let count) = rows.first?["n"] else { return 0 }
            return count
        }
        let deadline = clock.now + .seconds(180)
        var last: Int64 = -1
        var polls = 0
        var finished = clock.now
        while true {
            let now = try await stored()
            polls += 1
            if now == last && now >= Int64(total) * 99 / 100 { break }
            if now != last { finished = clock.now }
            guard clock.now < deadline else {
                benchmark.error("the BI store holds \(now) rows for \(total) messages after three minutes")
                pipeline.stop()
                try await run.value
                return
            }
            last = now
            try await Task.sleep(for: .milliseconds(100))
        }
        let cpu = CPUTime.ofProcess - cpuBefore
        benchmark.stopMeasurement()
        let dropped = source.statistics.current.dropped
        pipeline.stop()
        try await run.value

        // What one poll costs, with the pipeline stopped.
        let pollBefore = CPUTime.ofProcess
        for _ in 0..<10 { _ = try await stored() }
        let pollCost = (CPUTime.ofProcess - pollBefore) / 10
        let pipelineCPU = cpu - pollCost * polls
        benchmark.measurement(cpuPerReading, Int(pipelineCPU.seconds * 1e9 / Double(total)))
        benchmark.measurement(
            readingsPerSecond,
            Int((Double(total) / started.duration(to: finished).seconds).rounded())
        )
        print(
            "CPU \(cpu) for \(total) readings (\(polls) polls of \(pollCost) each taken off), "
                + "\(dropped) dropped"
        )
        if dropped > 0 { benchmark.error("the source dropped \(dropped) messages") }
    }
}
