import Foundation
import StreamKit
import Synchronization
import Testing

@Suite struct WatermarkTests {
    @Test func mergedInputsHoldTheWatermarkAtTheSlowerInput() async throws {
        // Two in-order inputs: each reading is on time for its own input. With the watermark the
        // minimum over both inputs, none is late whatever the interleaving of the two sources.
        let pipeline = Pipeline("merge", configuration: PipelineConfiguration(workers: 1, batchSize: 7))
        let fast = pipeline.source((0..<200).map { reading("fast", Double($0)) })
            .eventTime({ $0.time }, watermark: .ascending())
        let slow = pipeline.source((0..<200).map { reading("slow", Double($0) / 2) })
            .eventTime({ $0.time }, watermark: .ascending())
        let results = CollectingSink<WindowResult<String, Int>>()
        let late = CollectingSink<Reading>()
        let windowed = fast.merge(with: slow).key(by: { $0.sensor }).window(.tumbling(.minutes(1)))
        windowed.late.sink(late)
        windowed.aggregate(Count()).sink(results)
        try await pipeline.run()
        #expect(late.elements.isEmpty)
        let counts = Dictionary(grouping: results.elements, by: \.key).mapValues { $0.map(\.value) }
        #expect(counts["fast"] == [60, 60, 60, 20])
        #expect(counts["slow"] == [120, 80])
    }

    @Test func anIdleInputStopsHoldingBackTheWatermark() async throws {
        // "quiet" sends one reading and then nothing; "busy" moves on to minute 3. With an idle
        // timeout, window [0, 60) of "busy" fires while "quiet" is still open.
        let (quietStream, quiet) = AsyncStream<Reading>.makeStream()
        let (busyStream, busy) = AsyncStream<Reading>.makeStream()
        let firedWhileQuietOpen = Atomic<Bool>(false)
        let quietFinished = Atomic<Bool>(false)
        let pipeline = Pipeline(
            "idle",
            configuration: PipelineConfiguration(workers: 1, tickInterval: .milliseconds(20))
        )
        let strategy = WatermarkStrategy.boundedOutOfOrderness(.zero, idleAfter: .milliseconds(200))
        let a = pipeline.source(AsyncSequenceSource(quietStream)).eventTime({ $0.time }, watermark: strategy)
        let b = pipeline.source(AsyncSequenceSource(busyStream)).eventTime({ $0.time }, watermark: strategy)
        a.merge(with: b)
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
            .aggregate(Count())
            .forEach { result in
                if result.key == "busy" && result.window.start == at(0)
                    && !quietFinished.exchange(true, ordering: .relaxed)
                {
                    firedWhileQuietOpen.store(true, ordering: .relaxed)
                    quiet.finish()
                    busy.finish()
                }
            }
        let run = Task { try await pipeline.run() }
        quiet.yield(reading("quiet", 1))
        for second in stride(from: 0.0, through: 180, by: 10) { busy.yield(reading("busy", second)) }
        // Neither input ends on its own: without idleness the window could only fire once "quiet"
        // sends more data. "busy" keeps sending, so that only "quiet" goes idle (were both idle,
        // the watermark would be held where the later of them left it). End both after a while as
        // a fallback (long: a busy machine is slow).
        for _ in 0..<400 where !quietFinished.load(ordering: .relaxed) {
            try await Task.sleep(for: .milliseconds(50))
            busy.yield(reading("busy", 180))
        }
        if !quietFinished.exchange(true, ordering: .relaxed) {
            quiet.finish()
            busy.finish()
        }
        try await run.value
        let fired = firedWhileQuietOpen.load(ordering: .relaxed)
        #expect(fired)
    }

    @Test func aQuietInputWithoutIdleTimeoutHoldsTheWatermark() async throws {
        let (quietStream, quiet) = AsyncStream<Reading>.makeStream()
        let firedEarly = Atomic<Bool>(false)
        let quietFinished = Atomic<Bool>(false)
        let pipeline = Pipeline(
            "no-idle",
            configuration: PipelineConfiguration(workers: 1, tickInterval: .milliseconds(20))
        )
        let a = pipeline.source(AsyncSequenceSource(quietStream))
            .eventTime({ $0.time }, watermark: .ascending())
        let b = pipeline.source((0..<19).map { reading("busy", Double($0) * 10) })
            .eventTime({ $0.time }, watermark: .ascending())
        a.merge(with: b)
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
            .aggregate(Count())
            .forEach { result in
                if result.key == "busy" && !quietFinished.load(ordering: .relaxed) {
                    firedEarly.store(true, ordering: .relaxed)
                }
            }
        let run = Task { try await pipeline.run() }
        quiet.yield(reading("quiet", 1))
        try await Task.sleep(for: .milliseconds(600))
        quietFinished.store(true, ordering: .relaxed)
        quiet.finish()
        try await run.value
        let early = firedEarly.load(ordering: .relaxed)
        #expect(!early)
    }

    @Test func endOfABoundedInputFiresEveryOpenWindow() async throws {
        let (rows, _) = try await windowRows(
            [reading("a", 1), reading("b", 3600)],
            window: .tumbling(.hours(1)),
            bound: .hours(5)
        )
        #expect(rows.sorted() == [Row("a", 0, 3600, count: 1, sum: 1), Row("b", 3600, 7200, count: 1, sum: 1)])
    }
}
