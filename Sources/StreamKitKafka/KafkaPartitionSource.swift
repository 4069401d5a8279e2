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
    let client: RDKafkaClient
    let queue: RDKafkaQueue
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
            while true {
                var records: [KafkaRecord] = []
                let count = source.queue.consume(maximumCount: maximumCount) { message in
                    if let error = message.error {
                        // Transient errors are retried by librdkafka; say what happened (an offset
                        // reset after retention removed the checkpointed offset).
                        source.logger.warning(
                            "Kafka partition error",
                            metadata: ["partition": "\(source.partition)", "error": "\(error)"]
                        )
                        return
                    }
                    // Records before the restored position were fetched before the seek.
                    if let next, message.offset < next { return }
                    next = message.offset + 1
                    records.append(message.record)
                }
                if let first = records.first {
                    source.origin.record(first.offset)
                    return .chunk(SourceChunk(elements: records))
                }
                if count == 0 {
                    if ContinuousClock.now >= deadline { return .tick(.now) }
                    try await Task.sleep(for: .milliseconds(2))
                }
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
                do {
                    try source.client.seek(source.partition, to: offset, timeout: .seconds(10))
                    break
                } catch {
                    guard attempt < 3 else { throw error }
                    source.logger.warning(
                        "Kafka seek failed; trying again",
                        metadata: ["partition": "\(source.partition)", "offset": "\(offset)", "error": "\(error)"]
                    )
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            next = offset
        }

        /// Commits the checkpointed offset to the group, so that standard tools show the lag.
        public mutating func checkpointCompleted(_ id: Int64, position: SourcePosition?) async throws {
            guard let offset = position?.offsets["offset"] else { return }
            source.client.commit([source.partition: offset])
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
