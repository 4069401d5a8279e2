/// How a Kafka client connects: the brokers, any librdkafka property, and how long start-up may
/// take.
///
/// ```swift
/// var kafka = KafkaConfiguration(bootstrapServers: "kafka-1:9092,kafka-2:9092")
/// kafka.properties["security.protocol"] = "SASL_SSL"
/// ```
public struct KafkaConfiguration: Sendable {
    /// The brokers to bootstrap from, as `host:port` separated by commas.
    public var bootstrapServers: String
    /// librdkafka properties passed through as they are (see librdkafka's CONFIGURATION.md). A
    /// name librdkafka does not know, or a value it rejects, fails start-up with librdkafka's own
    /// message.
    public var properties: [String: String]
    /// How long start-up may wait for the brokers to answer before it fails.
    public var startupTimeout: Duration

    /// Creates a configuration.
    public init(
        bootstrapServers: String,
        properties: [String: String] = [:],
        startupTimeout: Duration = .seconds(10)
    ) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.startupTimeout = startupTimeout
    }
}
