import CRdKafka
import Logging
import StreamKit
import Synchronization

/// One Kafka partition's records, read from the partition's own librdkafka queue: the source of
/// each pipeline copy that ``KafkaPartitionedPipelines`` runs.
///
/// Its position is the partition's next offset; a restored copy seeks the partition there, and a
/// completed checkpoint commits it to the consumer group (for lag monitoring). Made by
/// ``KafkaPartitionedPipelines``, not by hand.
public struct KafkaPartitionSource: Source {
    /// The element type: one consumed record.
    public typealias Element = KafkaRecord

    /// The partition.
    public let partition: KafkaPartition
    let client: KafkaHandle
    let queue: PartitionQueue
    let logger: Logger
    /// Where the copy's first run began reading since the assignment.
    let origin: PartitionOrigin
    /// Whether this run restarts a copy that failed.
    let restarted: Bool

    /// Opens the reader.
    public func makeReader(context: SourceContext) async throws -> Reader {
        // A restarted copy reads again what the failed run read, unless it restores a checkpoint
        // (which seeks further on): the queue is past those records, and the failed run's output
        // after its last checkpoint was never committed.
        Reader(source: self, tickInterval: context.tickInterval, rewind: restarted ? origin.offset : nil)
    }

    /// Reads the partition's queue on the pipeline's task.
    public struct Reader: SourceReader {
        let source: KafkaPartitionSource
        let tickInterval: Duration
        /// The offset to seek to before the first read, when no checkpoint was restored.
        var rewind: Int64?
        var next: Int64?

        /// Takes the records librdkafka fetched for the partition; a clock tick after the tick
        /// interval without data.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<KafkaRecord> {
            if let rewind {
                source.logger.info(
                    "restarted copy has no checkpoint; reading its partition again from where it began",
                    metadata: ["partition": "\(source.partition)", "offset": "\(rewind)"]
                )
                try await seek(to: SourcePosition(["offset": rewind]))
            }
            let deadline = ContinuousClock.now + tickInterval
            var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: maximumCount)
            while true {
                let count = rd_kafka_consume_batch_queue(source.queue.pointer, 0, &messages, maximumCount)
                if count > 0 {
                    var records: [KafkaRecord] = []
                    records.reserveCapacity(count)
                    for message in messages[0..<count] {
                        guard let message else { continue }
                        defer { rd_kafka_message_destroy(message) }
                        guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                            // Transient errors are retried by librdkafka; say what happened (an
                            // offset reset after retention removed the checkpointed offset).
                            source.logger.warning(
                                "Kafka partition error",
                                metadata: [
                                    "partition": "\(source.partition)",
                                    "error": "\(KafkaHandle.describe(message.pointee.err))",
                                ]
                            )
                            continue
                        }
                        // Records before the restored position were fetched before the seek.
                        if let next, message.pointee.offset < next { continue }
                        let record = KafkaSource.Reader.record(message)
                        next = record.offset + 1
                        records.append(record)
                    }
                    if let first = records.first { source.origin.record(first.offset) }
                    if !records.isEmpty { return .chunk(SourceChunk(elements: records)) }
                }
                if ContinuousClock.now >= deadline { return .tick(.now) }
                try await Task.sleep(for: .milliseconds(2))
            }
        }

        /// The partition's next offset, once a record was read.
        public var position: SourcePosition? { next.map { SourcePosition(["offset": $0]) } }

        /// Seeks the partition to a checkpointed offset, and waits until librdkafka has done it:
        /// what it had fetched for the partition before is discarded (a copy restarted after a
        /// failure reads again from its checkpoint), and records from before the offset are skipped.
        /// - Throws: ``StreamKitError`` when the seek fails three times.
        public mutating func seek(to position: SourcePosition) async throws {
            guard let offset = position.offsets["offset"] else { return }
            rewind = nil
            var attempt = 0
            while true {
                attempt += 1
                let list = rd_kafka_topic_partition_list_new(1)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                rd_kafka_topic_partition_list_add(list, source.partition.topic, source.partition.partition)?.pointee
                    .offset = offset
                guard let error = rd_kafka_seek_partitions(source.client.pointer, list, KafkaLibrary.timeout(10_000))
                else { break }
                let text = String(cString: rd_kafka_error_string(error))
                rd_kafka_error_destroy(error)
                guard attempt < 3 else {
                    throw StreamKitError(
                        code: .sourceFailed,
                        message: "cannot seek Kafka partition \(source.partition) to offset \(offset): \(text)"
                    )
                }
                source.logger.warning(
                    "Kafka seek failed; trying again",
                    metadata: ["partition": "\(source.partition)", "offset": "\(offset)", "error": "\(text)"]
                )
                try await Task.sleep(for: .milliseconds(200))
            }
            next = offset
        }

        /// Commits the checkpointed offset to the group, so that standard tools show the lag.
        public mutating func checkpointCompleted(_ id: Int64, position: SourcePosition?) async throws {
            guard let offset = position?.offsets["offset"] else { return }
            let list = rd_kafka_topic_partition_list_new(1)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            rd_kafka_topic_partition_list_add(list, source.partition.topic, source.partition.partition)?.pointee
                .offset =
                offset
            _ = rd_kafka_commit(source.client.pointer, list, 1)
        }
    }
}

/// A topic and a partition.
public struct KafkaPartition: Sendable, Hashable, CustomStringConvertible {
    /// The topic.
    public var topic: String
    /// The partition number.
    public var partition: Int32

    /// Creates a partition reference.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// `topic/partition`.
    public var description: String { "\(topic)/\(partition)" }
}

/// The offset of the first record a partition's copy read since the partition was assigned: where
/// a restarted copy that has no checkpoint to restore reads again from.
final class PartitionOrigin: Sendable {
    private let first = Mutex<Int64?>(nil)

    var offset: Int64? { first.withLock { $0 } }

    /// Keeps `offset` if it is the first one recorded.
    func record(_ offset: Int64) {
        first.withLock { first in
            if first == nil { first = offset }
        }
    }
}

/// A partition's librdkafka queue, destroyed with its last reference.
///
/// `@unchecked Sendable`: librdkafka's queue functions are thread safe; the pointer never changes,
/// and one reader task consumes it. It keeps its client alive: a queue must be destroyed before the
/// instance it belongs to.
final class PartitionQueue: @unchecked Sendable {
    let pointer: OpaquePointer
    let client: KafkaHandle

    init(pointer: OpaquePointer, client: KafkaHandle) {
        self.pointer = pointer
        self.client = client
    }

    deinit { rd_kafka_queue_destroy(pointer) }
}
