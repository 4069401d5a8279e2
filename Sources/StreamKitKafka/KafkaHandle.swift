import CRdKafka
import StreamKit
import Synchronization

/// A librdkafka client instance (`rd_kafka_t`), destroyed with its last reference.
///
/// `@unchecked Sendable`: librdkafka's instance functions are thread safe (its documentation
/// guarantees it for the producer, consumer-poll and admin calls StreamKit makes); the pointer
/// itself never changes.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    let isConsumer: Bool
    let bootstrapServers: String
    /// The object librdkafka's callbacks reach through the configuration's opaque pointer: kept
    /// alive until the client is destroyed, since destruction may still call back.
    let callbackContext: (any Sendable & AnyObject)?

    /// Creates a client of `type` from `conf`, which it takes over.
    init(
        type: rd_kafka_type_t,
        conf: OpaquePointer,
        bootstrapServers: String,
        callbackContext: (any Sendable & AnyObject)? = nil
    ) throws {
        var message = [CChar](repeating: 0, count: 512)
        guard let pointer = rd_kafka_new(type, conf, &message, message.count) else {
            rd_kafka_conf_destroy(conf)
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "librdkafka could not create a client: "
                    + message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            )
        }
        self.pointer = pointer
        self.isConsumer = type == RD_KAFKA_CONSUMER
        self.bootstrapServers = bootstrapServers
        self.callbackContext = callbackContext
    }

    private let consumerClosed = Mutex(false)

    deinit {
        closeConsumer()
        rd_kafka_destroy(pointer)
    }

    /// Leaves the consumer group (once); nothing for a producer.
    func closeConsumer() {
        guard isConsumer,
            !consumerClosed.withLock({ closed in
                defer { closed = true }; return closed
            })
        else { return }
        rd_kafka_consumer_close(pointer)
    }

    /// Waits until the brokers answer a metadata request and checks that `topics` exist.
    /// - Throws: ``StreamKitError`` with code `connectionFailed` when no broker answers within
    ///   `timeoutMilliseconds`, or `invalidConfiguration` for a topic the cluster does not have.
    func checkCluster(topics: [String], timeoutMilliseconds: Int32) throws {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(pointer, 1, nil, &metadata, timeoutMilliseconds)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw StreamKitError(
                code: .connectionFailed,
                message: "no Kafka broker at \(bootstrapServers) answered within \(timeoutMilliseconds) ms "
                    + "(startupTimeout): \(Self.describe(error)); check bootstrapServers and that the brokers run"
            )
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let known = Set(
            (0..<Int(metadata.pointee.topic_cnt)).compactMap { index -> String? in
                let topic = metadata.pointee.topics[index]
                return topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? String(cString: topic.topic) : nil
            }
        )
        let missing = topics.filter { !known.contains($0) }
        if !missing.isEmpty {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "unknown Kafka topic(s) \(missing.map { "'\($0)'" }.joined(separator: ", ")) on "
                    + "\(bootstrapServers): create them (kafka-topics --create) or check the names"
            )
        }
    }

    static func describe(_ error: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(error))
    }
}
