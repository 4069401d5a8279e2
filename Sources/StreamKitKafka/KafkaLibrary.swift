import CRdKafka

/// The librdkafka library StreamKit's Kafka connector is built on.
///
/// The Kafka source and sink arrive with the connector issue; this target already links
/// librdkafka (Debian: `librdkafka-dev`) through the `CRdKafka` system-library target.
public enum KafkaLibrary {
    /// The version of the librdkafka the program runs with, such as `2.0.2`.
    public static var version: String {
        String(cString: rd_kafka_version_str())
    }
}
