import Testing

@testable import StreamKitKafka

@Suite struct KafkaLibraryTests {
    @Test func linksLibrdkafka2() {
        // Debian bookworm ships librdkafka 2.0.2, whose mock cluster the connector's tests use.
        #expect(KafkaLibrary.version.hasPrefix("2."))
    }

    /// librdkafka before 2.1.0 waits a thousandth of `rd_kafka_seek_partitions`' timeout (issue 19):
    /// a 10 s wait is passed as 10 000 000 to those versions, as it is to the others.
    @Test func seekTimeoutIsScaledForLibrdkafkaBefore2_1() {
        let parts = KafkaLibrary.version.split(separator: ".").compactMap { Int($0) }
        let before2_1 = parts.count >= 2 && (parts[0], parts[1]) < (2, 1)
        #expect(KafkaLibrary.timeout(10_000) == (before2_1 ? 10_000_000 : 10_000))
        #expect(KafkaLibrary.timeout(.max) == .max, "no overflow into a negative timeout")
        #expect(KafkaLibrary.timeout(-1) == -1, "wait forever stays wait forever")
        #expect(KafkaLibrary.timeout(0) == 0)
    }
}
