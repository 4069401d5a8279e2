import Foundation
import Hummingbird
import HummingbirdTesting
import StreamKit
import StreamKitPrometheus
import Testing

/// The metrics of a small deterministic pipeline, as Prometheus reads them.
@Suite struct PrometheusExporterTests {
    struct NotANumber: Error, CustomStringConvertible {
        var description: String { "not a number" }
    }

    /// The value of `metric` with the pipeline's and the operator's labels.
    func value(_ text: String, _ metric: String, pipeline: String, operator name: String? = nil) -> Double? {
        text.split(separator: "\n").first { line in
            line.hasPrefix(metric + "{") && line.contains("pipeline=\"\(pipeline)\"")
                && (name == nil || line.contains("operator=\"\(name!)\""))
        }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func recordsErrorsLateRecordsWatermarksAndCheckpointsAreExported() async throws {
        let exporter = PrometheusExporter.bootstrap()
        let pipeline = Pipeline("metrics-test", configuration: PipelineConfiguration(workers: 2, batchSize: 7))
        // 0…89 s, every tenth one unreadable, then three readings of the first minute, late.
        let input = (0..<90).map { $0 % 10 == 5 ? "x" : String($0) } + ["1", "2", "3"]
        let results = CollectingSink<WindowResult<Int, Int>>()
        let windows = pipeline.source(input, name: "numbers")
            .tryMap(name: "parse") { text -> Int in
                guard let number = Int(text) else { throw NotANumber() }
                return number
            }
            .eventTime({ Timestamp(microseconds: Int64($0) * 1_000_000) }, watermark: .boundedOutOfOrderness(.zero))
            .key(by: { _ in 0 })
            .window(.tumbling(.minutes(1)), name: "minutes")
        windows.late.sink(CollectingSink(), name: "late")
        windows.aggregate(Count()).sink(results, name: "results")
        let checkpoints = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
            .path
        try await pipeline.run(checkpoints: .every(.seconds(60), in: checkpoints))

        let text = exporter.text()
        #expect(value(text, "streamkit_records_in_total", pipeline: "metrics-test", operator: "numbers") == 93)
        #expect(value(text, "streamkit_errors_total", pipeline: "metrics-test", operator: "parse") == 9)
        #expect(value(text, "streamkit_late_records_total", pipeline: "metrics-test", operator: "minutes") == 3)
        #expect(value(text, "streamkit_records_out_total", pipeline: "metrics-test", operator: "results") == 2)
        #expect(value(text, "streamkit_records_out_total", pipeline: "metrics-test", operator: "late") == 3)
        // The last watermark before the end of input: the highest event time, 89 s.
        #expect(value(text, "streamkit_watermark_seconds", pipeline: "metrics-test") == 89)
        // The queue in front of the keyed stage: at most its capacity (16 messages by default).
        let depth = try #require(value(text, "streamkit_queue_depth", pipeline: "metrics-test"))
        #expect((0...16).contains(depth))

        // A graceful stop takes a checkpoint: its metrics appear.
        let (stream, feed) = AsyncStream<Int>.makeStream()
        let live = Pipeline("metrics-checkpoint", configuration: PipelineConfiguration(workers: 1))
        let seen = CollectingSink<Int>()
        live.source(AsyncSequenceSource(stream), name: "feed").sink(seen)
        let run = Task { try await live.run(checkpoints: .every(.seconds(60), in: checkpoints + "-live")) }
        feed.yield(1)
        while seen.elements.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        live.stop()
        try await run.value
        let after = exporter.text()
        #expect(value(after, "streamkit_checkpoints_total", pipeline: "metrics-checkpoint") == 1)
        let last = value(after, "streamkit_last_checkpoint_timestamp_seconds", pipeline: "metrics-checkpoint") ?? 0
        #expect(abs(last - Date().timeIntervalSince1970) < 60)

        let app = Application(router: exporter.router(isReady: { false }))
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(
                    String(decoding: response.body.readableBytesView, as: UTF8.self).contains(
                        "streamkit_records_in_total"
                    )
                )
            }
            try await client.execute(uri: "/health", method: .get) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }

    @Test func aCheckpointThatCannotBeWrittenIsCountedAsAFailure() async throws {
        let exporter = PrometheusExporter.bootstrap()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("failing-\(UUID().uuidString)")
            .path
        let (stream, feed) = AsyncStream<Int>.makeStream()
        let live = Pipeline("metrics-checkpoint-failure", configuration: PipelineConfiguration(workers: 1))
        let seen = CollectingSink<Int>()
        live.source(AsyncSequenceSource(stream), name: "feed").sink(seen)
        let run = Task { try await live.run(checkpoints: .every(.seconds(60), in: directory)) }
        feed.yield(1)
        while seen.elements.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        // The checkpoint folder turns into a file: the final checkpoint cannot be written.
        try FileManager.default.removeItem(atPath: directory)
        FileManager.default.createFile(atPath: directory, contents: Data("not a folder".utf8))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        live.stop()
        await #expect(throws: (any Error).self) { try await run.value }
        #expect(
            value(exporter.text(), "streamkit_checkpoint_failures_total", pipeline: "metrics-checkpoint-failure") == 1
        )
    }
}
