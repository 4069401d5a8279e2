/// The librdkafka library StreamKit's Kafka connector is built on (Debian: `librdkafka-dev`, linked
/// through the `CRdKafka` system-library target).
public enum KafkaLibrary {
    /// The version of the librdkafka the program runs with, such as `2.0.2`.
    public static var version: String { RDKafkaClient.libraryVersion }

    /// The timeout to pass to librdkafka's partition seek for a wait of `milliseconds` (see
    /// ``RDKafkaClient/seekTimeout(_:)``).
    static func timeout(_ milliseconds: Int32) -> Int32 { RDKafkaClient.seekTimeout(milliseconds) }
}
