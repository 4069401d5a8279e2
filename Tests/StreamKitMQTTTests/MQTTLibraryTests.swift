import StreamKitMQTT
import Testing

@Suite struct MQTTLibraryTests {
    @Test func linksLibmosquitto2() {
        // Debian bookworm ships libmosquitto 2.0.11; the connector needs the 2.x API.
        #expect(MQTTLibrary.version.hasPrefix("2."))
    }
}
