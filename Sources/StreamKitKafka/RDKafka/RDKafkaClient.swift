import CRdKafka
import StreamKit
import Synchronization

/// The one owner of librdkafka: every `rd_kafka_*` call of StreamKitKafka is made by this type
/// (with its `+Consumer` and `+Producer` extensions), which turns librdkafka's return codes into
/// ``StreamKitError``s and its C types into Swift ones. The sources, the sink and
/// ``KafkaPartitionedPipelines`` speak Swift to it.
///
/// One instance is one librdkafka client (`rd_kafka_t`), destroyed with its last reference: a
/// consumer leaves its group first. Partition queues (``RDKafkaQueue``) keep their client alive,
/// since a queue must be destroyed before the client it belongs to.
///
/// `@unchecked Sendable`: librdkafka's instance functions are thread safe (its documentation
/// guarantees it for the producer, consumer and metadata calls made here); the pointer never
/// changes, and the only mutable state, whether the consumer was closed, is behind a mutex.
final class RDKafkaClient: @unchecked Sendable {
    /// The `rd_kafka_t`, for this type's extensions only.
    let pointer: OpaquePointer
    let isConsumer: Bool
    let bootstrapServers: String
    /// The object librdkafka's callbacks reach through the configuration's opaque pointer: kept
    /// alive until the client is destroyed, since destruction may still call back.
    private let callbacks: Callbacks
    private let consumerClosed = Mutex(false)

    /// What librdkafka's callbacks of one client reach: its rebalance handler (a consumer in a
    /// group) or its delivery reports (a producer).
    final class Callbacks: Sendable {
        let rebalance: (any RDKafkaRebalanceHandler)?
        let deliveries: RDKafkaDeliveries?

        init(rebalance: (any RDKafkaRebalanceHandler)? = nil, deliveries: RDKafkaDeliveries? = nil) {
            self.rebalance = rebalance
            self.deliveries = deliveries
        }
    }

    /// Creates a client with `configuration`'s settings, then `overrides` (the connector's own).
    /// - Throws: ``StreamKitError`` `invalidConfiguration` with librdkafka's message for a property
    ///   it does not know or a value it refuses.
    private init(
        consumer: Bool,
        configuration: KafkaConfiguration,
        overrides: [String: String],
        callbacks: Callbacks
    ) throws {
        var settings = configuration.properties
        // None for the mock cluster, which librdkafka starts only without bootstrap servers.
        if !configuration.bootstrapServers.isEmpty { settings["bootstrap.servers"] = configuration.bootstrapServers }
        for (name, value) in overrides { settings[name] = value }
        let conf = try Self.makeConf(settings)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        if callbacks.rebalance != nil { rd_kafka_conf_set_rebalance_cb(conf, rebalanceTrampoline) }
        if callbacks.deliveries != nil { rd_kafka_conf_set_dr_msg_cb(conf, deliveryTrampoline) }
        var message = [CChar](repeating: 0, count: 512)
        guard let pointer = rd_kafka_new(consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, &message, 512)
        else {
            rd_kafka_conf_destroy(conf)
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "librdkafka could not create a client: " + Self.string(message)
            )
        }
        self.pointer = pointer
        self.isConsumer = consumer
        self.bootstrapServers = configuration.bootstrapServers
        self.callbacks = callbacks
    }

    /// A consumer in a group: `rebalance` handles the group's assignments, and every event and
    /// record comes through the consumer queue (``consumerQueue()``).
    static func consumer(
        _ configuration: KafkaConfiguration,
        overrides: [String: String],
        rebalance: any RDKafkaRebalanceHandler
    ) throws -> RDKafkaClient {
        let client = try RDKafkaClient(
            consumer: true,
            configuration: configuration,
            overrides: overrides,
            callbacks: Callbacks(rebalance: rebalance)
        )
        rd_kafka_poll_set_consumer(client.pointer)
        return client
    }

    /// A producer whose delivery reports go to `deliveries` (served by ``poll()``).
    static func producer(
        _ configuration: KafkaConfiguration,
        overrides: [String: String],
        deliveries: RDKafkaDeliveries
    ) throws -> RDKafkaClient {
        try RDKafkaClient(
            consumer: false,
            configuration: configuration,
            overrides: overrides,
            callbacks: Callbacks(deliveries: deliveries)
        )
    }

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
    ///   `timeout`, or `invalidConfiguration` for a topic the cluster does not have.
    func checkCluster(topics: [String], timeout: Duration) throws {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let milliseconds = Self.milliseconds(timeout)
        let error = rd_kafka_metadata(pointer, 1, nil, &metadata, milliseconds)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw StreamKitError(
                code: .connectionFailed,
                message: "no Kafka broker at \(bootstrapServers) answered within \(milliseconds) ms "
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

    /// The fatal error that has made this client unusable, if any (librdkafka retries every other
    /// error on its own).
    var fatalError: String? {
        var message = [CChar](repeating: 0, count: 512)
        let error = rd_kafka_fatal_error(pointer, &message, message.count)
        return error == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : Self.string(message)
    }

    // MARK: - Library

    /// The version of librdkafka the program runs with, such as `2.0.2`.
    static var libraryVersion: String { String(cString: rd_kafka_version_str()) }

    /// The version as librdkafka encodes it: `0xMMmmrrxx`.
    static var libraryVersionNumber: Int32 { rd_kafka_version() }

    /// librdkafka's text for an error code.
    static func describe(_ error: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(error))
    }

    /// A librdkafka configuration with `settings`, applied in name order.
    private static func makeConf(_ settings: [String: String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw StreamKitError(code: .invalidConfiguration, message: "librdkafka could not allocate a configuration")
        }
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            var message = [CChar](repeating: 0, count: 512)
            if rd_kafka_conf_set(conf, name, value, &message, message.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw StreamKitError(
                    code: .invalidConfiguration,
                    message: "Kafka property \(name)=\(value) was refused by librdkafka: " + string(message)
                )
            }
        }
        return conf
    }

    private static func string(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// `duration` in whole milliseconds, clamped to what librdkafka takes.
    static func milliseconds(_ duration: Duration) -> Int32 {
        Int32(clamping: duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    // MARK: - Mock cluster

    /// librdkafka's mock cluster of `brokers` brokers, run by a producer client of its own (which
    /// `client` keeps alive): nothing but `test.mock.num.brokers` and no bootstrap servers.
    static func mockCluster(brokers: Int) throws -> (client: RDKafkaClient, bootstrapServers: String) {
        let client = try RDKafkaClient(
            consumer: false,
            configuration: KafkaConfiguration(bootstrapServers: ""),
            overrides: ["test.mock.num.brokers": "\(brokers)"],
            callbacks: Callbacks()
        )
        guard let cluster = rd_kafka_handle_mock_cluster(client.pointer) else {
            throw StreamKitError(code: .invalidConfiguration, message: "librdkafka did not start a mock cluster")
        }
        return (client, String(cString: rd_kafka_mock_cluster_bootstraps(cluster)))
    }

    /// Creates a topic on this client's mock cluster.
    func createMockTopic(_ name: String, partitions: Int, replicationFactor: Int) throws {
        guard let cluster = rd_kafka_handle_mock_cluster(pointer) else {
            throw StreamKitError(code: .invalidConfiguration, message: "this Kafka client runs no mock cluster")
        }
        let error = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "cannot create mock topic '\(name)': \(Self.describe(error))"
            )
        }
    }
}
