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
