import StreamKit

/// The reader of ``KafkaSource`` (records) and ``KafkaDecodingSource`` (decoded values): it takes
/// what librdkafka has fetched a batch at a time, on the pipeline's task, and turns each record
/// into an element while the bytes are still librdkafka's.
public struct KafkaReader<Element: Sendable>: SourceReader {
    /// Turns one message into an element or an error record.
    typealias Convert = @Sendable (borrowing RDKafkaMessage, inout [Element], inout [ErrorRecord]) -> Void

    var consumer: KafkaGroupConsumer
    let convert: Convert

    init(consumer: KafkaGroupConsumer, convert: @escaping Convert) {
        self.consumer = consumer
        self.convert = convert
    }

    /// The name of the gauge of consumer lag: the partition's high watermark minus the next offset
    /// this reader will consume, labelled `group`, `topic` and `partition`; reported about once a
    /// second from librdkafka's cached watermarks (no broker round trip).
    public static var lagMetric: String { "streamkit_kafka_consumer_lag" }

    /// Takes the records librdkafka has fetched, up to `maximumCount` in one batch; waits briefly
    /// when there are none, and returns a clock tick after the tick interval without data.
    /// - Throws: ``StreamKit/StreamKitError`` `sourceFailed` when the consumer failed fatally.
    public mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
        try await consumer.read(maximumCount: maximumCount, convert)
    }

    /// Leaves the consumer group at once, so that the group's other members take the partitions
    /// over without waiting for a session timeout.
    public mutating func close() async {
        consumer.close()
    }

    /// The next offset of every partition this reader consumed.
    public var position: SourcePosition? { consumer.position }

    /// Starts each partition at its checkpointed offset when it is assigned.
    public mutating func seek(to position: SourcePosition) async throws {
        consumer.seek(to: position)
    }

    /// Commits the checkpoint's offsets to the consumer group, for lag monitoring.
    public mutating func checkpointCompleted(_ id: Int64, position: SourcePosition?) async throws {
        consumer.checkpointCompleted(position: position)
    }
}
