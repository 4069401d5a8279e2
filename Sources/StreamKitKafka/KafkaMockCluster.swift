import StreamKit

/// librdkafka's built-in mock cluster: Kafka brokers inside this process that speak the real
/// protocol on loopback ports, for tests, demonstrations and benchmarks without a Kafka
/// installation. Foreign clients (kcat) connect to ``bootstrapServers`` too.
///
/// It keeps only a few megabytes per partition: consume while producing.
public final class KafkaMockCluster: Sendable {
    /// The brokers' addresses, for ``KafkaConfiguration/bootstrapServers``.
    public let bootstrapServers: String
    /// The client that runs the cluster.
    private let client: RDKafkaClient

    /// Starts a cluster of `brokers` brokers.
    public init(brokers: Int = 3) throws {
        (client, bootstrapServers) = try RDKafkaClient.mockCluster(brokers: brokers)
    }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        try client.createMockTopic(name, partitions: partitions, replicationFactor: replicationFactor)
    }
}
