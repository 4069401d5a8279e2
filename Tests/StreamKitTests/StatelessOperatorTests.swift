import StreamKit
import Testing

@Suite struct StatelessOperatorTests {
    @Test func mapFilterCompactMapAndFlatMapChain() async throws {
        let pipeline = Pipeline("chain", configuration: PipelineConfiguration(workers: 1, batchSize: 3))
        let sink = CollectingSink<String>()
        pipeline.source(Array(1...10))
            .map { $0 * 3 }
            .filter { $0 % 2 == 0 }
            .compactMap { $0 == 12 ? nil : $0 }
            .flatMap { [$0, -$0] }
            .map { String($0) }
            .sink(sink)
        try await pipeline.run()
        #expect(sink.elements == ["6", "-6", "18", "-18", "24", "-24", "30", "-30"])
    }

    @Test func filterKeepsEventTimesWithTheirElementsAndFiltersNonTrivialValues() async throws {
        // Readings at second i; keeping every third moves the times with them, so the 10 s windows
        // count 0, 3, 6, 9 | 12, 15, 18 | 21, 24, 27 ... A filter that kept the times of the
        // first elements instead would count 4, 3, 3 ... over the wrong seconds.
        let pipeline = Pipeline("filter-times", configuration: PipelineConfiguration(workers: 1, batchSize: 7))
        let counts = CollectingSink<WindowResult<String, Int>>()
        let names = CollectingSink<String>()
        let readings = pipeline.source((0..<60).map { ("s\($0 % 3)", $0) })
            .eventTime({ at(Double($0.1)) }, watermark: .boundedOutOfOrderness(.zero))
        readings.filter { $0.1 % 3 == 0 }
            .key(by: { $0.0 })
            .window(.tumbling(.seconds(10)))
            .aggregate(Count())
            .sink(counts)
        readings.map { "\($0.0)-\($0.1)" }.filter { $0.hasSuffix("7") }.sink(names)
        try await pipeline.run()
        let rows = counts.elements.map { ($0.window.start, $0.value) }.sorted { $0.0 < $1.0 }
        #expect(rows.map(\.0) == stride(from: 0.0, to: 60, by: 10).map { at($0) })
        #expect(rows.map(\.1) == [4, 3, 3, 4, 3, 3])
        #expect(names.elements == ["s1-7", "s2-17", "s0-27", "s1-37", "s2-47", "s0-57"])
    }

    @Test func fanOutDeliversEveryElementToEverySink() async throws {
        let pipeline = Pipeline("fan-out", configuration: PipelineConfiguration(workers: 2))
        let first = CollectingSink<Int>()
        let second = CollectingSink<Int>()
        let numbers = pipeline.source(Array(0..<1000))
        numbers.sink(first)
        numbers.filter { $0 < 10 }.sink(second)
        try await pipeline.run()
        #expect(first.elements == Array(0..<1000))
        #expect(second.elements == Array(0..<10))
        #expect(first.isFinished && second.isFinished)
    }

    @Test func tryMapSendsFailuresToTheErrorOutputWithTheReason() async throws {
        struct NotANumber: Error, CustomStringConvertible {
            var text: String
            var description: String { "'\(text)' is not a number" }
        }
        let pipeline = Pipeline("parse", configuration: PipelineConfiguration(workers: 1))
        let numbers = CollectingSink<Int>()
        let errors = CollectingSink<ErrorRecord>()
        let parsed = pipeline.source(["1", "x", "3"])
            .tryMap(name: "parse") { text -> Int in
                guard let number = Int(text) else { throw NotANumber(text: text) }
                return number
            }
        parsed.sink(numbers)
        parsed.errors.sink(errors)
        try await pipeline.run()
        #expect(numbers.elements == [1, 3])
        #expect(errors.elements.map(\.reason) == ["'x' is not a number"])
        #expect(errors.elements.map(\.rawText) == ["x"])
        #expect(errors.elements.map(\.origin) == ["parse"])
    }

    @Test func keyedStreamsKeepEveryElementAcrossWorkers() async throws {
        let pipeline = Pipeline("exchange", configuration: PipelineConfiguration(workers: 2, batchSize: 100))
        let sink = CollectingSink<Int>()
        pipeline.source(Array(0..<10_000))
            .key(by: { $0 % 17 })
            .stream
            .map { $0 + 1 }
            .sink(sink)
        try await pipeline.run()
        #expect(sink.elements.sorted() == Array(1...10_000))
    }
}
