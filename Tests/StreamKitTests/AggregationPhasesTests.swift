import Foundation
import StreamKit
import Synchronization
import Testing

/// Windows aggregated in two phases (a local step before the exchange, a global step on the
/// workers) give what one phase gives: the same results, the same updates within the allowed
/// lateness, the same late elements.
@Suite struct AggregationPhasesTests {
    /// Readings with disorder up to 8 s (the bound is 5 s, so some are late) and one in fifty
    /// 70 s late; integer values, so that sums are exact in any order.
    static let readings: [Reading] = {
        var readings: [Reading] = []
        var state: UInt64 = 11
        for index in 0..<5000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var seconds = Double(index) / 8 - Double(state >> 58 & 7)
            if state >> 40 % 50 == 0 { seconds -= 70 }
            readings.append(reading("s\(state >> 61)", seconds, Double(state >> 33 & 63)))
        }
        return readings
    }()

    /// What a run emitted, in the order each key's results and updates came.
    struct Emitted: Equatable {
        /// Every result and update, per key, in order: "window start: count sum".
        var results: [String: [String]]
        /// The late readings, sorted.
        var late: [String]
    }

    static func run(_ phases: AggregationPhases, partitions: [[Reading]], workers: Int) async throws -> Emitted {
        var configuration = PipelineConfiguration(workers: workers, batchSize: 64)
        configuration.aggregationPhases = phases
        let pipeline = Pipeline("phases", configuration: configuration)
        let results = Mutex<[String: [String]]>([:])
        let late = CollectingSink<Reading>()
        let windows = pipeline.source(partitions: partitions.map { CollectionSource($0) })
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
            .key(by: { $0.sensor })
            .window(.tumbling(.seconds(30)), allowedLateness: .seconds(20), name: "windows")
        windows.late.sink(late)
        windows.aggregate(Count(), Sum { $0.value })
            .forEach { row in
                results.withLock {
                    $0[row.key, default: []].append("\(row.window.start.microseconds): \(row.value.0) \(row.value.1)")
                }
            }
        try await pipeline.run()
        return Emitted(
            results: results.withLock { $0 },
            late: late.elements.map { "\($0.sensor) \($0.time.microseconds) \($0.value)" }.sorted()
        )
    }

    @Test func twoPhasesBehindOneSourceEmitWhatOnePhaseEmits() async throws {
        let one = try await Self.run(.one, partitions: [Self.readings], workers: 2)
        let two = try await Self.run(.two, partitions: [Self.readings], workers: 2)
        #expect(two == one)
        // The input exercises every path: results, updates within the allowed lateness, late elements.
        let emitted = one.results.values.reduce(0) { $0 + $1.count }
        let windows = Set(one.results.flatMap { key, rows in rows.map { "\(key) \($0.prefix { $0 != ":" })" } })
        #expect(emitted > windows.count)
        #expect(one.late.count > 10)
    }

    @Test(arguments: [AggregationPhases.one, .automatic])
    func everyPartitionedRunSumsEveryReadingOnce(phases: AggregationPhases) async throws {
        // Across partitions which stragglers are late depends on how far apart the partitions'
        // tasks run; what must hold is that every reading is counted once, in a window or as late.
        var partitions = [[Reading]](repeating: [], count: 3)
        for (index, reading) in Self.readings.enumerated() { partitions[index / 64 % 3].append(reading) }
        let emitted = try await Self.run(phases, partitions: partitions, workers: 2)
        var finalCounts = 0
        for rows in emitted.results.values {
            var latest: [Substring: Int] = [:]
            for row in rows {
                let parts = row.split(separator: " ")
                latest[parts[0]] = Int(parts[1])!
            }
            finalCounts += latest.values.reduce(0, +)
        }
        #expect(finalCounts + emitted.late.count == Self.readings.count)
    }

    @Test func aCheckpointOfTwoPhasesRestoresIntoOnePhase() async throws {
        let directory = TemporaryDirectory()
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .seconds(3600))
        let sources = PartitionedSourceTests.partitions(3).map { CollectionSource($0) }
        let firstRead = ReadCounter()
        let table = UpsertTable()
        let first = PartitionedSourceTests.build(sources, workers: 2, table: table, read: firstRead, slow: true)
        try await runAndStop(first, checkpoints: checkpoints, afterReading: 1000, counted: firstRead)
        let stoppedAt = firstRead.count
        #expect(stoppedAt < CheckpointTests.readings.count)
        let checkpoint = try FileManager.default.contentsOfDirectory(atPath: checkpoints.directory)
            .first { $0.hasPrefix("chk-") }
        let manifest = try String(
            contentsOfFile: "\(checkpoints.directory)/\(checkpoint ?? "")/MANIFEST.json",
            encoding: .utf8
        )
        #expect(manifest.contains("minutes.local"))

        // The partitions' open partial aggregates go into the one-phase window: nothing is lost.
        let secondRead = ReadCounter()
        try await PartitionedSourceTests.build(sources, workers: 2, table: table, read: secondRead, phases: .one)
            .run(checkpoints: checkpoints)
        #expect(stoppedAt + secondRead.count == CheckpointTests.readings.count)
        #expect(table.snapshot == PartitionedSourceTests.expected)
    }

    @Test(.timeLimit(.minutes(1)))
    func aStragglerHeldByAQuietPartitionReachesTheLateOutputWhileItsSourceIsOpen() async throws {
        var configuration = PipelineConfiguration(workers: 2, batchSize: 64, tickInterval: .milliseconds(20))
        configuration.aggregationPhases = .two
        let pipeline = Pipeline("quiet", configuration: configuration)
        let (first, firstInput) = AsyncStream<Reading>.makeStream()
        let (second, secondInput) = AsyncStream<Reading>.makeStream()
        let late = CollectingSink<Reading>()
        let results = CollectingSink<WindowResult<String, Int>>()
        let windows = pipeline.source(partitions: [AsyncSequenceSource(first), AsyncSequenceSource(second)])
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
        windows.late.sink(late)
        windows.aggregate(Count()).sink(results)
        let run = Task { try await pipeline.run() }

        // Both partitions move past the first minute and its bound, so that it fires.
        for input in [firstInput, secondInput] {
            input.yield(reading("a", 10))
            input.yield(reading("a", 80))
        }
        for _ in 0..<1000 where results.elements.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(results.elements.map(\.value) == [2])

        // A straggler of the first minute, then nothing: the partition's task holds it until it
        // has waited long enough, and the late output gets it while the source is still open.
        firstInput.yield(reading("a", 30))
        for _ in 0..<1000 where late.elements.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(late.elements.map(\.time) == [reading("a", 30).time])

        firstInput.finish()
        secondInput.finish()
        try await run.value
        #expect(results.elements.map(\.value) == [2, 2])
    }
}
