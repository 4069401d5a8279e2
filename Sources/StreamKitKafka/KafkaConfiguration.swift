import CRdKafka
import StreamKit

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

    /// A librdkafka configuration with these settings, then `overrides` (the connector's own).
    func makeConf(overrides: [String: String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw StreamKitError(code: .invalidConfiguration, message: "librdkafka could not allocate a configuration")
        }
        var settings = properties
        settings["bootstrap.servers"] = bootstrapServers
        for (name, value) in overrides { settings[name] = value }
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            var message = [CChar](repeating: 0, count: 512)
            if rd_kafka_conf_set(conf, name, value, &message, message.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw StreamKitError(
                    code: .invalidConfiguration,
                    message: "Kafka property \(name)=\(value) was refused by librdkafka: "
                        + message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                )
            }
        }
        return conf
    }

    var startupTimeoutMilliseconds: Int32 {
        Int32(
            clamping: startupTimeout.components.seconds * 1000 + startupTimeout.components.attoseconds
                / 1_000_000_000_000_000
        )
    }
}
