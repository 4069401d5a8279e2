import StreamKit
import Testing

/// Emits a key's total of each 10 s period once the watermark passes the period's end, and drops
/// that period's state then: state plus an event-time timer.
struct PeriodTotals: KeyedProcessFunction {
    /// The open periods' totals, by period end in seconds.
    typealias State = [Int64: Double]

    func process(_ input: Reading, context: inout KeyedProcessContext<String, State, String>) throws {
        guard input.value >= 0 else { throw NegativeValue(value: input.value) }
        let periodEnd = (input.time.microseconds / 10_000_000 + 1) * 10
        context.state = context.state ?? [:]
        context.state![periodEnd, default: 0] += input.value
        context.setTimer(at: Timestamp(seconds: periodEnd))
    }

    func onTimer(at time: Timestamp, context: inout KeyedProcessContext<String, State, String>) throws {
        let periodEnd = time.microseconds / 1_000_000
        context.emit("\(context.key) \(periodEnd) \(context.state?[periodEnd] ?? -1)")
        context.state?[periodEnd] = nil
        if context.state?.isEmpty == true { context.state = nil }
    }

    struct NegativeValue: Error, CustomStringConvertible {
        var value: Double
        var description: String { "negative value \(value)" }
    }
}

@Suite struct KeyedProcessTests {
    @Test func stateAndTimersPerKey() async throws {
        let pipeline = Pipeline("process", configuration: PipelineConfiguration(workers: 2, batchSize: 2))
        let sink = CollectingSink<String>()
        let errors = CollectingSink<ErrorRecord>()
        let totals = pipeline.source([
            reading("a", 1, 1), reading("b", 2, 10), reading("a", 5, 2), reading("a", 0, -1),
            reading("b", 25, 20), reading("a", 31, 4),
        ])
        .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(2)))
        .key(by: { $0.sensor })
        .process(PeriodTotals())
        totals.sink(sink)
        totals.errors.sink(errors)
        try await pipeline.run()
        #expect(Set(sink.elements) == ["a 10 3.0", "b 10 10.0", "b 30 20.0", "a 40 4.0"])
        #expect(errors.elements.map(\.reason) == ["negative value -1.0"])
    }

    @Test func timersFireInTimeOrderAsTheWatermarkPasses() async throws {
        let pipeline = Pipeline("order", configuration: PipelineConfiguration(workers: 1))
        let sink = CollectingSink<String>()
        pipeline.source((0..<50).map { reading("a", Double($0), 1) })
            .eventTime({ $0.time }, watermark: .ascending())
            .key(by: { $0.sensor })
            .process(PeriodTotals())
            .sink(sink)
        try await pipeline.run()
        #expect(sink.elements == ["a 10 10.0", "a 20 10.0", "a 30 10.0", "a 40 10.0", "a 50 10.0"])
        #expect(sink.timestamps.map(\.microseconds) == [10, 20, 30, 40, 50].map { $0 * 1_000_000 })
    }
}
