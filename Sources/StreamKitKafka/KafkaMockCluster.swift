import CRdKafka
import StreamKit

/// librdkafka's built-in mock cluster: Kafka brokers inside this process that speak the real
/// protocol on loopback ports, for tests, demonstrations and benchmarks without a Kafka
/// installation. Foreign clients (kcat) connect to ``bootstrapServers`` too.
///
/// It keeps only a few megabytes per partition: consume while producing.
public final class KafkaMockCluster: Sendable {
    /// The brokers' addresses, for ``KafkaConfiguration/bootstrapServers``.
    public let bootstrapServers: String
    private let client: KafkaHandle
    /// `@unchecked Sendable`: the mock cluster's functions are thread safe; the pointer is constant.
    private struct Cluster: @unchecked Sendable { let pointer: OpaquePointer }
    private let cluster: Cluster

    /// Starts a cluster of `brokers` brokers.
    public init(brokers: Int = 3) throws {
        // No bootstrap servers and `test.mock.num.brokers`: librdkafka starts a mock cluster.
        guard let conf = rd_kafka_conf_new() else {
            throw StreamKitError(code: .invalidConfiguration, message: "librdkafka could not allocate a configuration")
        }
        var message = [CChar](repeating: 0, count: 512)
        rd_kafka_conf_set(conf, "test.mock.num.brokers", "\(brokers)", &message, message.count)
        client = try KafkaHandle(type: RD_KAFKA_PRODUCER, conf: conf, bootstrapServers: "mock")
        guard let cluster = rd_kafka_handle_mock_cluster(client.pointer) else {
            throw StreamKitError(code: .invalidConfiguration, message: "librdkafka did not start a mock cluster")
        }
        self.cluster = Cluster(pointer: cluster)
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let error = rd_kafka_mock_topic_create(cluster.pointer, name, Int32(partitions), Int32(replicationFactor))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "cannot create mock topic '\(name)': \(KafkaHandle.describe(error))"
            )
        }
    }
}
