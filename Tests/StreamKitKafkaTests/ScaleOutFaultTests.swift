import Foundation
import StreamKit
import StreamKitKafka
import Synchronization
import Testing

/// Faults during scale-out over Kafka: members of the group killed with SIGKILL while partitions
/// move, and a partition's copy whose sink fails. Whatever happens, the minute sums hold every
/// record exactly once, and no surviving process dies.
@Suite(.serialized) struct ScaleOutFaultTests {
    static let partitions: Int32 = 6
    static let keys = 24
    static let base: Int64 = 1_704_067_200  // 2024-01-01T00:00:00Z

    /// The records of one partition: the keys `k` with `k % partitions == partition`, one each
    /// every 5 s of event time.
    static func events(partition: Int32, steps: Range<Int>) -> [String] {
        steps.flatMap { step in
            stride(from: Int(partition), to: keys, by: Int(partitions)).map { key in
                "k\(key),\(base + Int64(step) * 5),\((step * 7 + key) % 13)"
            }
        }
    }

    /// Count and sum per `key,minute` of the first `steps` steps (complete minutes only when
    /// `steps` is a multiple of 12).
    static func expected(steps: Int) -> [String: (count: Int, sum: Int)] {
        var sums: [String: (count: Int, sum: Int)] = [:]
        for partition in 0..<partitions {
            for line in events(partition: partition, steps: 0..<steps) {
                let fields = line.split(separator: ",")
                let key = "\(fields[0]),\((Int64(fields[1])! / 60) * 60)"
                sums[key, default: (0, 0)].count += 1
                sums[key, default: (0, 0)].sum += Int(fields[2])!
            }
        }
        return sums
    }

    /// Count and sum per `key,minute` over every partition's output file.
    static func outputs(_ folder: String) -> [String: (count: Int, sum: Int)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var sums: [String: (count: Int, sum: Int)] = [:]
        for name in names where name.hasSuffix(".csv") {
            let text = (try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: ",")
                guard fields.count == 4, let count = Int(fields[2]), let sum = Int(fields[3]) else { continue }
                sums["\(fields[0]),\(fields[1])", default: (0, 0)].count += count
                sums["\(fields[0]),\(fields[1])", default: (0, 0)].sum += sum
            }
        }
        return sums
    }

    /// Records missing from `actual` and records counted more than once, by the counts per minute.
    static func compare(
        _ actual: [String: (count: Int, sum: Int)],
        _ expected: [String: (count: Int, sum: Int)]
    ) -> (lost: Int, duplicated: Int, wrongSums: Int) {
        var lost = 0
        var duplicated = 0
        var wrongSums = 0
        for key in Set(actual.keys).union(expected.keys) {
            let have = actual[key] ?? (0, 0)
            let want = expected[key] ?? (0, 0)
            lost += max(0, want.count - have.count)
            duplicated += max(0, have.count - want.count)
            if have.count == want.count && have.sum != want.sum { wrongSums += 1 }
        }
        return (lost, duplicated, wrongSums)
    }

    static func produce(_ cluster: KafkaMockCluster, steps: Range<Int>) throws {
        for partition in 0..<partitions {
            try ScaleOutTests.kcat(
                ["-b", cluster.bootstrapServers, "-P", "-t", "events", "-p", "\(partition)"],
                input: events(partition: partition, steps: steps).joined(separator: "\n") + "\n"
            )
        }
    }

    /// A last record per partition, far later, which closes every minute of the input.
    static func produceEnd(_ cluster: KafkaMockCluster) throws {
        for partition in 0..<partitions {
            try ScaleOutTests.kcat(
                ["-b", cluster.bootstrapServers, "-P", "-t", "events", "-p", "\(partition)"],
                input: "end,\(base + 100_000),0\n"
            )
        }
    }

    static func read(_ log: String) -> String {
        (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    static func count(_ text: String, in logs: [String]) -> Int {
        logs.reduce(0) { $0 + read($1).components(separatedBy: text).count - 1 }
    }

    /// Waits until `condition` holds; false after `timeout`.
    static func wait(timeout: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// A small reproducible generator, so that a failing schedule can be run again (`FAULT_SEED`).
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// One process of `kafka-scale-out`, with its own log.
    struct Member {
        var name: String
        var process: Process
        var log: String
    }

    static func startMember(
        _ name: String,
        _ cluster: KafkaMockCluster,
        _ directory: String
    ) throws -> Member {
        let process = Process()
        process.executableURL = ScaleOutTests.products.appendingPathComponent("kafka-scale-out")
        process.arguments = [
            cluster.bootstrapServers, "events", "minute-sums", directory + "/checkpoints", directory + "/output",
        ]
        let log = "\(directory)/\(name).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Member(name: name, process: process, log: log)
    }

    /// Three processes share six partitions while the test kills one with SIGKILL right as
    /// partitions move — while the survivors take a dead member's partitions over, or while the
    /// group rebalances for a member that just started — and starts replacements, producing
    /// records all along. At the end the minute sums hold every record exactly once, every process
    /// the test did not kill still runs (and stops cleanly on SIGTERM), and no log shows a fatal
    /// error, a failed copy or a failed seek.
    @Test(.timeLimit(.minutes(4)))
    func membersKilledDuringTakeoverAndRebalanceLoseNoRecordAndCountNoneTwice() async throws {
        let began = Date()
        let kills = Int(ProcessInfo.processInfo.environment["FAULT_KILLS"] ?? "") ?? 10
        let seed = UInt64(ProcessInfo.processInfo.environment["FAULT_SEED"] ?? "") ?? UInt64.random(in: 1...999_999)
        var random = SplitMix(state: seed)
        let directory = NSTemporaryDirectory() + "scale-out-faults-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("events", partitions: Int(Self.partitions))

        var running: [Member] = []
        var everyone: [Member] = []
        // Only members still running: the pid of a process that has exited may belong to another
        // test's process by now (pid_max is 32768 here).
        defer {
            for member in running where member.process.isRunning { kill(member.process.processIdentifier, SIGKILL) }
        }
        var started = 0
        func start() throws {
            started += 1
            let member = try Self.startMember("member-\(started)", cluster, directory)
            running.append(member)
            everyone.append(member)
        }
        var logs: [String] { everyone.map(\.log) }
        var assignments: Int { Self.count("partitions assigned", in: logs) }

        // Twelve steps are a minute of event time; each action is followed by a minute per key.
        var produced = 0
        func produceMinute() throws {
            try Self.produce(cluster, steps: produced..<(produced + 12))
            produced += 12
        }

        try start()
        _ = try await Self.wait(timeout: 30) { assignments >= 1 }
        try start()
        try start()
        try produceMinute()

        var killed = 0
        var steps = 0
        var takeoverWaits = 0
        while killed < kills {
            // Partitions are moving: a member joined or died and the group hands them out again.
            // Act while the copies restore from their checkpoints, or stop for the rebalance.
            let before = assignments
            if !(try await Self.wait(timeout: 20) { assignments > before }) { takeoverWaits += 1 }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...900, using: &random)))
            steps += 1
            let kill = running.count == 3 || (running.count == 2 && Int.random(in: 0..<3, using: &random) == 0)
            if kill {
                let victim = running.remove(at: Int.random(in: 0..<running.count, using: &random))
                Foundation.kill(victim.process.processIdentifier, SIGKILL)
                victim.process.waitUntilExit()
                killed += 1
            } else {
                try start()
            }
            try produceMinute()
        }
        // Two members finish the job.
        while running.count < 2 { try start() }
        try Self.produceEnd(cluster)

        let expected = Self.expected(steps: produced)
        let output = directory + "/output"
        let complete = try await Self.wait(timeout: 90) {
            let result = Self.compare(Self.outputs(output), expected)
            return result.lost == 0 && result.duplicated == 0 && result.wrongSums == 0
        }
        try await Task.sleep(for: .seconds(1))
        let result = Self.compare(Self.outputs(output), expected)
        let records = produced * Self.keys
        let restores = Self.count("restoring from checkpoint", in: logs)
        let seconds = Int(Date().timeIntervalSince(began))
        print(
            """
            ScaleOutFaultTests: seed \(seed), \(steps) rounds, \(killed) SIGKILLs, \(started) processes started, \
            \(assignments) assignments, \(restores) restores from checkpoint, \(records) records, \
            lost \(result.lost), duplicated \(result.duplicated), wrong sums \(result.wrongSums), \
            \(takeoverWaits) rounds without a rebalance within 20 s, \(seconds) s
            """
        )
        #expect(complete, "the minute sums are incomplete after 90 s (seed \(seed))")
        #expect(result.lost == 0, "records lost (seed \(seed))")
        #expect(result.duplicated == 0, "records counted twice (seed \(seed))")
        #expect(result.wrongSums == 0, "wrong sums (seed \(seed))")
        #expect(Self.count("late: ", in: logs) == 0, "late records (seed \(seed))")
        for text in ["Fatal error", "pipeline copy failed", "cannot seek", "Kafka seek failed"] {
            #expect(Self.count(text, in: logs) == 0, "'\(text)' in a log (seed \(seed))")
        }
        for member in running {
            #expect(member.process.isRunning, "\(member.name) exited on its own (seed \(seed))")
        }
        // The survivors stop cleanly: a final checkpoint per partition, then they leave the group.
        for member in running where member.process.isRunning {
            member.process.terminate()
        }
        for member in running {
            let exited = try await Self.wait(timeout: 30) { !member.process.isRunning }
            #expect(exited, "\(member.name) did not stop on SIGTERM")
            if exited {
                #expect(member.process.terminationReason == .exit && member.process.terminationStatus == 0)
            } else {
                kill(member.process.processIdentifier, SIGKILL)
            }
        }
        running.removeAll()
    }

    /// Makes one partition's sink fail `times` times — at the first write of a run after
    /// `afterCommits` checkpoints were committed, or when it opens — and counts the writers opened
    /// (one per run of the copy).
    final class Failure: Sendable {
        let afterCommits: Int
        let times: Int
        let whenOpened: Bool
        private let state = Mutex((failures: 0, commits: 0, writers: 0))

        init(afterCommits: Int = 0, times: Int = 1, whenOpened: Bool = false) {
            self.afterCommits = afterCommits
            self.times = times
            self.whenOpened = whenOpened
        }

        var failures: Int { state.withLock { $0.failures } }
        var commits: Int { state.withLock { $0.commits } }
        var writers: Int { state.withLock { $0.writers } }
        func opened() { state.withLock { $0.writers += 1 } }
        func committed() { state.withLock { $0.commits += 1 } }

        /// Whether this write fails.
        func strikes() -> Bool {
            state.withLock { state in
                guard state.failures < times, state.commits >= afterCommits else { return false }
                state.failures += 1
                return true
            }
        }
    }

    struct Reading: Sendable {
        var key: String
        var time: Timestamp
        var value: Int
    }

    struct InjectedFailure: Error, CustomStringConvertible {
        var description: String { "injected sink failure" }
    }

    /// A sink that does what `base` does, but fails when `failure` strikes.
    struct FailingSink<Base: Sink>: Sink {
        typealias Element = Base.Element
        let base: Base
        let failure: Failure?

        func makeWriter(context: SinkContext) async throws -> Writer {
            failure?.opened()
            if let failure, failure.whenOpened, failure.strikes() { throw InjectedFailure() }
            return Writer(base: try await base.makeWriter(context: context), failure: failure)
        }

        final class Writer: SinkWriter {
            let base: Base.Writer
            let failure: Failure?

            init(base: Base.Writer, failure: Failure?) {
                self.base = base
                self.failure = failure
            }

            func write(_ batch: Batch<Base.Element>) async throws {
                if let failure, !failure.whenOpened, failure.strikes() { throw InjectedFailure() }
                try await base.write(batch)
            }
            func advance(to watermark: Timestamp) async throws { try await base.advance(to: watermark) }
            func finish() async throws { try await base.finish() }
            func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]? { try await base.prepareCheckpoint(id) }
            func commitCheckpoint(_ id: Int64) async throws {
                try await base.commitCheckpoint(id)
                failure?.committed()
            }
            func restore(from snapshots: [[UInt8]]) async throws { try await base.restore(from: snapshots) }
        }
    }

    /// Minute sums per key, as `kafka-scale-out` computes them, in this process; partition 1's
    /// sink fails as `failure` says.
    static func minuteSums(
        _ cluster: KafkaMockCluster,
        _ directory: String,
        failure: Failure
    ) -> KafkaPartitionedPipelines {
        let output = directory + "/output"
        return KafkaPartitionedPipelines(
            KafkaConfiguration(bootstrapServers: cluster.bootstrapServers),
            topic: "events",
            groupID: "minute-sums",
            checkpointDirectory: directory + "/checkpoints",
            checkpointInterval: .milliseconds(300)
        ) { pipeline, records, partition in
            records.map(name: "parse") { record in
                let fields = String(decoding: record.value ?? [], as: UTF8.self).split(separator: ",")
                return Reading(
                    key: String(fields[0]),
                    time: Timestamp(seconds: Int64(fields[1])!),
                    value: Int(fields[2])!
                )
            }
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
            .key(by: { $0.key })
            .window(.tumbling(.minutes(1)))
            .aggregate(Count(), Sum { $0.value })
            .sink(
                FailingSink(
                    base: UpsertFileSink(
                        path: "\(output)/\(partition.topic)-\(partition.partition).csv",
                        key: { "\($0.key) \($0.window.start.microseconds)" },
                        line: {
                            "\($0.key),\($0.window.start.microseconds / 1_000_000),\($0.value.0),\($0.value.1)"
                        }
                    ),
                    failure: partition.partition == 1 ? failure : nil
                ),
                name: "minute-sums"
            )
        }
    }

    /// One process runs every partition's copy; partition 1's sink fails once — before the copy's
    /// first checkpoint, or after two. The copy restarts from its last checkpoint (or from where
    /// the partition was assigned, when it had none), the other copies and `run()` go on, and the
    /// minute sums hold every record exactly once.
    @Test(.timeLimit(.minutes(2)), arguments: [0, 2])
    func aCopyWhoseSinkFailsRestartsFromItsCheckpointAndTheProcessGoesOn(afterCommits: Int) async throws {
        let directory = NSTemporaryDirectory() + "scale-out-failure-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("events", partitions: Int(Self.partitions))
        let steps = 240
        try Self.produce(cluster, steps: 0..<(steps / 2))

        let failure = Failure(afterCommits: afterCommits)
        let output = directory + "/output"
        let group = Self.minuteSums(cluster, directory, failure: failure)
        let run = Task { try await group.run() }
        defer { group.stop() }

        if afterCommits > 0 {
            let committed = try await Self.wait(timeout: 30) { failure.commits >= afterCommits }
            #expect(committed, "partition 1's copy committed \(failure.commits) checkpoints")
        }
        try Self.produce(cluster, steps: (steps / 2)..<steps)
        try Self.produceEnd(cluster)

        let expected = Self.expected(steps: steps)
        let complete = try await Self.wait(timeout: 60) {
            let result = Self.compare(Self.outputs(output), expected)
            return result.lost == 0 && result.duplicated == 0 && result.wrongSums == 0
        }
        try await Task.sleep(for: .seconds(1))
        let result = Self.compare(Self.outputs(output), expected)
        #expect(complete, "the minute sums are incomplete after 60 s")
        #expect(result.lost == 0, "records lost")
        #expect(result.duplicated == 0, "records counted twice")
        #expect(result.wrongSums == 0, "wrong sums")
        #expect(failure.failures == 1, "the sink failed once")
        #expect(failure.writers >= 2, "partition 1's copy restarted (\(failure.writers) runs)")
        #expect(group.partitions.count == Int(Self.partitions), "the process still runs every partition")

        group.stop()
        // run() returns without an error: one copy's failure does not stop the process.
        await #expect(throws: Never.self) { try await run.value }
    }

    /// A copy that fails at every run waits longer before each restart (1 s, 2 s, 4 s, 8 s …), but a
    /// stop (like a revoke) ends the wait: `run()` returns at once, without an error.
    @Test(.timeLimit(.minutes(1)))
    func aStopDoesNotWaitForTheBackoffOfACopyThatKeepsFailing() async throws {
        let directory = NSTemporaryDirectory() + "scale-out-backoff-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("events", partitions: Int(Self.partitions))
        try Self.produce(cluster, steps: 0..<24)

        let failure = Failure(times: .max, whenOpened: true)
        let group = Self.minuteSums(cluster, directory, failure: failure)
        let run = Task { try await group.run() }
        defer { group.stop() }
        // After the fourth failure the copy waits 8 s before its next run.
        let failing = try await Self.wait(timeout: 40) { failure.failures >= 4 }
        #expect(failing, "partition 1's copy failed \(failure.failures) times")
        let stopping = ContinuousClock.now
        group.stop()
        await #expect(throws: Never.self) { try await run.value }
        let took = ContinuousClock.now - stopping
        #expect(took < .seconds(4), "stop took \(took)")
    }
}
