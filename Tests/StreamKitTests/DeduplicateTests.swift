import StreamKit
import Testing

/// `deduplicate(by:within:)`: a copy of an element (same key, same identity) seen within the span
/// is dropped; after the watermark has passed the span, the identity is forgotten; windows behind it
/// count each record once, whatever the batch size and the number of workers.
@Suite struct DeduplicateTests {
    func deduplicated(_ readings: [Reading], within: Duration, workers: Int = 1, batchSize: Int = 4096) async throws
        -> (kept: [Reading], rows: [Row])
    {
        let pipeline = Pipeline("dedup", configuration: PipelineConfiguration(workers: workers, batchSize: batchSize))
        let kept = CollectingSink<Reading>()
        let results = CollectingSink<WindowResult<String, (Int, Double)>>()
        let unique = pipeline.source(readings)
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
            .key(by: { $0.sensor })
            .deduplicate(by: { $0.time }, within: within)
        unique.stream.sink(kept)
        unique.window(.tumbling(.minutes(1))).aggregate(Count(), Sum { $0.value }).sink(results)
        try await pipeline.run()
        return (kept.elements, results.elements.map(Row.init).sorted())
    }

    @Test func copiesWithinTheSpanAreDroppedAndWindowsCountEachReadingOnce() async throws {
        var readings: [Reading] = []
        for second in 0..<120 {
            readings.append(reading("a", Double(second), Double(second)))
            readings.append(reading("b", Double(second), 1))
            // A copy of every tenth reading of a, a little later in the input.
            if second % 10 == 9 { readings.append(reading("a", Double(second - 2), Double(second - 2))) }
        }
        // Same time, other sensor: not a copy (late for its window, which has closed).
        readings.append(reading("c", 3, 7))
        for workers in [1, 2] {
            for batchSize in [1, 7, 4096] {
                let (kept, rows) = try await deduplicated(
                    readings,
                    within: .minutes(2),
                    workers: workers,
                    batchSize: batchSize
                )
                #expect(kept.count == 241, "workers \(workers), batch \(batchSize)")
                #expect(Set(kept) == Set(readings))
                #expect(
                    rows
                        == [
                            Row("a", 0, 60, count: 60, sum: 1770), Row("a", 60, 120, count: 60, sum: 5370),
                            Row("b", 0, 60, count: 60, sum: 60), Row("b", 60, 120, count: 60, sum: 60),
                        ].sorted()
                )
            }
        }
    }

    @Test func anIdentityIsForgottenOnceTheWatermarkPassesTheSpan() async throws {
        // The copy of the reading at 0 s comes when the watermark is at 95 s (100 s - 5 s bound):
        // remembered for 60 s, it is forgotten by then and passes; the copy of 50 s is still known.
        let readings = [
            reading("a", 0), reading("a", 50), reading("a", 100), reading("a", 0), reading("a", 50),
        ]
        let (kept, _) = try await deduplicated(readings, within: .seconds(60))
        #expect(kept.map(\.time) == [at(0), at(50), at(100), at(0)])
    }

    @Test func aSpanThatIsNotPositiveIsRefusedAtStart() async throws {
        let pipeline = Pipeline("dedup")
        pipeline.source([reading("a", 0)])
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.zero))
            .key(by: { $0.sensor })
            .deduplicate(by: { $0.time }, within: .zero)
            .stream.sink(CollectingSink())
        await #expect(throws: StreamKitError.self) { try await pipeline.run() }
    }
}
