import StreamKitKafka
import Testing

@Suite struct KafkaLibraryTests {
    @Test func linksLibrdkafka2() {
        // Debian bookworm ships librdkafka 2.0.2, whose mock cluster the connector's tests use.
        #expect(KafkaLibrary.version.hasPrefix("2."))
    }
}
