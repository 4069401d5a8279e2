import StreamKit

/// One record consumed from Kafka.
public struct KafkaRecord: Sendable, Hashable {
    /// The topic.
    public var topic: String
    /// The partition.
    public var partition: Int32
    /// The record's offset in its partition.
    public var offset: Int64
    /// The key, if any.
    public var key: [UInt8]?
    /// The value, if any (`nil` for a tombstone).
    public var value: [UInt8]?
    /// The headers, in order.
    public var headers: [KafkaHeader]
    /// The broker's or the producer's timestamp, if the record has one.
    public var timestamp: Timestamp?

    /// Creates a record.
    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Timestamp? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The value as text, with invalid UTF-8 repaired.
    public var text: String { String(decoding: value ?? [], as: UTF8.self) }
}

extension KafkaRecord: RawRecord {
    /// The value.
    public var rawBytes: [UInt8] { value ?? [] }
    /// `topic/partition@offset`.
    public var rawLocation: String? { "\(topic)/\(partition)@\(offset)" }
}

/// A Kafka record header.
public struct KafkaHeader: Sendable, Hashable {
    /// The header's name.
    public var name: String
    /// The header's value (`nil` for a null value).
    public var value: [UInt8]?

    /// Creates a header.
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}
