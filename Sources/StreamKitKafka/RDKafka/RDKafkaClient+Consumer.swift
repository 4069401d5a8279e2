import CRdKafka
import StreamKit

/// Handles a consumer group's rebalances. librdkafka calls it while the consumer queue is polled
/// (``RDKafkaQueue/consume(maximumCount:_:)`` or ``RDKafkaClient/pollGroupEvent(timeout:)``), on
/// the polling thread; the client assigns and unassigns the partitions itself.
protocol RDKafkaRebalanceHandler: AnyObject, Sendable {
    /// Before `partitions` are assigned: the offsets to start some of them at (the others start at
    /// the group's committed offset, or at `auto.offset.reset`).
    func assigning(_ partitions: [KafkaPartition]) -> [KafkaPartition: Int64]
    /// After the assignment; `error` when librdkafka refused it.
    func assigned(_ partitions: [KafkaPartition], error: StreamKitError?)
    /// Before `partitions` are taken away; `lost` when the group has given them to another member
    /// already (this one missed its session timeout).
    func revoking(_ partitions: [KafkaPartition], lost: Bool)
}

/// librdkafka's rebalance callback: recovers the client's ``RDKafkaClient/Callbacks`` from the
/// opaque pointer and hands the event to its handler in Swift terms.
let rebalanceTrampoline:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        UnsafeMutableRawPointer?
    ) -> Void = { handle, error, partitions, opaque in
        guard let handle else { return }
        guard let opaque, let partitions,
            let handler = Unmanaged<RDKafkaClient.Callbacks>.fromOpaque(opaque).takeUnretainedValue().rebalance
        else {
            rd_kafka_assign(handle, nil)
            return
        }
        let elements = UnsafeMutableBufferPointer(start: partitions.pointee.elems, count: Int(partitions.pointee.cnt))
        let listed = elements.map { KafkaPartition(topic: String(cString: $0.topic), partition: $0.partition) }
        if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            // Start offsets go into the assignment itself: a seek right after it could lose the race
            // with the fetch of the group's committed offset.
            let offsets = handler.assigning(listed)
            for (index, partition) in listed.enumerated() {
                if let offset = offsets[partition] { elements[index].offset = offset }
            }
            let result = rd_kafka_assign(handle, partitions)
            handler.assigned(
                listed,
                error: result == RD_KAFKA_RESP_ERR_NO_ERROR
                    ? nil
                    : StreamKitError(
                        code: .sourceFailed,
                        message: "Kafka assignment failed: \(RDKafkaClient.describe(result))"
                    )
            )
        } else {
            handler.revoking(listed, lost: rd_kafka_assignment_lost(handle) != 0)
            rd_kafka_assign(handle, nil)
        }
    }

extension RDKafkaClient {
    /// Subscribes the consumer to `topics`; the group assigns their partitions in later polls.
    /// - Throws: ``StreamKitError`` `sourceFailed` with librdkafka's reason.
    func subscribe(_ topics: [String]) throws {
        let list = Self.partitionList(topics.map { ($0, RD_KAFKA_PARTITION_UA, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let error = rd_kafka_subscribe(pointer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw StreamKitError(
                code: .sourceFailed,
                message: "cannot subscribe to Kafka topic(s) \(topics): \(Self.describe(error))"
            )
        }
    }

    /// The consumer queue: the group's records (unless a partition's queue was separated), its
    /// events and errors.
    func consumerQueue() -> RDKafkaQueue {
        RDKafkaQueue(pointer: rd_kafka_queue_get_consumer(pointer), client: self)
    }

    /// The queue of one assigned partition, separated from the consumer queue: its records go
    /// there only. Call it before the partition is assigned (in
    /// ``RDKafkaRebalanceHandler/assigning(_:)``), so that no record reaches the consumer queue.
    func partitionQueue(_ partition: KafkaPartition) -> RDKafkaQueue? {
        guard let queue = rd_kafka_queue_get_partition(pointer, partition.topic, partition.partition) else {
            return nil
        }
        rd_kafka_queue_forward(queue, nil)
        return RDKafkaQueue(pointer: queue, client: self)
    }

    /// Serves the consumer queue for up to `timeout` (rebalances run in it), for a consumer whose
    /// records all go to partition queues; returns the error event it found, if any.
    func pollGroupEvent(timeout: Duration) -> String? {
        guard let message = rd_kafka_consumer_poll(pointer, Self.milliseconds(timeout)) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let error = message.pointee.err
        return error == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : Self.describe(error)
    }

    /// Commits `offsets` (the next offset to read of each partition) to the group, without waiting:
    /// a failed commit only delays what monitoring shows.
    func commit(_ offsets: [KafkaPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        let list = Self.partitionList(offsets.map { ($0.key.topic, $0.key.partition, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = rd_kafka_commit(pointer, list, 1)
    }

    /// Moves an assigned partition to `offset` and waits until librdkafka has done it: what it had
    /// fetched for the partition before is discarded.
    /// - Throws: librdkafka's reason as ``StreamKitError`` `sourceFailed`.
    func seek(_ partition: KafkaPartition, to offset: Int64, timeout: Duration) throws {
        let list = Self.partitionList([(partition.topic, partition.partition, offset)])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard let error = rd_kafka_seek_partitions(pointer, list, Self.seekTimeout(Self.milliseconds(timeout))) else {
            return
        }
        defer { rd_kafka_error_destroy(error) }
        throw StreamKitError(
            code: .sourceFailed,
            message: "cannot seek Kafka partition \(partition) to offset \(offset): "
                + String(cString: rd_kafka_error_string(error))
        )
    }

    /// The timeout to pass to `rd_kafka_seek_partitions` for a wait of `milliseconds`.
    ///
    /// librdkafka before 2.1.0 (Debian bookworm has 2.0.2) reads that timeout as microseconds, so it
    /// waited a thousandth of what was asked and failed with "Timed out waiting for 1 remaining
    /// partition seek(s) to finish"; those versions are given a thousand times the value, at most
    /// `Int32.max` (a product that wrapped around would be negative: no wait at all). Zero and
    /// negative values (no wait, wait forever) pass unchanged.
    static func seekTimeout(_ milliseconds: Int32) -> Int32 {
        guard libraryVersionNumber < 0x0201_0000, milliseconds > 0 else { return milliseconds }
        let (product, overflow) = milliseconds.multipliedReportingOverflow(by: 1000)
        return overflow ? .max : product
    }

    /// The low and high watermarks librdkafka last saw for `partition` (no broker round trip).
    func cachedWatermarks(_ partition: KafkaPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = 0
        var high: Int64 = 0
        guard
            rd_kafka_get_watermark_offsets(pointer, partition.topic, partition.partition, &low, &high)
                == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0
        else { return nil }
        return (low, high)
    }

    /// A new partition list of `(topic, partition, offset)`; the caller destroys it.
    private static func partitionList(
        _ entries: [(topic: String, partition: Int32, offset: Int64?)]
    ) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(entries.count))!
        for entry in entries {
            let element = rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition)
            if let offset = entry.offset { element?.pointee.offset = offset }
        }
        return list
    }
}

/// A librdkafka queue (the consumer queue, or one partition's), destroyed with its last reference.
///
/// `@unchecked Sendable`: librdkafka's queue functions are thread safe and the pointer never
/// changes; one reader task consumes a queue. It keeps its client alive: a queue must be destroyed
/// before the client it belongs to.
final class RDKafkaQueue: @unchecked Sendable {
    private let pointer: OpaquePointer
    private let client: RDKafkaClient

    fileprivate init(pointer: OpaquePointer, client: RDKafkaClient) {
        self.pointer = pointer
        self.client = client
    }

    deinit { rd_kafka_queue_destroy(pointer) }

    /// Takes up to `maximumCount` of the records (and error events) librdkafka has ready, without
    /// waiting, with one call (`rd_kafka_consume_batch_queue`); serves the group's rebalances on
    /// the way. Calls `body` with each, in order, and returns how many there were.
    ///
    /// - Important: A message and its bytes are valid only inside `body`: each is destroyed when
    ///   the batch has been handed over (or `body` has thrown).
    func consume(maximumCount: Int, _ body: (borrowing RDKafkaMessage) throws -> Void) rethrows -> Int {
        try withUnsafeTemporaryAllocation(
            of: UnsafeMutablePointer<rd_kafka_message_t>?.self,
            capacity: maximumCount
        ) { messages in
            let count = rd_kafka_consume_batch_queue(pointer, 0, messages.baseAddress, maximumCount)
            guard count > 0 else { return 0 }
            defer { for index in 0..<count { rd_kafka_message_destroy(messages[index]) } }
            // Most of a batch shares one topic: its name is made once, not per record.
            var topic: (handle: OpaquePointer?, name: String) = (nil, "")
            for index in 0..<count {
                guard let message = messages[index] else { continue }
                let handle = message.pointee.rkt
                if handle != topic.handle {
                    topic = (handle, handle.map { String(cString: rd_kafka_topic_name($0)) } ?? "")
                }
                try body(RDKafkaMessage(message: message, topic: topic.name))
            }
            return count
        }
    }
}

/// One consumed message, borrowed from librdkafka for the time of a
/// ``RDKafkaQueue/consume(maximumCount:_:)`` callback.
struct RDKafkaMessage: ~Copyable {
    fileprivate let message: UnsafeMutablePointer<rd_kafka_message_t>
    /// The topic's name.
    let topic: String

    /// librdkafka's description of the error this message reports instead of a record, if any.
    var error: String? {
        message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : RDKafkaClient.describe(message.pointee.err)
    }

    var partition: Int32 { message.pointee.partition }
    var offset: Int64 { message.pointee.offset }

    /// The value's bytes in librdkafka's buffer (empty for a tombstone): valid only while the
    /// message is.
    var value: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(
            start: message.pointee.payload,
            count: message.pointee.payload == nil ? 0 : message.pointee.len
        )
    }

    /// `topic/partition@offset`, as ``KafkaRecord/rawLocation`` says it.
    var location: String { "\(topic)/\(partition)@\(offset)" }

    /// The record's timestamp, if it has one.
    var timestamp: Timestamp? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &type)
        return milliseconds >= 0 ? Timestamp(microseconds: milliseconds * 1000) : nil
    }

    /// A copy of the whole record: key, value, headers, timestamp.
    var record: KafkaRecord {
        let m = message.pointee
        func bytes(_ pointer: UnsafeRawPointer?, _ count: Int) -> [UInt8]? {
            pointer.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) }
        }
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            for index in 0..<rd_kafka_header_cnt(list) {
                var name: UnsafePointer<CChar>?
                var value: UnsafeRawPointer?
                var size = 0
                if rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let name {
                    headers.append(KafkaHeader(name: String(cString: name), value: bytes(value, size)))
                }
            }
        }
        return KafkaRecord(
            topic: topic,
            partition: m.partition,
            offset: m.offset,
            key: bytes(m.key, m.key_len),
            value: bytes(m.payload, m.len),
            headers: headers,
            timestamp: timestamp
        )
    }
}
