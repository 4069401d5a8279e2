import Foundation
import StreamKit
import Testing

/// The same graph over a file (batch) and over the same records fed one by one (streaming) gives
/// the same rows.
@Suite struct BatchEqualsStreamingTests {
    static func readings() -> [Reading] {
        var readings: [Reading] = []
        var state: UInt64 = 42
        for index in 0..<3000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let disorder = Double(state >> 60)  // 0...15 s
            let late = index % 97 == 0 ? 90.0 : 0
            readings.append(
                reading("s\(state >> 40 & 7)", Double(index) / 4 - disorder - late, Double(state >> 50 & 255))
            )
        }
        return readings
    }

    /// The graph under test: event time with a 10 s bound, one-minute windows per sensor with count,
    /// mean and standard deviation, and the late readings.
    static func wire(_ input: DataStream<Reading>, results: CollectingSink<String>, late: CollectingSink<Reading>) {
        let windowed =
            input
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(10)))
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
        windowed.late.sink(late)
        windowed.aggregate(Count(), Mean { $0.value }, StandardDeviation { $0.value })
            .map { "\($0.key) \($0.window.start) \($0.value.0) \($0.value.1) \($0.value.2)" }
            .sink(results)
    }

    @Test func fileAndIncrementalFeedGiveTheSameRows() async throws {
        let readings = Self.readings()
        let directory = TemporaryDirectory()
        let encoder = JSONEncoder()
        let lines = try readings.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let file = directory.write("readings.jsonl", lines.joined(separator: "\n") + "\n")

        let batch = Pipeline("batch", configuration: PipelineConfiguration(workers: 2))
        let batchRows = CollectingSink<String>()
        let batchLate = CollectingSink<Reading>()
        Self.wire(batch.source(JSONLinesSource<Reading>(path: file)), results: batchRows, late: batchLate)
        try await batch.run()

        let (stream, continuation) = AsyncStream<Reading>.makeStream()
        let streaming = Pipeline("streaming", configuration: PipelineConfiguration(workers: 1, batchSize: 16))
        let streamRows = CollectingSink<String>()
        let streamLate = CollectingSink<Reading>()
        Self.wire(
            streaming.source(AsyncSequenceSource(stream, bufferCapacity: 8)),
            results: streamRows,
            late: streamLate
        )
        let run = Task { try await streaming.run() }
        for reading in readings {
            continuation.yield(reading)
            if reading.value == 0 { await Task.yield() }
        }
        continuation.finish()
        try await run.value

        #expect(batchRows.elements.count > 100)
        #expect(batchRows.elements.sorted() == streamRows.elements.sorted())
        #expect(!batchLate.elements.isEmpty)
        #expect(Set(batchLate.elements) == Set(streamLate.elements))
    }
}
