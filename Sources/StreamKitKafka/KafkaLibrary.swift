import CRdKafka

/// The librdkafka library StreamKit's Kafka connector is built on (Debian: `librdkafka-dev`, linked
/// through the `CRdKafka` system-library target).
public enum KafkaLibrary {
    /// The version of the librdkafka the program runs with, such as `2.0.2`.
    public static var version: String {
        String(cString: rd_kafka_version_str())
    }

    /// The timeout to pass to `rd_kafka_seek_partitions` for a wait of `milliseconds`.
    ///
    /// librdkafka before 2.1.0 (Debian bookworm has 2.0.2) reads that timeout as microseconds, so it
    /// waited a thousandth of what was asked and failed with "Timed out waiting for 1 remaining
    /// partition seek(s) to finish"; those versions are given a thousand times the value, at most
    /// `Int32.max` (a product that wrapped around would be negative: no wait at all). Zero and
    /// negative values (no wait, wait forever) pass unchanged.
    static func timeout(_ milliseconds: Int32) -> Int32 {
        guard rd_kafka_version() < 0x0201_0000, milliseconds > 0 else { return milliseconds }
        let (product, overflow) = milliseconds.multipliedReportingOverflow(by: 1000)
        return overflow ? .max : product
    }
}
