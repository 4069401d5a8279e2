import Foundation
import StreamKit
import Testing

/// Sources read in parallel, one task per partition (``Pipeline/source(partitions:name:)``).
@Suite struct PartitionedSourceTests {
    /// The readings of ``CheckpointTests``, dealt to `count` partitions in runs of 40, as a topic's
    /// partitions would hold them: each partition keeps the input order.
    static func partitions(_ count: Int) -> [[Reading]] {
        var partitions = [[Reading]](repeating: [], count: count)
        for (index, reading) in CheckpointTests.readings.enumerated() {
            partitions[index / 40 % count].append(reading)
        }
        return partitions
    }

    /// Count and sum per sensor and minute, computed by grouping: the readings are at most 7 s out
    /// of order and the tests' watermark bound is 10 s, so none is late.
    static let expected: [String: String] = {
        var groups: [String: (count: Int, sum: Double)] = [:]
        for reading in CheckpointTests.readings {
            let start = reading.time.microseconds - ((reading.time.microseconds % 60_000_000) + 60_000_000) % 60_000_000
            groups["\(reading.sensor) \(start)", default: (0, 0)].count += 1
            groups["\(reading.sensor) \(start)", default: (0, 0)].sum += reading.value
        }
        return groups.mapValues { "\($0.count) \($0.sum)" }
    }()

    /// Partitioned readings → event time → count and sum per sensor and minute → an upsert table.
    static func build(
        _ partitions: [some Source<Reading>],
        workers: Int,
        table: UpsertTable,
        read: ReadCounter = ReadCounter(),
        slow: Bool = false,
        phases: AggregationPhases = .automatic
    ) -> Pipeline {
        var configuration = PipelineConfiguration(workers: workers, batchSize: 25)
        configuration.aggregationPhases = phases
        let pipeline = Pipeline("partitioned", configuration: configuration)
        // Slow enough for a test to stop the run half-way, however many partitions.
        let pace: Duration = slow ? .milliseconds(1) : .zero
        pipeline.source(partitions: partitions.map { PacedSource(base: $0, pace: pace) }, name: "readings")
            .map(name: "count-read") { reading in
                read.add()
                return reading
            }
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(10)))
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)), name: "minutes")
            .aggregate(Count(), Sum { $0.value })
            .forEach(name: "rows") { row in
                if slow { try await Task.sleep(for: .microseconds(300)) }
                table.upsert("\(row.key) \(row.window.start.microseconds)", "\(row.value.0) \(row.value.1)")
            }
        return pipeline
    }

    @Test(arguments: [
        (1, 1, AggregationPhases.automatic), (3, 1, .automatic), (3, 2, .automatic), (2, 3, .automatic),
        (3, 2, .one), (1, 2, .two),
    ])
    func everyPartitionCountAndWorkerCountGivesTheGroupedResult(
        partitions: Int,
        workers: Int,
        phases: AggregationPhases
    ) async throws {
        let table = UpsertTable()
        let read = ReadCounter()
        let sources = Self.partitions(partitions).map { CollectionSource($0) }
        let pipeline = Self.build(sources, workers: workers, table: table, read: read, phases: phases)
        #expect(
            pipeline.diagram().contains(
                "source PacedSource" + (partitions > 1 ? " × \(partitions) partitions" : "")
            )
        )
        try await pipeline.run()
        #expect(read.count == CheckpointTests.readings.count)
        #expect(table.snapshot == Self.expected)
        #expect(Self.expected.count > 50)
    }

    @Test func aStoppedRunResumesEveryPartitionWhereItStopped() async throws {
        let directory = TemporaryDirectory()
        let encoder = JSONEncoder()
        let files = try Self.partitions(3).enumerated().map { index, readings in
            let lines = try readings.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            return directory.write("readings-\(index).jsonl", lines.joined(separator: "\n") + "\n")
        }
        let sources = files.map { JSONLinesSource<Reading>(path: $0) }
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .seconds(3600))

        let table = UpsertTable()
        let firstRead = ReadCounter()
        let first = Self.build(sources, workers: 2, table: table, read: firstRead, slow: true)
        try await runAndStop(first, checkpoints: checkpoints, afterReading: 500, counted: firstRead)
        let stoppedAt = firstRead.count
        #expect(stoppedAt > 0 && stoppedAt < CheckpointTests.readings.count)

        // Each partition continues at its own position: every reading is read exactly once.
        let secondRead = ReadCounter()
        try await Self.build(sources, workers: 2, table: table, read: secondRead).run(checkpoints: checkpoints)
        #expect(stoppedAt + secondRead.count == CheckpointTests.readings.count)
        #expect(table.snapshot == Self.expected)
    }

    @Test(.timeLimit(.minutes(1)))
    func checkpointsGoOnAfterOnePartitionEndsAndAStopThenResumesTheOthers() async throws {
        // Partition 0 holds 40 readings and ends at once; the others go on.
        let readings = CheckpointTests.readings
        var partitions: [[Reading]] = [Array(readings[0..<40]), [], []]
        for (index, reading) in readings[40...].enumerated() { partitions[1 + index / 40 % 2].append(reading) }
        let sources = partitions.map { CollectionSource($0) }
        let directory = TemporaryDirectory()
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .milliseconds(20))
        func completed() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.directory)) ?? [])
                .filter { FileManager.default.fileExists(atPath: "\(checkpoints.directory)/\($0)/MANIFEST.json") }
                .count
        }

        let table = UpsertTable()
        let firstRead = ReadCounter()
        let first = Self.build(sources, workers: 2, table: table, read: firstRead, slow: true)
        let run = Task { try await first.run(checkpoints: checkpoints) }
        for _ in 0..<2000 where completed() < 2 && firstRead.count < readings.count {
            try await Task.sleep(for: .milliseconds(5))
        }
        first.stop()
        try await run.value
        let stoppedAt = firstRead.count
        #expect(completed() >= 2)
        #expect(stoppedAt > 40 && stoppedAt < readings.count)

        let secondRead = ReadCounter()
        try await Self.build(sources, workers: 2, table: table, read: secondRead).run(checkpoints: checkpoints)
        #expect(stoppedAt + secondRead.count == readings.count)
        #expect(table.snapshot == Self.expected)
    }

    @Test func aCheckpointOfMorePartitionsOrFewerFailsAndSaysWhatToChange() async throws {
        let directory = TemporaryDirectory()
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .seconds(3600))
        let read = ReadCounter()
        let first = Self.build(
            Self.partitions(3).map { CollectionSource($0) },
            workers: 1,
            table: UpsertTable(),
            read: read,
            slow: true
        )
        try await runAndStop(first, checkpoints: checkpoints, afterReading: 200, counted: read)

        let fewer = Self.build(Self.partitions(2).map { CollectionSource($0) }, workers: 1, table: UpsertTable())
        let fewerError = await #expect(throws: StreamKitError.self) { try await fewer.run(checkpoints: checkpoints) }
        #expect(fewerError?.message.contains("'readings#2'") == true)
        #expect(fewerError?.message.contains("number of partitions") == true)

        let more = Self.build(Self.partitions(4).map { CollectionSource($0) }, workers: 1, table: UpsertTable())
        let moreError = await #expect(throws: StreamKitError.self) { try await more.run(checkpoints: checkpoints) }
        #expect(moreError?.message.contains("no position for partitions 3 of source 'readings'") == true)
    }

    @Test func fewerPartitionsOfASourceWithoutPositionsFailUnlessOnePhaseMergesTheirPartialAggregates()
        async throws
    {
        let directory = TemporaryDirectory()
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .seconds(3600))
        let firstTable = UpsertTable()
        let read = ReadCounter()
        let first = Self.build(
            Self.partitions(3).map { PositionlessSource(base: CollectionSource($0)) },
            workers: 1,
            table: firstTable,
            read: read,
            slow: true
        )
        try await runAndStop(first, checkpoints: checkpoints, afterReading: 200, counted: read)
        let readInFirstRun = read.count
        #expect(readInFirstRun > 0 && readInFirstRun < CheckpointTests.readings.count)

        // Nothing more to read: what the second run emits comes from the checkpoint.
        let empty = [[Reading]](repeating: [], count: 2).map { PositionlessSource(base: CollectionSource($0)) }
        let fewer = Self.build(empty, workers: 1, table: UpsertTable())
        let error = await #expect(throws: StreamKitError.self) { try await fewer.run(checkpoints: checkpoints) }
        #expect(
            error?.message.contains("partial aggregates of window 'minutes' from partitions 2 of its source") == true
        )
        #expect(error?.message.contains("aggregationPhases = .one") == true)

        // In one phase every partition's partial aggregates are merged into the window: every
        // reading of the first run is counted once, in a row of the first run or of this one.
        let table = UpsertTable()
        try await Self.build(empty, workers: 1, table: table, phases: .one).run(checkpoints: checkpoints)
        var rows = firstTable.snapshot
        rows.merge(table.snapshot) { _, resumed in resumed }
        let counted = rows.values.reduce(0) { $0 + Int($1.split(separator: " ")[0])! }
        #expect(counted == readInFirstRun)
    }

    @Test(arguments: ["readings#1", "minutes.local"])
    func namesThatCheckpointsUseForPartitionsAreRefused(name: String) async throws {
        let pipeline = Pipeline("names")
        pipeline.source([1, 2, 3], name: name).forEach { _ in }
        let error = await #expect(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error?.message.contains("'\(name)' contains '#' or ends in '.local'") == true)
    }

    @Test func noPartitionsIsAConfigurationError() async throws {
        let pipeline = Pipeline("empty")
        pipeline.source(partitions: [CollectionSource<[Int]>](), name: "nothing").forEach { _ in }
        let error = await #expect(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error?.message.contains("no partitions") == true)
    }
}

/// A source that waits `pace` before each read of its base source, without blocking a thread: a
/// test can stop a run half-way whatever the machine's speed.
struct PacedSource<Base: Source>: Source {
    let base: Base
    let pace: Duration

    func makeReader(context: SourceContext) async throws -> Reader {
        Reader(base: try await base.makeReader(context: context), pace: pace)
    }

    struct Reader: SourceReader {
        var base: Base.Reader
        let pace: Duration

        mutating func read(maximumCount: Int) async throws -> SourceRead<Base.Element> {
            if pace > .zero { try await Task.sleep(for: pace) }
            return try await base.read(maximumCount: maximumCount)
        }

        var position: SourcePosition? { base.position }

        mutating func seek(to position: SourcePosition) async throws {
            try await base.seek(to: position)
        }
    }
}

/// A source that hides its base's position, as an MQTT subscription or an async sequence has none:
/// a restart reads it from its start.
struct PositionlessSource<Base: Source>: Source {
    let base: Base

    func makeReader(context: SourceContext) async throws -> Reader {
        Reader(base: try await base.makeReader(context: context))
    }

    struct Reader: SourceReader {
        var base: Base.Reader

        mutating func read(maximumCount: Int) async throws -> SourceRead<Base.Element> {
            try await base.read(maximumCount: maximumCount)
        }

        mutating func seek(to position: SourcePosition) async throws {}
    }
}
