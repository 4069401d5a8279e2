import Foundation
import StreamKit
import Testing

@testable import StreamKitHTTP

/// A folder under the temporary directory, removed when the value goes.
final class Scratch {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "streamkit-http-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Reads every durable record of `log` with a ``RawLogSource`` reader, from `position` if given.
func readAll(
    _ log: RawLog,
    from position: SourcePosition? = nil
) async throws -> (records: [RawLogRecord], errors: [ErrorRecord], position: SourcePosition?) {
    var reader = try await RawLogSource(log).makeReader(
        context: SourceContext(name: "raw-log", batchSize: 100, tickInterval: .milliseconds(20))
    )
    if let position { try await reader.seek(to: position) }
    var records: [RawLogRecord] = []
    var errors: [ErrorRecord] = []
    while true {
        switch try await reader.read(maximumCount: 100) {
        case .chunk(let chunk):
            records += chunk.elements
            errors += chunk.errors
        case .tick, .end: return (records, errors, reader.position)
        }
    }
}

@Suite struct RawLogTests {
    @Test func concurrentAppendsGetDistinctIdsShareSyncsAndReadBackByteForByte() async throws {
        let scratch = Scratch()
        let log = try RawLog(path: scratch.path + "/raw/bodies.jsonl")
        let bodies = (1...400).map { Array(#"{"n":\#($0),"text":"quote \" backslash \\ tab \t é"}"#.utf8) }
        let receipts = try await withThrowingTaskGroup(of: (Int, RawLog.Receipt).self) { group in
            for (index, body) in bodies.enumerated() {
                group.addTask { (index, try await log.append(body)) }
            }
            return try await group.reduce(into: [Int: RawLog.Receipt]()) { $0[$1.0] = $1.1 }
        }
        #expect(Set(receipts.values.map(\.id)) == Set(1...400))
        #expect(log.count == 400)
        // 400 concurrent requests share syncs: group commit.
        #expect(log.syncs < 400)
        #expect(log.syncs >= 1)

        let (records, errors, _) = try await readAll(log)
        #expect(errors.isEmpty)
        #expect(records.map(\.id) == Array(1...400))
        for record in records {
            let index = receipts.first { $0.value.id == record.id }!.key
            #expect(record.body == bodies[index])
            #expect(record.sha256 == RawLog.sha256(bodies[index]))
            #expect(record.sha256 == receipts[index]!.sha256)
        }
        let lines = try String(contentsOfFile: log.path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 400)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["id"] as? Int == 1)
        log.close()
    }

    @Test func bodiesThatAreNotUTF8AreKeptByteForByte() async throws {
        let scratch = Scratch()
        let log = try RawLog(path: scratch.path + "/bodies.jsonl")
        let body: [UInt8] = [0xFF, 0xFE, 0x00, 0x41, 0x0A]
        _ = try await log.append(body)
        let (records, _, _) = try await readAll(log)
        #expect(records.first?.body == body)
        #expect(try String(contentsOfFile: log.path, encoding: .utf8).contains(#""bodyBase64":"//4AQQo=""#))
        log.close()
    }

    @Test func aLineCutShortByACrashIsRemovedAndNumberingContinues() async throws {
        let scratch = Scratch()
        let path = scratch.path + "/bodies.jsonl"
        do {
            let log = try RawLog(path: path)
            _ = try await log.append(Array("one".utf8))
            _ = try await log.append(Array("two".utf8))
            log.close()
        }
        // A crash during a write: half a line, never synced, never acknowledged.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"id":3,"received":"2026-01-01T00:00:00Z","sha"#.utf8))
        handle.closeFile()

        let log = try RawLog(path: path)
        #expect(log.count == 2)
        let receipt = try await log.append(Array("three".utf8))
        #expect(receipt.id == 3)
        let (records, errors, _) = try await readAll(log)
        #expect(errors.isEmpty)
        #expect(records.map { String(decoding: $0.body, as: UTF8.self) } == ["one", "two", "three"])
        log.close()
    }

    @Test func aReaderFollowsNewRecordsAndResumesFromItsPosition() async throws {
        let scratch = Scratch()
        let log = try RawLog(path: scratch.path + "/bodies.jsonl")
        for n in 1...3 { _ = try await log.append(Array("body \(n)".utf8)) }
        let first = try await readAll(log)
        #expect(first.records.count == 3)

        for n in 4...5 { _ = try await log.append(Array("body \(n)".utf8)) }
        let second = try await readAll(log, from: first.position)
        #expect(second.records.map(\.id) == [4, 5])
        #expect(second.records.map { String(decoding: $0.body, as: UTF8.self) } == ["body 4", "body 5"])

        // A reader waiting for data wakes when a record becomes durable.
        var reader = try await RawLogSource(log).makeReader(
            context: SourceContext(name: "raw-log", batchSize: 10, tickInterval: .seconds(10))
        )
        try await reader.seek(to: second.position!)
        async let appended = log.append(Array("body 6".utf8))
        let read = try await reader.read(maximumCount: 10)
        _ = try await appended
        guard case .chunk(let chunk) = read else {
            Issue.record("expected the new record, got \(read)")
            return
        }
        #expect(chunk.elements.map { $0.id } == [6])

        // Once closed, a reader at the end ends.
        log.close()
        #expect(try await reader.read(maximumCount: 10).isEnd)
        await #expect(throws: RawLogError.self) { try await log.append([1]) }
    }
}

extension SourceRead {
    var isEnd: Bool {
        if case .end = self { return true }
        return false
    }
}
