import Benchmark
import Foundation
import MQTTBenchmarkSupport
import StreamKit
import StreamKitMQTT
import Synchronization

/// A real mosquitto broker on loopback, `mosquitto_pub -l` publishing ``readingCount`` IoT readings
/// (and one sentinel) on topic `sensors` as fast as it can, and two subscribers timed from the first
/// publication until they have received everything:
/// - `mosquitto_sub -C <count>`, libmosquitto's own client writing to `/dev/null`: the ceiling;
/// - a StreamKit pipeline: `MQTTSource` → `FlatJSONDecoder` → event time (5 s bound) → key by
///   sensor → one-minute tumbling windows → count and mean → a sink that adds up the counts. It
///   has received everything when the counts add up to ``readingCount``: the sentinel, an hour
///   after every reading, moves the watermark past all their windows.
///
/// Both subscribe with ``qos`` and run in the same process run, one after the other, against a
/// fresh broker each.
enum EndToEndBenchmarks {
    /// How many readings are published per iteration.
    static let readingCount = 200_000
    /// How many messages are published per iteration: the readings and the sentinel.
    static let messageCount = readingCount + 1
    /// The quality of service of the publications and of both subscriptions.
    static let qos = MQTTQoS.atMostOnce
    /// The payloads, one per line, for `mosquitto_pub -l`; written once per process.
    static let payloadFile: String = {
        let path = NSTemporaryDirectory() + "streamkit-benchmark-iot-readings.jsonl"
        var lines = IoTReadings.payloads(count: readingCount, seed: 0xE2E)
        lines.append(IoTReadings.sentinel)
        let bytes = lines.map { $0 + [UInt8(ascii: "\n")] }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            fatalError("cannot write the payload file \(path)")
        }
        return path
    }()

    /// The broker of the running benchmark, started by its setup and stopped by its teardown.
    static let broker = Mutex<MosquittoBroker?>(nil)

    static func register() {
        endToEndBenchmark("MQTT end to end mosquitto_sub") { benchmark, broker in
            let clientID = "benchmark-sub-\(UInt32.random(in: 0...UInt32.max))"
            let subscriber = try MosquittoBroker.spawn(
                "/usr/bin/mosquitto_sub",
                [
                    "-h", "127.0.0.1", "-p", "\(broker.port)", "-i", clientID, "-t", "sensors", "-q", "\(qos.rawValue)",
                    "-C", "\(messageCount)", "-W", "60",
                ]
            )
            try broker.waitForSubscription(clientID: clientID)
            benchmark.startMeasurement()
            let started = ContinuousClock.now
            let publisher = try publish(to: broker)
            let status = MosquittoBroker.wait(for: subscriber)
            let elapsed = started.duration(to: .now)
            benchmark.stopMeasurement()
            _ = MosquittoBroker.wait(for: publisher)
            if status != 0 {
                benchmark.error(
                    "mosquitto_sub exited with status \(status): it did not receive \(messageCount) messages"
                )
            }
            return (elapsed, 0)
        }

        endToEndBenchmark("MQTT end to end StreamKit pipeline") { benchmark, broker in
            let pipeline = Pipeline("mqtt-end-to-end", configuration: PipelineConfiguration(workers: 1))
            let configuration = MQTTConfiguration(host: "127.0.0.1", port: broker.port)
            let source = MQTTSource(configuration, topics: ["sensors"], qos: qos)
            let readings = pipeline.source(source.decoding(Reading.self, decoder: FlatJSONDecoder()), name: "readings")
            let rejected = CountingSink<ErrorRecord>()
            readings.errors.sink(rejected, name: "rejected")
            let counts = WindowCountSink(target: readingCount)
            readings
                .eventTime({ $0.dt }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
                .key(by: { $0.id })
                .window(.tumbling(.minutes(1)), name: "minutes")
                .aggregate(Count(), Mean { Double($0.value) })
                .sink(counts, name: "counts")
            let run = Task { try await pipeline.run() }
            defer { run.cancel() }
            let deadline = ContinuousClock.now + .seconds(20)
            while !source.statistics.current.isSubscribed {
                guard ContinuousClock.now < deadline else {
                    benchmark.error("the StreamKit pipeline did not subscribe within 20 s")
                    return (.zero, 0)
                }
                try await Task.sleep(for: .milliseconds(5))
            }

            benchmark.startMeasurement()
            let started = ContinuousClock.now
            let publisher = try publish(to: broker)
            // Done when the counts add up; with drops they never will, so also when every message
            // has been received or dropped and nothing has come in for a second.
            let end = ContinuousClock.now + .seconds(60)
            var lastTotal = -1
            var quietSince = ContinuousClock.now
            while counts.reachedAt == nil && ContinuousClock.now < end {
                try await Task.sleep(for: .milliseconds(2))
                let statistics = source.statistics.current
                let total = counts.total
                if total != lastTotal {
                    lastTotal = total
                    quietSince = .now
                } else if statistics.messages + statistics.dropped >= messageCount && quietSince + .seconds(1) < .now {
                    break
                }
            }
            let finished = counts.reachedAt ?? counts.lastWrite ?? .now
            benchmark.stopMeasurement()
            _ = MosquittoBroker.wait(for: publisher)
            pipeline.stop()
            try await run.value

            let statistics = source.statistics.current
            if counts.total != readingCount || statistics.dropped > 0 || rejected.count > 0 {
                benchmark.error(
                    "the StreamKit pipeline counted \(counts.total) of \(readingCount) readings; "
                        + "\(statistics.messages) messages received, \(statistics.dropped) dropped, "
                        + "\(rejected.count) rejected"
                )
            }
            return (started.duration(to: finished), statistics.dropped)
        }
    }

    /// Starts `mosquitto_pub`, which publishes every line of ``payloadFile`` as one message.
    static func publish(to broker: MosquittoBroker) throws -> pid_t {
        try MosquittoBroker.spawn(
            "/usr/bin/mosquitto_pub",
            ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", "sensors", "-q", "\(qos.rawValue)", "-l"],
            input: payloadFile
        )
    }

    /// Registers a benchmark that runs `body` against a broker started for it, once per iteration.
    /// `body` returns the time from the first publication until everything was received, and the
    /// number of messages dropped.
    static func endToEndBenchmark(
        _ name: String,
        _ body: @escaping @Sendable (Benchmark, MosquittoBroker) async throws -> (Duration, Int)
    ) {
        Benchmark(
            name,
            configuration: .init(
                metrics: [messagesPerSecond, droppedMessages, .wallClock, .cpuTotal, .peakMemoryResident],
                timeUnits: .milliseconds,
                warmupIterations: 1,
                maxDuration: .seconds(40),
                maxIterations: 5
            )
        ) { benchmark in
            guard let broker = Self.broker.withLock({ $0 }) else {
                benchmark.error("no broker")
                return
            }
            let (elapsed, dropped) = try await body(benchmark, broker)
            if elapsed > .zero { benchmark.measurement(messagesPerSecond, rate(messageCount, in: elapsed)) }
            benchmark.measurement(droppedMessages, dropped)
        } setup: {
            _ = payloadFile
            let started = try MosquittoBroker()
            Self.broker.withLock { $0 = started }
        } teardown: {
            Self.broker.withLock { broker in
                broker?.stop()
                broker = nil
            }
        }
    }
}

/// Messages that an MQTT subscriber dropped in one iteration.
let droppedMessages = BenchmarkMetric.custom("dropped messages", polarity: .prefersSmaller, useScalingFactor: false)

/// A sink that adds up the counts of the window results it receives and notes when they reach a
/// target.
final class WindowCountSink: Sink, Sendable {
    typealias Element = WindowResult<String, (Int, Double)>

    struct State {
        var total = 0
        var reachedAt: ContinuousClock.Instant?
        var lastWrite: ContinuousClock.Instant?
    }

    let target: Int
    private let state = Mutex(State())

    init(target: Int) {
        self.target = target
    }

    /// The counts received so far.
    var total: Int { state.withLock { $0.total } }
    /// When the counts reached ``target``.
    var reachedAt: ContinuousClock.Instant? { state.withLock { $0.reachedAt } }
    /// When the last results arrived.
    var lastWrite: ContinuousClock.Instant? { state.withLock { $0.lastWrite } }

    func makeWriter(context: SinkContext) async throws -> Writer { Writer(sink: self) }

    final class Writer: SinkWriter {
        let sink: WindowCountSink

        init(sink: WindowCountSink) {
            self.sink = sink
        }

        func write(_ batch: Batch<Element>) async throws {
            let count = batch.elements.reduce(0) { $0 + $1.value.0 }
            let now = ContinuousClock.now
            let target = sink.target
            sink.state.withLock { state in
                state.total += count
                state.lastWrite = now
                if state.total >= target && state.reachedAt == nil { state.reachedAt = now }
            }
        }

        func finish() async throws {}
    }
}

/// A sink that counts what it receives.
final class CountingSink<Element: Sendable>: Sink, Sendable {
    private let received = Atomic<Int>(0)

    /// How many elements arrived.
    var count: Int { received.load(ordering: .relaxed) }

    func makeWriter(context: SinkContext) async throws -> Writer { Writer(sink: self) }

    final class Writer: SinkWriter {
        let sink: CountingSink<Element>

        init(sink: CountingSink<Element>) {
            self.sink = sink
        }

        func write(_ batch: Batch<Element>) async throws {
            sink.received.add(batch.elements.count, ordering: .relaxed)
        }

        func finish() async throws {}
    }
}
