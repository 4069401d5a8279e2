import Foundation
import MQTTBenchmarkSupport
import StreamKit
import StreamKitKafka
import Synchronization

/// One reading as the benchmark's producer writes it: `{"sensor":17,"time":1704067200123456,"value":21.5}`,
/// the time in microseconds since 1970.
struct Reading: Decodable, Sendable {
    var sensor: Int
    var time: Int64
    var value: Double
}

extension Reading {
    /// Parses `{"sensor":<integer>,"time":<integer>,"value":<decimal>}` with the keys in that
    /// order, as the benchmark writes it: the hand-written fast path, without `Codable`.
    @Sendable static func parse(_ bytes: UnsafeRawBufferPointer) throws -> Reading {
        var index = 0
        /// The number after the next colon: its integer digits and, after a dot, its decimals.
        func number() throws -> (integer: Int64, fraction: Double) {
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") { index += 1 }
            index += 1
            var integer: Int64 = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                integer = integer * 10 + Int64(bytes[index] - 48)
                index += 1
                digits += 1
            }
            var fraction = 0.0
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                var scale = 0.1
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    fraction += Double(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
            }
            guard digits > 0 else { throw ParseError(offset: index) }
            return (integer, fraction)
        }
        let sensor = try number()
        let time = try number()
        let value = try number()
        return Reading(sensor: Int(sensor.integer), time: time.integer, value: Double(value.integer) + value.fraction)
    }

    struct ParseError: Error {
        var offset: Int
    }
}

/// The records of the Kafka benchmark, the cluster that holds them, and the two readers.
enum KafkaWorkload {
    /// How many readings are produced.
    static let readingCount = 1_600_000
    /// How many readings the topic holds, counted by kcat after producing: the mock cluster drops a
    /// few percent of them (the oldest of some partitions) on its own. Both readers read these.
    static let keptCount = Mutex(0)
    /// The topic's partitions: 25,000 readings each (the mock cluster kept about 42,000 of 50,000 with
    /// 32).
    static let partitions = 64
    /// How many sensors send readings.
    static let sensorCount = 1000
    static let topic = "readings"

    /// The mock cluster of the running benchmark, started by its setup.
    static let cluster = Mutex<KafkaMockCluster?>(nil)

    /// The readings, one per line, for `kcat -P`: reading `i` comes from sensor `i % 1000` at
    /// 2024-01-01 plus `i` × 100 µs (160 s in all, three or four windows a sensor), with a value in
    /// 0.0...99.9. Written once per process.
    static let payloadFile: String = {
        let start: Int64 = 1_704_067_200_000_000
        var text = ""
        text.reserveCapacity(readingCount * 56)
        for index in 0..<readingCount {
            let value = (index &* 7919) % 1000
            text += #"{"sensor":\#(index % sensorCount),"time":\#(start + Int64(index) * 100),"value":"#
            text += "\(value / 10).\(value % 10)}\n"
        }
        let path = NSTemporaryDirectory() + "streamkit-benchmark-kafka-readings.jsonl"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            fatalError("cannot write the payload file \(path)")
        }
        return path
    }()

    /// Starts a mock cluster and produces the readings to ``topic``, then checks with kcat that the
    /// cluster kept them all (it drops the oldest records of a partition past a few megabytes).
    static func makeCluster() async throws -> KafkaMockCluster {
        let cluster = try KafkaMockCluster(brokers: 3)
        try cluster.createTopic(topic, partitions: partitions)
        // StreamKit's sink waits for every delivery report and fails on a record not delivered.
        let producer = Pipeline("kafka-benchmark-producer", configuration: PipelineConfiguration(workers: 1))
        let payloads = try String(contentsOfFile: payloadFile, encoding: .utf8).split(separator: "\n").map {
            Array($0.utf8)
        }
        producer.source(CollectionSource(payloads))
            .sink(
                KafkaSink<[UInt8]>(
                    KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["linger.ms": "20"]),
                    topic: topic
                ) { $0 }
            )
        try await producer.run()
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        reader.arguments = ["-C", "-b", cluster.bootstrapServers, "-t", topic, "-e", "-q", "-o", "beginning"]
        let output = Pipe()
        reader.standardOutput = output
        try reader.run()
        var lines = 0
        while let chunk = try output.fileHandleForReading.read(upToCount: 1 << 20), !chunk.isEmpty {
            lines += chunk.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        }
        reader.waitUntilExit()
        guard lines >= readingCount * 9 / 10 else {
            throw MosquittoBroker.BrokerError(
                message: "the mock cluster kept \(lines) of \(readingCount) readings: use more partitions"
            )
        }
        keptCount.withLock { $0 = lines }
        return cluster
    }

    /// Runs kcat over the whole topic and returns how long it took.
    static func kcat(_ cluster: KafkaMockCluster) throws -> Duration {
        let started = ContinuousClock.now
        let process = try MosquittoBroker.spawn(
            "/usr/bin/kcat",
            ["-C", "-b", cluster.bootstrapServers, "-t", topic, "-e", "-q", "-o", "beginning"]
        )
        let status = MosquittoBroker.wait(for: process)
        let elapsed = started.duration(to: .now)
        guard status == 0 else { throw MosquittoBroker.BrokerError(message: "kcat exited with status \(status)") }
        return elapsed
    }

    /// What one StreamKit run counted, and how long it took.
    struct Run {
        var counted: Int
        var rejected: Int
        /// From the start of the pipeline to its end.
        var total: Duration
        /// From the first record read to the end.
        var afterFirstRecord: Duration
        /// From the first record read to the last.
        var records: Duration
        /// From the last record read to the end of the pipeline (the last windows, leaving the
        /// group).
        var closing: Duration
        /// How many reads returned records.
        var reads: Int
    }

    /// Runs the pipeline over the whole topic, with a consumer group of its own.
    static func streamKit(
        _ cluster: KafkaMockCluster,
        decoding: (KafkaSource) -> KafkaDecodingSource<Reading>
    ) async throws -> Run {
        let pipeline = Pipeline("kafka-benchmark", configuration: PipelineConfiguration(workers: 1))
        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        let source = KafkaSource(kafka, topics: [topic], groupID: "benchmark-\(UUID().uuidString)")
        let readTimes = ReadTimes()
        let readings = pipeline.source(
            LimitedSource(
                source: decoding(source),
                limit: keptCount.withLock { $0 },
                readTimes: readTimes
            ),
            name: "readings"
        )
        let rejected = CountSink<ErrorRecord> { _ in 1 }
        readings.errors.sink(rejected, name: "rejected")
        let counts = CountSink<WindowResult<Int, (Int, Double)>> { $0.value.0 }
        readings
            // Every reading is within 160 s of every other: no partition's records come late.
            .eventTime({ Timestamp(microseconds: $0.time) }, watermark: .boundedOutOfOrderness(.seconds(300)))
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
            .aggregate(Count(), Mean { $0.value })
            .sink(counts, name: "counts")
        let started = ContinuousClock.now
        try await pipeline.run()
        let ended = ContinuousClock.now
        return Run(
            counted: counts.total,
            rejected: rejected.total,
            total: started.duration(to: ended),
            afterFirstRecord: (readTimes.first ?? started).duration(to: ended),
            records: (readTimes.first ?? started).duration(to: readTimes.last ?? ended),
            closing: (readTimes.last ?? ended).duration(to: ended),
            reads: readTimes.reads
        )
    }
}

/// When a source first and last returned records.
final class ReadTimes: Sendable {
    private let times = Mutex<(first: ContinuousClock.Instant?, last: ContinuousClock.Instant?, reads: Int)>(
        (nil, nil, 0)
    )

    var first: ContinuousClock.Instant? { times.withLock { $0.first } }
    var last: ContinuousClock.Instant? { times.withLock { $0.last } }
    /// How many reads returned records.
    var reads: Int { times.withLock { $0.reads } }

    func note() {
        let now = ContinuousClock.now
        times.withLock { times in
            if times.first == nil { times.first = now }
            times.last = now
            times.reads += 1
        }
    }
}

/// A source that ends once `limit` records (elements and errors) have come from `source`, as kcat
/// with `-e` ends at the end of every partition: the pipeline then fires every window and stops.
struct LimitedSource<Base: Source>: Source {
    typealias Element = Base.Element

    let source: Base
    let limit: Int
    let readTimes: ReadTimes

    func makeReader(context: SourceContext) async throws -> Reader {
        Reader(base: try await source.makeReader(context: context), remaining: limit, readTimes: readTimes)
    }

    struct Reader: SourceReader {
        var base: Base.Reader
        var remaining: Int
        let readTimes: ReadTimes

        /// When the last records came: a source that has had none for 10 s since ends too (the
        /// count check then fails), so that a lost record cannot hang the benchmark.
        var lastRecords = ContinuousClock.now

        mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
            guard remaining > 0, ContinuousClock.now - lastRecords < .seconds(10) else { return .end }
            let read = try await base.read(maximumCount: maximumCount)
            if case .chunk(let chunk) = read {
                readTimes.note()
                lastRecords = .now
                remaining -= chunk.elements.count + chunk.errors.count
            }
            return read
        }

        mutating func close() async {
            await base.close()
        }
    }
}

/// A sink that adds up a number taken from each element.
final class CountSink<Element: Sendable>: Sink, Sendable {
    private let count: @Sendable (Element) -> Int
    private let sum = Atomic<Int>(0)

    init(count: @escaping @Sendable (Element) -> Int) {
        self.count = count
    }

    var total: Int { sum.load(ordering: .relaxed) }

    func makeWriter(context: SinkContext) async throws -> Writer { Writer(sink: self) }

    final class Writer: SinkWriter {
        let sink: CountSink<Element>

        init(sink: CountSink<Element>) {
            self.sink = sink
        }

        func write(_ batch: Batch<Element>) async throws {
            sink.sum.add(batch.elements.reduce(0) { $0 + sink.count($1) }, ordering: .relaxed)
        }

        func finish() async throws {}
    }
}
