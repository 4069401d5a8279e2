import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import StreamKit
import StreamKitMQTT
import StreamKitPrometheus
import Testing

/// A real Prometheus (Debian's `prometheus`, installed by ./scripts/setup) scrapes a pipeline fed by
/// a real mosquitto; its query API must show the series move, and a killed broker show as
/// disconnected, then connected again.
@Suite(.serialized) struct RealPrometheusTests {
    /// A reading with its event time in microseconds.
    struct Tick: Codable, Sendable {
        var time: Timestamp
    }

    /// The value of the first series `query` returns, or `nil`.
    static func query(_ client: TestClient, _ query: String) async throws -> Double? {
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        // Prometheus (Go's HTTP server) answers 400 to a request without a Host header.
        let response = try await client.execute(
            TestClient.Request("/api/v1/query?query=\(encoded)", method: .get, authority: "127.0.0.1")
        )
        guard let body = response.body,
            let answer = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let data = answer["data"] as? [String: Any],
            let result = data["result"] as? [[String: Any]],
            let value = result.first?["value"] as? [Any],
            let text = value.last as? String
        else { return nil }
        return Double(text)
    }

    /// Polls `query` until `condition` holds for its value; returns the value.
    static func wait(
        _ client: TestClient,
        _ query: String,
        seconds: Double = 30,
        until condition: (Double) -> Bool
    ) async throws -> Double? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var last: Double?
        while ContinuousClock.now < deadline {
            last = try await Self.query(client, query)
            if let last, condition(last) { return last }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("\(query) never met the condition; last value \(String(describing: last))")
        return last
    }

    @Test(.timeLimit(.minutes(3)))
    func seriesMoveAndABrokerOutageShowsUpInPrometheus() async throws {
        let prometheusPath = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        let binary = try #require(prometheusPath, "Prometheus is missing: run ./scripts/setup (Debian: prometheus)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prom-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let broker = try LocalMosquitto(directory: directory + "/mosquitto")
        defer { broker.stop() }
        let exporter = PrometheusExporter.bootstrap()
        let metricsPort = try LocalMosquitto.freePort()
        let server = Task { try await exporter.run(port: metricsPort) }
        defer { server.cancel() }

        // The pipeline under watch: MQTT in, event time, a collecting sink.
        let mqtt = try MQTTConfiguration(address: "127.0.0.1:\(broker.port)", clientID: "prometheus-test")
        let pipeline = Pipeline("prometheus-test")
        let seen = CollectingSink<Tick>()
        pipeline.source(MQTTSource(mqtt, topics: ["ticks"], qos: .atLeastOnce).decoding(Tick.self), name: "mqtt")
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(1)))
            .sink(seen, name: "seen")
        let run = Task { try await pipeline.run() }
        defer { pipeline.stop() }

        // A publisher: one reading every 20 ms, event time = now.
        var publisherConfiguration = try MQTTConfiguration(address: "127.0.0.1:\(broker.port)", clientID: "ticker")
        publisherConfiguration.cleanSession = true
        let ticks = AsyncStream<[UInt8]> { continuation in
            let task = Task {
                while !Task.isCancelled {
                    continuation.yield(Array(#"{"time":"\#(Timestamp.now.iso8601)"}"#.utf8))
                    try? await Task.sleep(for: .milliseconds(20))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        let publisher = Pipeline("ticker")
        publisher.source(AsyncSequenceSource(ticks), name: "ticks")
            .sink(MQTTSink<[UInt8]>(publisherConfiguration, topic: "ticks", qos: .atLeastOnce) { $0 }, name: "publish")
        let publishing = Task { try await publisher.run() }
        defer { publisher.stop() }

        // Debian's Prometheus, scraping every second.
        let prometheusPort = try LocalMosquitto.freePort()
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: streamkit
            static_configs: [{targets: ["127.0.0.1:\(metricsPort)"]}]
        """.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: binary)
        prometheus.arguments = [
            "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(prometheusPort)",
        ]
        prometheus.standardOutput = FileHandle.nullDevice
        prometheus.standardError = FileHandle.nullDevice
        try prometheus.run()
        defer {
            kill(prometheus.processIdentifier, SIGKILL)
            prometheus.waitUntilExit()
        }

        let records = #"streamkit_records_in_total{pipeline="prometheus-test",operator="mqtt"}"#
        let watermark = #"streamkit_watermark_seconds{pipeline="prometheus-test"}"#
        let connected = #"streamkit_mqtt_connected{client_id="prometheus-test",role="source"}"#
        let connects = #"streamkit_mqtt_connects_total{client_id="prometheus-test",role="source"}"#
        // Prometheus needs a moment to start: poll with a fresh connection until it answers.
        var ready = false
        for _ in 0..<120 where !ready {
            ready =
                (try? await TestClient.withClient(host: "127.0.0.1", port: prometheusPort) { client in
                    try await client.execute(TestClient.Request("/-/ready", method: .get, authority: "127.0.0.1"))
                        .status == .ok
                }) ?? false
            if !ready { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(ready, "Prometheus did not start")

        let client = TestClient(host: "127.0.0.1", port: prometheusPort)
        client.connect()
        let firstCount = try #require(try await Self.wait(client, records) { $0 > 0 })
        let firstWatermark = try #require(try await Self.wait(client, watermark) { $0 > 1e9 })
        _ = try await Self.wait(client, connected) { $0 == 1 }
        // The series move.
        _ = try await Self.wait(client, records) { $0 > firstCount }
        _ = try await Self.wait(client, watermark) { $0 > firstWatermark }

        // The broker dies: the source shows as disconnected...
        broker.kill()
        _ = try await Self.wait(client, connected) { $0 == 0 }
        // ...and connected again once the broker is back.
        try broker.start()
        _ = try await Self.wait(client, connected) { $0 == 1 }
        _ = try await Self.wait(client, connects) { $0 >= 2 }
        try? await client.shutdown()
        pipeline.stop()
        publisher.stop()
        _ = try? await run.value
        _ = try? await publishing.value
    }
}
