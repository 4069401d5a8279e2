import StreamKit
import Testing

/// Watermarks taken per input partition: the minimum over partitions that are not idle.
@Suite struct PartitionedWatermarkTests {
    struct Record: Sendable, Hashable {
        var partition: Int
        var seconds: Double
    }

    /// Counts per one-minute window, and the late records, with or without per-partition watermarks.
    func run(_ records: [Record], partitioned: Bool) async throws -> (counts: [Double: Int], late: [Record]) {
        let pipeline = Pipeline("partitions", configuration: PipelineConfiguration(workers: 1, batchSize: 1))
        let counts = CollectingSink<WindowResult<Int, Int>>()
        let late = CollectingSink<Record>()
        let source = pipeline.source(records)
        let timed =
            partitioned
            ? source.eventTime(
                { at($0.seconds) },
                watermark: .boundedOutOfOrderness(.zero),
                partition: { $0.partition }
            )
            : source.eventTime({ at($0.seconds) }, watermark: .boundedOutOfOrderness(.zero))
        let windows = timed.key(by: { _ in 0 }).window(.tumbling(.minutes(1)))
        windows.late.sink(late)
        windows.aggregate(Count()).sink(counts)
        try await pipeline.run()
        var byStart: [Double: Int] = [:]
        for result in counts.elements {
            byStart[Double(result.window.start.microseconds) / 1_000_000] = result.value
        }
        return (byStart, late.elements)
    }

    @Test func aPartitionBehindTheOthersHoldsTheWatermarkBack() async throws {
        // Partition 0 runs ahead to 65 s while partition 1 is still at 20 s and then sends 30 s.
        let records = [
            Record(partition: 0, seconds: 10), Record(partition: 1, seconds: 20),
            Record(partition: 0, seconds: 65), Record(partition: 1, seconds: 30),
            Record(partition: 1, seconds: 70), Record(partition: 0, seconds: 130),
        ]
        // Over the whole input, the watermark reaches 65 s with partition 0: 30 s is late.
        let global = try await run(records, partitioned: false)
        #expect(global.counts[0] == 2)
        #expect(global.late == [Record(partition: 1, seconds: 30)])
        // Per partition, the watermark is min(65, 20) = 20 s, then min(65, 30) = 30 s: nothing is
        // late, and the first minute closes with three records once partition 1 reaches 70 s.
        let perPartition = try await run(records, partitioned: true)
        #expect(perPartition.counts[0] == 3)
        #expect(perPartition.counts[60] == 2)
        #expect(perPartition.counts[120] == 1)
        #expect(perPartition.late.isEmpty)
    }
}
