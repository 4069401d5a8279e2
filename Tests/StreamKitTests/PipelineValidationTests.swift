import StreamKit
import Testing

@Suite struct PipelineValidationTests {
    func startError(_ build: (Pipeline) -> Void) async throws -> StreamKitError {
        let pipeline = Pipeline("invalid", configuration: PipelineConfiguration(workers: 1))
        build(pipeline)
        do {
            try await pipeline.run()
        } catch let error as StreamKitError {
            return error
        }
        Issue.record("the pipeline started")
        throw CancellationError()
    }

    @Test func zeroWindowSizeFailsAtStartWithWhatToChange() async throws {
        let error = try await startError { pipeline in
            pipeline.source([reading("a", 1)])
                .eventTime({ $0.time }, watermark: .ascending())
                .key(by: { $0.sensor })
                .window(.tumbling(.zero))
                .aggregate(Count())
                .print()
        }
        #expect(error.code == .invalidGraph)
        #expect(error.message.contains("use a positive size"))
    }

    @Test func negativeLatenessFails() async throws {
        let error = try await startError { pipeline in
            pipeline.source([reading("a", 1)])
                .eventTime({ $0.time }, watermark: .ascending())
                .key(by: { $0.sensor })
                .window(.tumbling(.minutes(1)), allowedLateness: .seconds(-1))
                .aggregate(Count())
                .print()
        }
        #expect(error.message.contains("allowed lateness is -1.0 seconds: use .zero or a positive duration"))
    }

    @Test func aPipelineWithoutSinkFails() async throws {
        let error = try await startError { pipeline in
            _ = pipeline.source([1, 2, 3]).map { $0 * 2 }
        }
        #expect(error.message.contains("no sink"))
        #expect(error.message.contains("the output of 'map-1' goes nowhere"))
    }

    @Test func aWindowWithoutEventTimeFails() async throws {
        let error = try await startError { pipeline in
            pipeline.source([reading("a", 1)])
                .key(by: { $0.sensor })
                .window(.tumbling(.minutes(1)))
                .aggregate(Count())
                .print()
        }
        #expect(error.message.contains("'window-1' needs event time: call .eventTime(...)"))
    }

    @Test func aWindowWithoutAggregateFails() async throws {
        let error = try await startError { pipeline in
            let windowed = pipeline.source([reading("a", 1)])
                .eventTime({ $0.time }, watermark: .ascending())
                .key(by: { $0.sensor })
                .window(.tumbling(.minutes(1)))
            windowed.late.print()
        }
        #expect(error.message.contains("'window-1' is not complete"))
    }

    @Test func badConfigurationFails() async throws {
        let pipeline = Pipeline("config", configuration: PipelineConfiguration(workers: 0, batchSize: 0))
        pipeline.source([1]).print()
        let error = try await #require(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.contains("workers is 0: use at least 1"))
        #expect(error.message.contains("batchSize is 0"))
    }

    @Test func duplicateOperatorNamesFail() async throws {
        let error = try await startError { pipeline in
            pipeline.source([1], name: "numbers").map(name: "numbers") { $0 }.print()
        }
        #expect(error.message.contains("two operators are named 'numbers'"))
    }

    @Test func aPipelineRunsOnlyOnce() async throws {
        let pipeline = Pipeline("once", configuration: PipelineConfiguration(workers: 1))
        pipeline.source([1]).sink(CollectingSink<Int>())
        try await pipeline.run()
        await #expect(throws: StreamKitError.self) { try await pipeline.run() }
    }

    @Test func thePipelineDrawsItselfAsMermaidAndGraphviz() {
        let pipeline = Pipeline("drawn")
        let windowed = pipeline.source([reading("a", 1)], name: "readings")
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
        windowed.late.sink(CollectingSink<Reading>(), name: "late-readings")
        windowed.aggregate(Count()).sink(CollectingSink<WindowResult<String, Int>>(), name: "minutes")
        let mermaid = pipeline.diagram(.mermaid)
        #expect(mermaid.hasPrefix("flowchart LR\n"))
        #expect(mermaid.contains("n0[/\"readings<br/>source SequenceSource\"/]"))
        #expect(mermaid.contains("n0 --> n1"))
        #expect(mermaid.contains("n3 -. late .-> n4"))
        #expect(mermaid.contains("n3 --> n5"))
        let dot = pipeline.diagram(.graphviz)
        #expect(dot.hasPrefix("digraph \"drawn\" {"))
        #expect(dot.contains("n3 -> n4 [style=dashed, label=\"late\"];"))
    }

    /// The error of ``aSinkThatFailsFailsTheRunWhileTheOtherStagesWaitOnFullQueues()``.
    struct SinkFailure: Error {}

    @Test(.timeLimit(.minutes(1)))
    func aSinkThatFailsFailsTheRunWhileTheOtherStagesWaitOnFullQueues() async throws {
        // Two workers fire a window per sensor and second into a sink that fails at once: the
        // workers then wait on the sink's full queue and the source on theirs.
        let configuration = PipelineConfiguration(workers: 2, batchSize: 16, channelCapacity: 1)
        let pipeline = Pipeline("failing", configuration: configuration)
        pipeline.source((0..<100_000).map { reading("s\($0 % 10)", Double($0) / 10) })
            .eventTime({ $0.time }, watermark: .ascending())
            .key(by: { $0.sensor })
            .window(.tumbling(.seconds(1)))
            .aggregate(Count())
            .forEach(name: "fails") { _ in throw SinkFailure() }
        let error = await #expect(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error?.code == .sinkFailed)
        #expect(error?.message.contains("sink 'fails' failed") == true)
    }
}
