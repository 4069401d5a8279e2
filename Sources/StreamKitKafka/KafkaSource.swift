import CoreMetrics
import StreamKit
import Synchronization

/// A source that consumes topics as a member of a Kafka consumer group.
///
/// Copies of one pipeline in one group share the topics' partitions: that is how a StreamKit
/// pipeline grows beyond one process. Each element is a ``KafkaRecord`` with key, value, headers,
/// partition, offset and timestamp; `decoding(_:)` decodes JSON values straight from librdkafka's
/// buffers, without a ``KafkaRecord`` in between (see ``KafkaDecodingSource``), and a value that
/// does not decode goes to the error output with `topic/partition@offset`, the reason and the
/// bytes.
///
/// Records are taken from librdkafka a batch at a time (one batch consume of the consumer queue,
/// up to the pipeline's batch size per read), without waiting on the pipeline's
/// task: when nothing is there, the reader sleeps 2 ms and looks again.
///
/// Offsets live in StreamKit's checkpoints: the reader's position is the next offset of every
/// partition it consumed, a restored pipeline seeks its partitions there when they are assigned,
/// and when a checkpoint completes the offsets are also committed to the group, so that standard
/// tools show the consumer lag. librdkafka's auto-commit is off. A partition without a checkpointed
/// offset starts at the group's committed offset, or at `auto.offset.reset` (earliest by default).
///
/// ```swift
/// let records = pipeline.source(KafkaSource(kafka, topics: ["sensors"], groupID: "iot-pipeline"))
/// ```
public struct KafkaSource: Source {
    /// The element type: one consumed record.
    public typealias Element = KafkaRecord

    /// Brokers and librdkafka properties.
    public var configuration: KafkaConfiguration
    /// The topics to consume.
    public var topics: [String]
    /// The consumer group.
    public var groupID: String

    /// Creates a source.
    public init(_ configuration: KafkaConfiguration, topics: [String], groupID: String) {
        self.configuration = configuration
        self.topics = topics
        self.groupID = groupID
    }

    /// Connects, checks the topics and subscribes.
    /// - Throws: ``StreamKitError`` for an invalid property (librdkafka's message), brokers that do
    ///   not answer within ``KafkaConfiguration/startupTimeout``, or an unknown topic.
    public func makeReader(context: SourceContext) async throws -> Reader {
        Reader(consumer: try await makeConsumer(context: context)) { message, records, _ in
            records.append(message.record)
        }
    }

    func makeConsumer(context: SourceContext) async throws -> KafkaGroupConsumer {
        if topics.isEmpty || groupID.isEmpty {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "Kafka source '\(context.name)' needs at least one topic and a groupID"
            )
        }
        var overrides = [
            "group.id": groupID,
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "enable.partition.eof": "false",
        ]
        if configuration.properties["auto.offset.reset"] == nil { overrides["auto.offset.reset"] = "earliest" }
        let assignment = Assignment()
        let client = try RDKafkaClient.consumer(configuration, overrides: overrides, rebalance: assignment)
        try client.checkCluster(topics: topics, timeout: configuration.startupTimeout)
        try client.subscribe(topics)
        return KafkaGroupConsumer(
            client: client,
            queue: client.consumerQueue(),
            assignment: assignment,
            tickInterval: context.tickInterval,
            groupID: groupID
        )
    }

    /// The partitions assigned to this member, and the offsets to start them at after a restore.
    ///
    /// The rebalance callback runs inside the batch consume, on the reader's task; the mutex makes
    /// the shared object `Sendable` without assuming that.
    final class Assignment: RDKafkaRebalanceHandler {
        struct State {
            var restored: [String: Int64] = [:]
            var assigned: Set<KafkaPartition> = []
        }
        let state = Mutex(State())

        func assigning(_ partitions: [KafkaPartition]) -> [KafkaPartition: Int64] {
            state.withLock { state in
                var offsets: [KafkaPartition: Int64] = [:]
                for partition in partitions {
                    if let offset = state.restored[partition.description] { offsets[partition] = offset }
                    state.assigned.insert(partition)
                }
                return offsets
            }
        }

        func assigned(_ partitions: [KafkaPartition], error: StreamKitError?) {}

        func revoking(_ partitions: [KafkaPartition], lost: Bool) {
            state.withLock { $0.assigned = [] }
        }
    }

    /// Reads the consumer on the pipeline's task.
    public typealias Reader = KafkaReader<KafkaRecord>
}

/// What ``KafkaSource``'s readers share: the consumer, its batch reads, its offsets and lag.
struct KafkaGroupConsumer {
    let client: RDKafkaClient
    let queue: RDKafkaQueue
    let assignment: KafkaSource.Assignment
    let tickInterval: Duration
    /// The next offset of every partition consumed, by `topic/partition`.
    var offsets: [String: Int64] = [:]
    /// The offsets committed to the group last.
    var lastCommitted: [String: Int64] = [:]
    /// The consumer group, a label of the lag metric.
    let groupID: String
    /// When the consumer lag was last reported.
    var lagReported = ContinuousClock.now

    init(
        client: RDKafkaClient,
        queue: RDKafkaQueue,
        assignment: KafkaSource.Assignment,
        tickInterval: Duration,
        groupID: String
    ) {
        self.client = client
        self.queue = queue
        self.assignment = assignment
        self.tickInterval = tickInterval
        self.groupID = groupID
    }

    /// Takes one batch of what librdkafka has fetched and turns each record into elements or
    /// error records with `convert`, while the message is still librdkafka's; waits 2 ms at a time
    /// when there is nothing, and returns a clock tick after the tick interval without data.
    /// - Throws: ``StreamKitError`` `sourceFailed` when the consumer failed fatally.
    mutating func read<T>(
        maximumCount: Int,
        _ convert: (borrowing RDKafkaMessage, inout [T], inout [ErrorRecord]) -> Void
    ) async throws -> SourceRead<T> {
        let deadline = ContinuousClock.now + tickInterval
        while true {
            var elements: [T] = []
            var errors: [ErrorRecord] = []
            var fatal: String?
            // The offsets are noted once per run of records from one partition, not per record.
            var run: (topic: String, partition: Int32, next: Int64)?
            let count = queue.consume(maximumCount: maximumCount) { message in
                if let error = message.error {
                    // Transient errors (a broker down) are retried by librdkafka on its own.
                    if let reason = client.fatalError { fatal = "\(reason) (\(error))" }
                    return
                }
                if let current = run, current.partition != message.partition || current.topic != message.topic {
                    offsets["\(current.topic)/\(current.partition)"] = current.next
                }
                run = (message.topic, message.partition, message.offset + 1)
                convert(message, &elements, &errors)
            }
            if let run { offsets["\(run.topic)/\(run.partition)"] = run.next }
            if let fatal {
                throw StreamKitError(code: .sourceFailed, message: "Kafka consumer failed: \(fatal)")
            }
            if !elements.isEmpty || !errors.isEmpty {
                reportLag()
                return .chunk(SourceChunk(elements: elements, errors: errors))
            }
            if count == 0 {
                if ContinuousClock.now >= deadline {
                    reportLag()
                    return .tick(.now)
                }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    /// Reports the consumer lag of every partition consumed, at most once a second.
    mutating func reportLag() {
        let now = ContinuousClock.now
        guard !offsets.isEmpty, now - lagReported >= .seconds(1) else { return }
        lagReported = now
        for (key, next) in offsets {
            guard let partition = KafkaPartition(key), let (_, high) = client.cachedWatermarks(partition) else {
                continue
            }
            Gauge(
                label: KafkaSource.Reader.lagMetric,
                dimensions: [
                    ("group", groupID), ("topic", partition.topic), ("partition", String(partition.partition)),
                ]
            ).record(Swift.max(0, high - next))
        }
    }

    func close() {
        client.closeConsumer()
    }

    var position: SourcePosition? { SourcePosition(offsets) }

    mutating func seek(to position: SourcePosition) {
        offsets = position.offsets
        assignment.state.withLock { $0.restored = position.offsets }
    }

    /// Commits the checkpoint's offsets of the partitions this member owns now, when they moved: a
    /// commit outside a settled group assignment fails anyway.
    mutating func checkpointCompleted(position: SourcePosition?) {
        let assigned = assignment.state.withLock { $0.assigned }
        guard let all = position?.offsets, all != lastCommitted else { return }
        var offsets: [KafkaPartition: Int64] = [:]
        for (key, offset) in all {
            if let partition = KafkaPartition(key), assigned.contains(partition) { offsets[partition] = offset }
        }
        guard !offsets.isEmpty else { return }
        lastCommitted = all
        client.commit(offsets)
    }
}

extension KafkaPartition {
    /// The partition that `topic/partition` names.
    init?(_ key: String) {
        guard let slash = key.lastIndex(of: "/"), let partition = Int32(key[key.index(after: slash)...]) else {
            return nil
        }
        self.init(topic: String(key[..<slash]), partition: partition)
    }
}
