import Foundation
import Logging
import StreamKit
import Testing

@testable import StreamKitMQTT

/// The MQTT source's journal: records read back as written across segments, a record cut short or
/// damaged by a crash removed when the journal opens, segments deleted only behind a position,
/// and a source that replays, after a crash, what it had taken from the broker and not checkpointed.
@Suite(.serialized) struct MQTTJournalTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)").path
    let logger = Logger(label: "test")

    func message(_ index: Int, size: Int = 40) -> MQTTMessage {
        MQTTMessage(
            topic: "sensors/\(index % 7)",
            payload: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) },
            qos: index % 2 == 0 ? .atLeastOnce : .exactlyOnce,
            retained: index % 5 == 0,
            receivedAt: Timestamp(microseconds: 1_700_000_000_000_000 + Int64(index))
        )
    }

    func configuration(segmentSize: Int64 = 4096) -> MQTTJournalConfiguration {
        var configuration = MQTTJournalConfiguration(directory: directory)
        configuration.segmentSize = segmentSize
        return configuration
    }

    func segments() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".journal") }.sorted()
    }

    @Test func recordsReadBackAsWrittenAcrossSegmentsAndReopening() throws {
        // Sizes around the segment size, an empty payload and one larger than a read chunk.
        let sizes = [0, 1, 40, 3000, 5000, 2 << 20, 17] + Array(repeating: 100, count: 200)
        var written: [MQTTMessage] = []
        var ends: [Int64] = []
        do {
            let journal = try MQTTJournal(configuration(), logger: logger)
            for (index, size) in sizes.enumerated() {
                let message = message(index, size: size)
                written.append(message)
                ends.append(try journal.append(message))
            }
            journal.close()
        }
        #expect(try segments().count > 5)
        let journal = try MQTTJournal(configuration(), logger: logger)
        #expect(journal.start == 0)
        #expect(journal.end == ends.last)
        var read: [MQTTMessage] = []
        var offset: Int64 = 0
        while offset < journal.end {
            let (messages, next) = try journal.read(from: offset, limit: journal.end, maximumCount: 64)
            #expect(!messages.isEmpty)
            read += messages
            offset = next
        }
        #expect(read == written)
        // From a position in the middle: what follows it.
        let (tail, _) = try journal.read(from: ends[99], limit: journal.end, maximumCount: 1000)
        #expect(tail == Array(written[100...]))
    }

    @Test func aRecordCutShortOrDamagedByACrashIsRemovedWhenTheJournalOpens() throws {
        var ends: [Int64] = []
        do {
            let journal = try MQTTJournal(configuration(segmentSize: 1 << 20), logger: logger)
            for index in 0..<3 { ends.append(try journal.append(message(index))) }
            journal.close()
        }
        let path = "\(directory)/\(try segments()[0])"
        // Half of a fourth record, as a kill in the middle of a write leaves it.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: [0x40, 0, 0, 0, 1, 2, 3, 4, 5, 6])
        try handle.close()
        do {
            let journal = try MQTTJournal(configuration(segmentSize: 1 << 20), logger: logger)
            #expect(journal.end == ends[2])
            #expect(try journal.read(from: 0, limit: journal.end, maximumCount: 10).messages.count == 3)
            // Appends go on after the last whole record.
            #expect(try journal.append(message(3)) > ends[2])
            journal.close()
        }
        // One changed byte in the payload of the second record: it and what follows are removed.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[Int(ends[0]) + 30] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let journal = try MQTTJournal(configuration(segmentSize: 1 << 20), logger: logger)
        #expect(journal.end == ends[0])
        #expect(try journal.read(from: 0, limit: journal.end, maximumCount: 10).messages == [message(0)])
    }

    @Test func trimmingDeletesOnlySegmentsBehindThePositionAndOffsetsNeverRestart() throws {
        var ends: [Int64] = []
        do {
            let journal = try MQTTJournal(configuration(), logger: logger)
            for index in 0..<100 { ends.append(try journal.append(message(index, size: 200))) }
            let before = try segments()
            journal.trim(before: ends[49])
            let after = try segments()
            #expect(after.count < before.count && after.last == before.last)
            // The record after position ends[49] is still readable.
            #expect(journal.start <= ends[49])
            let (messages, _) = try journal.read(from: ends[49], limit: journal.end, maximumCount: 1)
            #expect(messages == [message(50, size: 200)])
            journal.trim(before: .max)
            #expect(try segments() == [before.last!])
            journal.close()
        }
        let journal = try MQTTJournal(configuration(), logger: logger)
        #expect(journal.end == ends[99])
        #expect(try journal.append(message(100)) > ends[99])
    }

    @Test func aSourceReplaysWhatItTookFromTheBrokerAndDidNotCheckpoint() async throws {
        let broker = try MosquittoBroker()
        var mqtt = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "journal-replay")
        mqtt.cleanSession = false
        let checkpoints = "\(directory)/checkpoints"
        let journal = MQTTJournalConfiguration(directory: "\(directory)/journal")

        // The first run takes every message from the broker (which forgets them once acknowledged)
        // and ends without a checkpoint, as a crash would.
        let first = Pipeline("journal-replay", configuration: PipelineConfiguration(workers: 1))
        let source = MQTTSource(mqtt, topics: ["in"], qos: .atLeastOnce, journal: journal)
        let seen = CollectingSink<String>()
        first.source(source).map { $0.text }.sink(seen)
        let run = Task { try await first.run(checkpoints: .every(.seconds(3600), in: checkpoints)) }
        try await eventually { source.statistics.current.isSubscribed }
        let words = (0..<50).map { "message-\($0)" }
        try broker.publish(["-q", "1", "-t", "in", "-l"], input: words.joined(separator: "\n") + "\n")
        try await eventually { seen.elements.count == 50 }
        run.cancel()
        _ = try? await run.value

        // The second run has no checkpoint to resume from: it replays the journal from its start,
        // then takes new messages from the broker.
        let second = Pipeline("journal-replay", configuration: PipelineConfiguration(workers: 1))
        let again = MQTTSource(mqtt, topics: ["in"], qos: .atLeastOnce, journal: journal)
        let replayed = CollectingSink<String>()
        second.source(again).map { $0.text }.sink(replayed)
        let secondRun = Task { try await second.run(checkpoints: .every(.milliseconds(200), in: checkpoints)) }
        try await eventually { again.statistics.current.isSubscribed }
        try broker.publish(["-q", "1", "-t", "in", "-m", "after"])
        try await eventually { replayed.elements.count == 51 }
        second.stop()
        try await secondRun.value
        #expect(replayed.elements == words + ["after"])

        // A third run resumes after the final checkpoint of the second: nothing is replayed twice.
        let third = Pipeline("journal-replay", configuration: PipelineConfiguration(workers: 1))
        let last = MQTTSource(mqtt, topics: ["in"], qos: .atLeastOnce, journal: journal)
        let resumed = CollectingSink<String>()
        third.source(last).map { $0.text }.sink(resumed)
        let thirdRun = Task { try await third.run(checkpoints: .every(.milliseconds(200), in: checkpoints)) }
        try await eventually { last.statistics.current.isSubscribed }
        try broker.publish(["-q", "1", "-t", "in", "-m", "later"])
        try await eventually { resumed.elements.count >= 1 }
        third.stop()
        try await thirdRun.value
        #expect(resumed.elements == ["later"])
    }

    @Test func aGracefulStopProcessesWhatWasReceivedBeforeItDisconnected() async throws {
        let broker = try MosquittoBroker()
        var mqtt = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "journal-drain")
        mqtt.cleanSession = false
        let checkpoints = "\(directory)/checkpoints"
        let journal = MQTTJournalConfiguration(directory: "\(directory)/journal")
        // A slow pipeline: messages wait in the source's buffer when the stop comes.
        let pipeline = Pipeline(
            "journal-drain",
            configuration: PipelineConfiguration(workers: 1, batchSize: 10)
        )
        let source = MQTTSource(mqtt, topics: ["in"], qos: .atLeastOnce, journal: journal)
        let seen = CollectingSink<String>()
        pipeline.source(source).map { message in
            Thread.sleep(forTimeInterval: 0.002)
            return message.text
        }.sink(seen)
        let run = Task { try await pipeline.run(checkpoints: .every(.seconds(3600), in: checkpoints)) }
        try await eventually { source.statistics.current.isSubscribed }
        let words = (0..<400).map { "m\($0)" }
        try broker.publish(["-q", "1", "-t", "in", "-l"], input: words.joined(separator: "\n") + "\n")
        try await eventually { source.statistics.current.messages == 400 }
        pipeline.stop()
        try await run.value
        #expect(seen.elements == words)
    }

    /// A full disk: the journal cannot take a message, so the connection is cut before that
    /// message's acknowledgement leaves and the pipeline stops with an error that says so; once
    /// there is room, the next run has every message, from the journal or from the broker.
    @Test(.enabled(if: getuid() == 0, "mounts a small tmpfs"))
    func aFullDiskStopsThePipelineWithoutLosingAMessage() async throws {
        let broker = try MosquittoBroker()
        let mountPoint = "\(directory)/journal"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try MosquittoBroker.run("/bin/mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", mountPoint])
        defer { _ = try? MosquittoBroker.run("/bin/umount", [mountPoint]) }
        var mqtt = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "journal-full")
        mqtt.cleanSession = false
        let journal = MQTTJournalConfiguration(directory: mountPoint)
        let checkpoints = "\(directory)/checkpoints"
        let words = (0..<200).map { "message-\($0)-" + String(repeating: "x", count: 200) }

        let first = Pipeline("journal-full", configuration: PipelineConfiguration(workers: 1))
        let source = MQTTSource(mqtt, topics: ["in"], qos: .atLeastOnce, journal: journal)
        let seen = CollectingSink<String>()
        first.source(source).map { $0.text }.sink(seen)
        let run = Task { try await first.run(checkpoints: .every(.seconds(3600), in: checkpoints)) }
        try await eventually { source.statistics.current.isSubscribed }
        try broker.publish(["-q", "1", "-t", "in", "-l"], input: words.joined(separator: "\n") + "\n")
        do {
            try await run.value
            Issue.record("the pipeline went on with a full journal")
        } catch let error as StreamKitError {
            #expect(error.code == .io, "\(error)")
            #expect(error.message.contains("cannot write to the MQTT journal"))
        }
        #expect(seen.elements.count < words.count)

        // Room again: the journal's messages are replayed, the others come from the broker.
        try MosquittoBroker.run("/bin/mount", ["-o", "remount,size=4m", mountPoint])
        let second = Pipeline("journal-full", configuration: PipelineConfiguration(workers: 1))
        let again = MQTTSource(mqtt, topics: ["in"], qos: .atLeastOnce, journal: journal)
        let all = CollectingSink<String>()
        second.source(again).map { $0.text }.sink(all)
        let secondRun = Task { try await second.run(checkpoints: .every(.milliseconds(200), in: checkpoints)) }
        try await eventually { Set(all.elements).count == words.count }
        second.stop()
        try await secondRun.value
        #expect(Set(all.elements) == Set(words))
    }
}
