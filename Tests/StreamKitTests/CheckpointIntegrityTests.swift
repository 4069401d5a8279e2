import Foundation
import Logging
import StreamKit
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Checkpoints that refuse what is not theirs: a damaged manifest is skipped for the previous
/// checkpoint, a checkpoint of another pipeline, input or window configuration is refused with a
/// message that names the change, stray folders do not crash a start, and file system failures say
/// what to change.
@Suite struct CheckpointIntegrityTests {
    /// File → event time → per-sensor windows of `minutes` → a sink.
    static func build(
        name: String = "checkpointed",
        input: String,
        minutes: Int64 = 1,
        read: ReadCounter = ReadCounter(),
        logger: Logger = Logger(label: "test")
    ) -> Pipeline {
        let pipeline = Pipeline(name, configuration: PipelineConfiguration(workers: 2, batchSize: 50, logger: logger))
        pipeline.source(JSONLinesSource<Reading>(path: input), name: "readings")
            .map(name: "count-read") { reading in
                read.add()
                usleep(100)
                return reading
            }
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(minutes)), name: "minutes")
            .aggregate(Count(), Sum { $0.value })
            .sink(CollectingSink(), name: "minute-rows")
        return pipeline
    }

    /// A checkpoint directory with one checkpoint, taken by stopping a run after 500 readings.
    static func checkpointed(_ directory: TemporaryDirectory) async throws -> (
        input: String, checkpoints: CheckpointConfiguration
    ) {
        let input = try CheckpointTests.writeInput(directory)
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .seconds(3600))
        let read = ReadCounter()
        try await runAndStop(
            build(input: input, read: read),
            checkpoints: checkpoints,
            afterReading: 500,
            counted: read
        )
        return (input, checkpoints)
    }

    static func manifests(in root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
            .map { "\(root)/\($0)/MANIFEST.json" }
            .filter { FileManager.default.fileExists(atPath: $0) }
    }

    @Test(.timeLimit(.minutes(3)))
    func aManifestWithAnyFlippedByteIsSkippedForThePreviousCheckpoint() async throws {
        let directory = TemporaryDirectory()
        let (input, checkpoints) = try await Self.checkpointed(directory)
        let first = try #require(CheckpointConfiguration.latestPosition(of: "readings", in: checkpoints.directory))
        let read = ReadCounter()
        try await runAndStop(
            Self.build(input: input, read: read),
            checkpoints: checkpoints,
            afterReading: 500,
            counted: read
        )
        let second = try #require(CheckpointConfiguration.latestPosition(of: "readings", in: checkpoints.directory))
        #expect(second != first)
        let manifest = try #require(Self.manifests(in: checkpoints.directory).last)
        let original = try Data(contentsOf: URL(fileURLWithPath: manifest))

        // Every byte of the newest manifest, one at a time: the checkpoint before it is restored.
        var undetected: [Int] = []
        for index in original.indices {
            for bit: UInt8 in [0x01, 0x10] {
                var damaged = original
                damaged[index] ^= bit
                try damaged.write(to: URL(fileURLWithPath: manifest))
                let position = CheckpointConfiguration.latestPosition(of: "readings", in: checkpoints.directory)
                if position != first { undetected.append(index) }
            }
        }
        #expect(undetected.isEmpty, "flips at bytes \(undetected) were not detected")

        // A run skips it with a warning and resumes from the previous checkpoint.
        var damaged = original
        damaged[try #require(original.range(of: Data(#""offset" : "#.utf8))).upperBound] ^= 0x01
        try damaged.write(to: URL(fileURLWithPath: manifest))
        let logs = LogCollector()
        try await Self.build(input: input, logger: logs.makeLogger()).run(checkpoints: checkpoints)
        let messages = logs.messages.withLock { $0 }
        #expect(messages.contains { $0.contains("skipping checkpoint") && $0.contains("checksum") })
        #expect(messages.contains { $0.contains("restoring from checkpoint") && $0.contains(#""checkpoint": 1"#) })
    }

    @Test func aCheckpointOfAnotherPipelineIsRefusedNamingIt() async throws {
        let directory = TemporaryDirectory()
        let (input, checkpoints) = try await Self.checkpointed(directory)
        let error = try await #require(throws: StreamKitError.self) {
            try await Self.build(name: "other-pipeline", input: input).run(checkpoints: checkpoints)
        }
        #expect(error.code == .checkpoint)
        #expect(error.message.contains("written by pipeline 'checkpointed', this is pipeline 'other-pipeline'"))
        #expect(error.message.contains("remove '\(checkpoints.directory)'"))
        #expect(error.message.contains("fresh: true"))
    }

    @Test func aCheckpointOfAnotherInputFileIsRefusedNamingBothFiles() async throws {
        let directory = TemporaryDirectory()
        let (input, checkpoints) = try await Self.checkpointed(directory)
        let other = directory.path + "/other.jsonl"
        try FileManager.default.copyItem(atPath: input, toPath: other)
        let error = try await #require(throws: StreamKitError.self) {
            try await Self.build(input: other).run(checkpoints: checkpoints)
        }
        #expect(error.code == .checkpoint)
        #expect(error.message.contains("source 'readings' read file '\(input)', it now reads file '\(other)'"))
    }

    @Test func aWindowResizedUnderTheSameNameIsRefusedAndFreshStartsOver() async throws {
        let directory = TemporaryDirectory()
        let (input, checkpoints) = try await Self.checkpointed(directory)
        let error = try await #require(throws: StreamKitError.self) {
            try await Self.build(input: input, minutes: 5).run(checkpoints: checkpoints)
        }
        #expect(error.code == .checkpoint)
        #expect(error.message.contains("operator 'minutes' was window tumbling"))
        #expect(error.message.contains("\(Duration.seconds(60))"))
        #expect(error.message.contains("\(Duration.seconds(300))"))

        var fresh = checkpoints
        fresh.fresh = true
        let read = ReadCounter()
        try await Self.build(input: input, minutes: 5, read: read).run(checkpoints: fresh)
        #expect(read.count == CheckpointTests.readings.count)
    }

    @Test func aCheckpointOfAnOlderStreamKitIsRefusedWithWhatToDo() async throws {
        let directory = TemporaryDirectory()
        let (input, checkpoints) = try await Self.checkpointed(directory)
        // The manifest as StreamKit wrote it before format 2: JSON only, no format, no fingerprint.
        let manifest = try #require(Self.manifests(in: checkpoints.directory).last)
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        let json = String(text[..<text.range(of: "\ncrc32 ", options: .backwards)!.lowerBound])
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        object["format"] = nil
        object["fingerprint"] = nil
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: manifest))

        let error = try await #require(throws: StreamKitError.self) {
            try await Self.build(input: input).run(checkpoints: checkpoints)
        }
        #expect(error.code == .checkpoint)
        #expect(error.message.contains("older StreamKit"))
        #expect(error.message.contains("CheckpointConfiguration.fresh"))
    }

    @Test func strayFoldersInTheCheckpointDirectoryAreIgnored() async throws {
        let directory = TemporaryDirectory()
        let input = try CheckpointTests.writeInput(directory)
        let root = directory.path + "/state"
        for name in ["chk-9223372036854775807", "chk-99999999999999999999", "chk-abc", "chk-", "chk-00042"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
        }
        let logs = LogCollector()
        let checkpoints = CheckpointConfiguration(directory: root, interval: .milliseconds(20))
        let read = ReadCounter()
        try await Self.build(input: input, read: read, logger: logs.makeLogger()).run(checkpoints: checkpoints)
        #expect(read.count == CheckpointTests.readings.count)
        #expect(!Self.manifests(in: root).isEmpty)
        let messages = logs.messages.withLock { $0 }
        #expect(messages.contains { $0.contains("ignoring 'chk-9223372036854775807'") })
    }

    @Test func aCheckpointDirectoryThatCannotBeWrittenFailsSayingWhatToChange() async throws {
        let directory = TemporaryDirectory()
        let input = try CheckpointTests.writeInput(directory)
        // Under a regular file: ENOTDIR, for root too.
        let file = directory.write("not-a-directory", "")
        let underFile = try await #require(throws: StreamKitError.self) {
            try await Self.build(input: input).run(
                checkpoints: CheckpointConfiguration(directory: file + "/state", interval: .seconds(1))
            )
        }
        #expect(underFile.code == .io)
        #expect(underFile.message.contains("cannot create the checkpoint directory '\(file)/state'"))
        #expect(underFile.message.contains("choose a writable directory"))
        // A directory that exists and cannot be written, for root too: sysfs refuses new files.
        let readOnly = try await #require(throws: StreamKitError.self) {
            try await Self.build(input: input).run(
                checkpoints: CheckpointConfiguration(directory: "/sys/kernel", interval: .seconds(1))
            )
        }
        #expect(readOnly.code == .io)
        #expect(readOnly.message.contains("cannot write in the checkpoint directory '/sys/kernel'"))
        #expect(readOnly.message.contains("choose a writable directory"))
    }
}
