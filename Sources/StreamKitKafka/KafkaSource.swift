import CRdKafka
import CoreMetrics
import Logging
import StreamKit
import Synchronization

/// A source that consumes topics as a member of a Kafka consumer group.
///
/// Copies of one pipeline in one group share the topics' partitions: that is how a StreamKit
/// pipeline grows beyond one process. Each element is a ``KafkaRecord`` with key, value, headers,
/// partition, offset and timestamp; `decoding(_:decoder:)` decodes the values, and a value that
/// does not decode goes to the error output with `topic/partition@offset`, the reason and the
/// bytes.
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
        let conf = try configuration.makeConf(overrides: overrides)
        let assignment = Assignment()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(assignment).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf) { handle, error, partitions, opaque in
            guard let handle, let opaque else { return }
            Unmanaged<Assignment>.fromOpaque(opaque).takeUnretainedValue()
                .rebalance(handle, error: error, partitions: partitions)
        }
        let client = try KafkaHandle(
            type: RD_KAFKA_CONSUMER,
            conf: conf,
            bootstrapServers: configuration.bootstrapServers,
            callbackContext: assignment
        )
        try client.checkCluster(topics: topics, timeoutMilliseconds: configuration.startupTimeoutMilliseconds)
        rd_kafka_poll_set_consumer(client.pointer)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let error = rd_kafka_subscribe(client.pointer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw StreamKitError(
                code: .sourceFailed,
                message: "Kafka source '\(context.name)' cannot subscribe to \(topics): \(KafkaHandle.describe(error))"
            )
        }
        return Reader(client: client, assignment: assignment, tickInterval: context.tickInterval, groupID: groupID)
    }

    /// The partitions assigned to this member, and the offsets to start them at after a restore.
    ///
    /// The rebalance callback runs inside `rd_kafka_consumer_poll`, on the reader's task; the
    /// mutex makes the shared object `Sendable` without assuming that.
    final class Assignment: Sendable {
        struct State {
            var restored: [String: Int64] = [:]
            var assigned: Set<String> = []
        }
        let state = Mutex(State())

        func rebalance(
            _ handle: OpaquePointer,
            error: rd_kafka_resp_err_t,
            partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        ) {
            guard let partitions else { return }
            let elements = UnsafeMutableBufferPointer(
                start: partitions.pointee.elems,
                count: Int(partitions.pointee.cnt)
            )
            if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                state.withLock { state in
                    for index in elements.indices {
                        let key = "\(String(cString: elements[index].topic))/\(elements[index].partition)"
                        if let offset = state.restored[key] { elements[index].offset = offset }
                        state.assigned.insert(key)
                    }
                }
                rd_kafka_assign(handle, partitions)
            } else {
                state.withLock { $0.assigned = [] }
                rd_kafka_assign(handle, nil)
            }
        }
    }

    /// Polls the consumer on the pipeline's task.
    public struct Reader: SourceReader {
        let client: KafkaHandle
        let assignment: Assignment
        let tickInterval: Duration
        /// The next offset of every partition consumed, by `topic/partition`.
        var offsets: [String: Int64] = [:]
        /// The offsets committed to the group last.
        var lastCommitted: [String: Int64] = [:]
        /// The consumer group, a label of the lag metric.
        let groupID: String
        /// When the consumer lag was last reported.
        var lagReported = ContinuousClock.now

        init(client: KafkaHandle, assignment: Assignment, tickInterval: Duration, groupID: String) {
            self.client = client
            self.assignment = assignment
            self.tickInterval = tickInterval
            self.groupID = groupID
        }

        /// The name of the gauge of consumer lag: the partition's high watermark minus the next
        /// offset this reader will consume, labelled `group`, `topic` and `partition`; reported
        /// about once a second from librdkafka's cached watermarks (no broker round trip).
        public static let lagMetric = "streamkit_kafka_consumer_lag"

        /// Reports the consumer lag of every partition consumed, at most once a second.
        mutating func reportLag() {
            let now = ContinuousClock.now
            guard !offsets.isEmpty, now - lagReported >= .seconds(1) else { return }
            lagReported = now
            for (key, next) in offsets {
                guard let slash = key.lastIndex(of: "/"), let partition = Int32(key[key.index(after: slash)...]) else {
                    continue
                }
                let topic = String(key[..<slash])
                var low: Int64 = 0
                var high: Int64 = 0
                guard
                    rd_kafka_get_watermark_offsets(client.pointer, topic, partition, &low, &high)
                        == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0
                else { continue }
                Gauge(
                    label: Self.lagMetric,
                    dimensions: [("group", groupID), ("topic", topic), ("partition", String(partition))]
                ).record(Swift.max(0, high - next))
            }
        }

        /// Takes the records librdkafka has fetched; waits briefly when there are none, and returns
        /// a clock tick after the tick interval without data.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<KafkaRecord> {
            let deadline = ContinuousClock.now + tickInterval
            var records: [KafkaRecord] = []
            while true {
                while records.count < maximumCount, let message = rd_kafka_consumer_poll(client.pointer, 0) {
                    defer { rd_kafka_message_destroy(message) }
                    let error = message.pointee.err
                    if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                        if rd_kafka_fatal_error(client.pointer, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR {
                            throw StreamKitError(
                                code: .sourceFailed,
                                message: "Kafka consumer failed: \(KafkaHandle.describe(error))"
                            )
                        }
                        continue  // transient (a broker down): librdkafka retries on its own
                    }
                    let record = Self.record(message)
                    offsets["\(record.topic)/\(record.partition)"] = record.offset + 1
                    records.append(record)
                }
                if !records.isEmpty {
                    reportLag()
                    return .chunk(SourceChunk(elements: records))
                }
                if ContinuousClock.now >= deadline {
                    reportLag()
                    return .tick(.now)
                }
                try await Task.sleep(for: .milliseconds(2))
            }
        }

        /// Leaves the consumer group at once, so that the group's other members take the partitions
        /// over without waiting for a session timeout.
        public mutating func close() async {
            client.closeConsumer()
        }

        /// The next offset of every partition this reader consumed.
        public var position: SourcePosition? { SourcePosition(offsets) }

        /// Starts each partition at its checkpointed offset when it is assigned.
        public mutating func seek(to position: SourcePosition) async throws {
            offsets = position.offsets
            assignment.state.withLock { $0.restored = position.offsets }
        }

        /// Commits the checkpoint's offsets to the consumer group, for lag monitoring.
        public mutating func checkpointCompleted(_ id: Int64, position: SourcePosition?) async throws {
            // Only the partitions this member owns now, and only when they moved: a commit outside
            // a settled group assignment fails anyway.
            let assigned = assignment.state.withLock { $0.assigned }
            guard let all = position?.offsets, all != lastCommitted else { return }
            let offsets = all.filter { assigned.contains($0.key) }
            guard !offsets.isEmpty else { return }
            lastCommitted = all
            let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (key, offset) in offsets {
                guard let slash = key.lastIndex(of: "/"), let partition = Int32(key[key.index(after: slash)...]) else {
                    continue
                }
                rd_kafka_topic_partition_list_add(list, String(key[..<slash]), partition)?.pointee.offset = offset
            }
            // Asynchronous: a failed commit only delays what monitoring shows; the checkpoint holds.
            _ = rd_kafka_commit(client.pointer, list, 1)
        }

        static func record(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaRecord {
            let m = message.pointee
            func bytes(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8]? {
                guard let pointer else { return nil }
                return Array(UnsafeRawBufferPointer(start: pointer, count: count))
            }
            var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let milliseconds = rd_kafka_message_timestamp(message, &type)
            var headers: [KafkaHeader] = []
            var list: OpaquePointer?
            if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
                for index in 0..<rd_kafka_header_cnt(list) {
                    var name: UnsafePointer<CChar>?
                    var value: UnsafeRawPointer?
                    var size = 0
                    if rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
                        let name
                    {
                        headers.append(
                            KafkaHeader(
                                name: String(cString: name),
                                value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                            )
                        )
                    }
                }
            }
            return KafkaRecord(
                topic: String(cString: rd_kafka_topic_name(m.rkt)),
                partition: m.partition,
                offset: m.offset,
                key: bytes(m.key, m.key_len),
                value: bytes(m.payload, m.len),
                headers: headers,
                timestamp: milliseconds >= 0 ? Timestamp(microseconds: milliseconds * 1000) : nil
            )
        }
    }
}
