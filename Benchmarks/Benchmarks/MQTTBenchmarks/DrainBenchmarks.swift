import Benchmark
import Foundation
import MQTTBenchmarkSupport
import StreamKit
import StreamKitMQTT
import Synchronization

/// The MQTT source against `mosquitto_sub` as subscribers: both drain the same backlog of
/// ``messageCount`` IoT readings from mosquitto, one after the other in each iteration, and the
/// iteration records the ratio of their rates (StreamKit / `mosquitto_sub`).
///
/// The backlog is what makes this a measure of the subscriber, not of the publisher: each side has
/// a persistent session (a fixed client id, clean session off) subscribed to `sensors` with the
/// benchmark's QoS, created in the setup; with both offline, an `MQTTSink` in this process
/// publishes the readings (QoS 1, so that it returns once the broker holds them all; not timed) and
/// the broker queues every one for both sessions (`queue_qos0_messages` for QoS 0). Then, timed, `mosquitto_sub` resumes
/// its session and exits after ``messageCount`` messages; and, timed, a pipeline `MQTTSource` →
/// a sink that counts resumes the other session until the count is reached. Each drain has the
/// broker and the machine to itself, and the broker sends as fast as the subscriber reads (QoS 1:
/// as fast as it acknowledges). Both times include connecting; both sides read with
/// libmosquitto. `mosquitto_sub` speaks MQTT 3.1.1 (its default) and prints each payload to
/// `/dev/null`; the source speaks MQTT 5 with its default receive maximum (1,000 QoS 1
/// messages in flight) and buffer (10,000 messages).
///
/// With `journal`, the source writes each message to a journal in the broker's folder (on the
/// same disk as the rest of the benchmark) before libmosquitto acknowledges it.
///
/// Besides the ratio, each iteration records both rates and both CPU times per message: the
/// child's for `mosquitto_sub` (`wait4`), the whole benchmark process's for the pipeline
/// (`getrusage`, which includes the runner's thread polling the count every 2 ms).
enum DrainBenchmarks {
    /// How many messages each side drains per iteration.
    static let messageCount = 200_000

    /// The broker of the running benchmark, started by its setup and stopped by its teardown.
    static let broker = Mutex<MosquittoBroker?>(nil)

    static let mosquittoSubClient = "drain-mosquitto-sub"
    static let streamKitClient = "drain-streamkit"

    /// The payloads, made once per process.
    static let payloads = IoTReadings.payloads(count: messageCount, seed: 0xD7A1)

    static func register() {
        for qos in [MQTTQoS.atMostOnce, .atLeastOnce] {
            for journal in [false, true] {
                drainBenchmark(qos: qos, journal: journal)
            }
        }
    }

    static func drainBenchmark(qos: MQTTQoS, journal: Bool) {
        Benchmark(
            "MQTT drain ratio StreamKit to mosquitto_sub, QoS \(qos.rawValue)\(journal ? ", journal" : "") (paired)",
            configuration: .init(
                metrics: [drainRatio, streamKitRate, mosquittoSubRate, streamKitCPU, mosquittoSubCPU, droppedMessages],
                timeUnits: .milliseconds,
                warmupIterations: 1,
                maxDuration: .seconds(120),
                maxIterations: 6
            )
        ) { benchmark in
            guard let broker = Self.broker.withLock({ $0 }) else {
                benchmark.error("no broker")
                return
            }
            try await fillBacklog(broker)

            // mosquitto_sub.
            let subStarted = ContinuousClock.now
            let subscriber = try MosquittoBroker.spawn(
                "/usr/bin/mosquitto_sub",
                sessionArguments(broker, client: mosquittoSubClient, qos: qos) + [
                    "-C", "\(messageCount)", "-W", "60",
                ]
            )
            let (status, subCPU) = MosquittoBroker.waitWithUsage(for: subscriber)
            let subElapsed = subStarted.duration(to: .now)
            guard status == 0 else {
                benchmark.error(
                    "mosquitto_sub exited with status \(status): it did not receive \(messageCount) messages"
                )
                return
            }

            // The StreamKit source.
            let directory = broker.directory + "/journal-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let (skElapsed, skCPU, dropped) = try await drainWithStreamKit(
                broker,
                qos: qos,
                journal: journal ? MQTTJournalConfiguration(directory: directory) : nil,
                benchmark: benchmark
            )
            benchmark.stopMeasurement()
            guard skElapsed > .zero else { return }

            let skRate = rate(messageCount, in: skElapsed)
            let subRate = rate(messageCount, in: subElapsed)
            benchmark.measurement(drainRatio, Int((Double(skRate) / Double(subRate) * 100).rounded()))
            benchmark.measurement(streamKitRate, skRate)
            benchmark.measurement(mosquittoSubRate, subRate)
            benchmark.measurement(streamKitCPU, nanosecondsPerMessage(skCPU))
            benchmark.measurement(mosquittoSubCPU, nanosecondsPerMessage(subCPU))
            benchmark.measurement(droppedMessages, dropped)
        } setup: {
            _ = payloads
            let started = try MosquittoBroker()
            Self.broker.withLock { $0 = started }
            // The two persistent sessions, subscribed and left offline.
            for client in [mosquittoSubClient, streamKitClient] {
                let pid = try MosquittoBroker.spawn(
                    "/usr/bin/mosquitto_sub",
                    sessionArguments(started, client: client, qos: qos) + ["-E"]
                )
                let status = MosquittoBroker.wait(for: pid)
                guard status == 0 else {
                    throw MosquittoBroker.BrokerError(message: "mosquitto_sub -E for \(client) exited with \(status)")
                }
            }
        } teardown: {
            Self.broker.withLock { broker in
                broker?.stop()
                broker = nil
            }
        }
    }

    /// The `mosquitto_sub` arguments that resume (or create) `client`'s persistent session.
    static func sessionArguments(_ broker: MosquittoBroker, client: String, qos: MQTTQoS) -> [String] {
        ["-h", "127.0.0.1", "-p", "\(broker.port)", "-i", client, "-c", "-t", "sensors", "-q", "\(qos.rawValue)"]
    }

    /// Publishes the readings with QoS 1 from this process (a pipeline into `MQTTSink`) and returns
    /// once the broker has acknowledged every one, so that it holds them all, queued for both
    /// offline sessions. (`mosquitto_pub -l` with QoS 1 loses lines when its in-flight window is
    /// full: 2.0.11 delivered 3,397 of 200,000.)
    static func fillBacklog(_ broker: MosquittoBroker) async throws {
        let configuration = MQTTConfiguration(
            host: "127.0.0.1",
            port: broker.port,
            clientID: "drain-publisher-\(UInt32.random(in: 0...UInt32.max))"
        )
        let pipeline = Pipeline("drain-publisher")
        pipeline.source(CollectionSource(payloads), name: "payloads")
            .sink(MQTTSink<[UInt8]>(configuration, topic: "sensors", qos: .atLeastOnce) { $0 }, name: "mqtt")
        try await pipeline.run()
    }

    /// Runs `MQTTSource` → a counting sink on the StreamKit session until it has counted
    /// ``messageCount`` messages; returns the time from starting the pipeline, the process's CPU
    /// time over the same span, and the messages the source dropped (QoS 0 with a full buffer).
    static func drainWithStreamKit(
        _ broker: MosquittoBroker,
        qos: MQTTQoS,
        journal: MQTTJournalConfiguration?,
        benchmark: Benchmark
    ) async throws -> (Duration, Duration, Int) {
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: streamKitClient)
        configuration.cleanSession = false
        let source = MQTTSource(configuration, topics: ["sensors"], qos: qos, journal: journal)
        let pipeline = Pipeline("mqtt-drain", configuration: PipelineConfiguration(workers: 1))
        let counts = CountingSink<MQTTMessage>()
        pipeline.source(source, name: "mqtt").sink(counts, name: "count")

        let cpuBefore = CPUTime.ofProcess
        let started = ContinuousClock.now
        let run = Task { try await pipeline.run() }
        defer { run.cancel() }
        // Done at the count; with drops it is never reached, so also when every message has been
        // received or dropped and nothing has come in for a second.
        let deadline = ContinuousClock.now + .seconds(60)
        var lastCount = -1
        var quietSince = ContinuousClock.now
        var finished: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            let count = counts.count
            if count >= messageCount {
                finished = .now
                break
            }
            if count != lastCount {
                lastCount = count
                quietSince = .now
            } else {
                let statistics = source.statistics.current
                if statistics.messages + statistics.dropped >= messageCount && quietSince + .seconds(1) < .now { break }
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        let cpu = CPUTime.ofProcess - cpuBefore
        pipeline.stop()
        try await run.value

        let statistics = source.statistics.current
        guard let finished else {
            benchmark.error(
                "the StreamKit source counted \(counts.count) of \(messageCount) messages; "
                    + "\(statistics.messages) received, \(statistics.dropped) dropped"
            )
            return (.zero, cpu, statistics.dropped)
        }
        return (started.duration(to: finished), cpu, statistics.dropped)
    }

    static func nanosecondsPerMessage(_ cpu: Duration) -> Int {
        Int((Double(cpu.components.seconds) * 1e9 + Double(cpu.components.attoseconds) * 1e-9) / Double(messageCount))
    }
}

/// StreamKit's drain rate over `mosquitto_sub`'s in the same iteration, in percent.
let drainRatio = BenchmarkMetric.custom(
    "StreamKit / mosquitto_sub rate (%)",
    polarity: .prefersLarger,
    useScalingFactor: false
)
/// Messages per second drained by the StreamKit source.
let streamKitRate = BenchmarkMetric.custom("StreamKit messages/s", polarity: .prefersLarger, useScalingFactor: false)
/// Messages per second drained by `mosquitto_sub`.
let mosquittoSubRate = BenchmarkMetric.custom(
    "mosquitto_sub messages/s",
    polarity: .prefersLarger,
    useScalingFactor: false
)
/// CPU time of the benchmark process per message drained by the StreamKit source.
let streamKitCPU = BenchmarkMetric.custom(
    "StreamKit CPU ns/message",
    polarity: .prefersSmaller,
    useScalingFactor: false
)
/// CPU time of `mosquitto_sub` per message.
let mosquittoSubCPU = BenchmarkMetric.custom(
    "mosquitto_sub CPU ns/message",
    polarity: .prefersSmaller,
    useScalingFactor: false
)
