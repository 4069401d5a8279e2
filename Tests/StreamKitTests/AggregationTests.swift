import StreamKit
import Testing

@Suite struct AggregationTests {
    let values: [Double] = [2, 4, 4, 4, 5, 5, 7, 9]

    func run<A: Aggregation>(_ aggregation: A, over values: [Double]) -> A.Output where A.Input == Double {
        var accumulator = aggregation.accumulator(for: values[0])
        for value in values.dropFirst() { aggregation.add(value, to: &accumulator) }
        return aggregation.output(of: accumulator)
    }

    @Test func builtinAggregatesMatchHandComputedValues() {
        #expect(run(Count(), over: values) == 8)
        #expect(run(Sum { $0 }, over: values) == 40)
        #expect(run(Mean { $0 }, over: values) == 5)
        #expect(run(Min { $0 }, over: values) == 2)
        #expect(run(Max { $0 }, over: values) == 9)
        #expect(run(Variance(.population) { $0 }, over: values) == 4)
        #expect(run(StandardDeviation(.population) { $0 }, over: values) == 2)
        #expect(abs(run(Variance(.sample) { $0 }, over: values) - 32.0 / 7.0) < 1e-12)
        #expect(run(First(), over: values) == 2)
        #expect(run(Last(), over: values) == 9)
    }

    @Test func welfordMergeEqualsOnePass() {
        let aggregation = Variance<Double>(.sample) { $0 }
        for split in 1..<values.count {
            var left = aggregation.accumulator(for: values[0])
            for value in values[1..<split] { aggregation.add(value, to: &left) }
            var right = aggregation.accumulator(for: values[split])
            for value in values[(split + 1)...] { aggregation.add(value, to: &right) }
            aggregation.merge(right, into: &left)
            #expect(abs(aggregation.output(of: left) - run(aggregation, over: values)) < 1e-12)
        }
    }

    @Test func welfordIsStableForLargeOffsets() {
        let shifted = values.map { $0 + 1e9 }
        #expect(abs(run(Variance(.population) { $0 }, over: shifted) - 4) < 1e-6)
    }

    @Test func severalAggregatesInOneWindowPass() async throws {
        let pipeline = Pipeline("five", configuration: PipelineConfiguration(workers: 1))
        let sink = CollectingSink<WindowResult<String, (Int, Double, Double, Double, Double)>>()
        pipeline.source(values.enumerated().map { reading("a", Double($0.offset), $0.element) })
            .eventTime({ $0.time }, watermark: .ascending())
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
            .aggregate(
                Count(),
                Mean { $0.value },
                Min { $0.value },
                Max { $0.value },
                StandardDeviation { $0.value }
            )
            .sink(sink)
        try await pipeline.run()
        let value = try #require(sink.elements.first?.value)
        #expect(value.0 == 8 && value.1 == 5 && value.2 == 2 && value.3 == 9 && value.4 == 2)
    }

    /// The range of a value: a user-defined aggregate through the public protocol.
    struct Range<Input>: Aggregation {
        let value: @Sendable (Input) -> Double
        func accumulator(for first: Input) -> [Double] { [value(first), value(first)] }
        func add(_ input: Input, to accumulator: inout [Double]) {
            accumulator[0] = Swift.min(accumulator[0], value(input))
            accumulator[1] = Swift.max(accumulator[1], value(input))
        }
        func merge(_ other: [Double], into accumulator: inout [Double]) {
            accumulator[0] = Swift.min(accumulator[0], other[0])
            accumulator[1] = Swift.max(accumulator[1], other[1])
        }
        func output(of accumulator: [Double]) -> Double { accumulator[1] - accumulator[0] }
    }

    @Test func userDefinedAggregateRunsInAWindow() async throws {
        let pipeline = Pipeline("range", configuration: PipelineConfiguration(workers: 2))
        let sink = CollectingSink<WindowResult<String, Double>>()
        pipeline.source(values.enumerated().map { reading("a", Double($0.offset) * 20, $0.element) })
            .eventTime({ $0.time }, watermark: .ascending())
            .key(by: { $0.sensor })
            .window(.session(gap: .seconds(30)))
            .aggregate(Range { $0.value })
            .sink(sink)
        try await pipeline.run()
        #expect(sink.elements.map(\.value) == [7])
    }
}
