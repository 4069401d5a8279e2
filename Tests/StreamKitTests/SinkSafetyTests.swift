import Foundation
import StreamKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Sinks do not lose what they were given, and do not replace what is not theirs.
@Suite struct SinkSafetyTests {
    /// The newest checkpoint in `state` that completed, and the number of the first input line it
    /// did not cover.
    static func newestCheckpointLine(in state: String) throws -> Int {
        let newest = try #require(CrashRecoveryTests.completeCheckpoints(in: state).max())
        let text = try String(contentsOfFile: "\(state)/\(newest)/MANIFEST.json", encoding: .utf8)
        let trailer = try #require(text.range(of: "\ncrc32 ", options: .backwards))
        let json = String(text[..<trailer.lowerBound])
        let manifest = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let sources = manifest?["sources"] as? [String: [String: [String: Int]]]
        return try #require(sources?["readings"]?["offsets"]?["line"])
    }

    @Test(.timeLimit(.minutes(3)))
    func printedRowsBeforeACompletedCheckpointSurviveSIGKILL() async throws {
        let directory = TemporaryDirectory()
        let input = directory.path + "/readings.jsonl"
        try CrashRecoveryTests.writeInput(to: input)
        let decoder = JSONDecoder()
        let rows = try String(contentsOfFile: input, encoding: .utf8).split(separator: "\n").map { line in
            let reading = try decoder.decode(Reading.self, from: Data(line.utf8))
            return "\(reading.sensor) \(reading.time.microseconds) \(reading.value)"
        }
        for attempt in 0..<3 {
            let state = directory.path + "/state-\(attempt)"
            let printed = directory.path + "/printed-\(attempt).txt"
            FileManager.default.createFile(atPath: printed, contents: nil)
            let process = Process()
            process.executableURL = CrashRecoveryTests.products.appendingPathComponent("crash-recovery")
            process.arguments = [input, directory.path + "/minutes-\(attempt).csv", state, "--slow", "--print"]
            process.standardOutput = FileHandle(forWritingAtPath: printed)
            process.standardError = FileHandle.nullDevice
            try process.run()
            for _ in 0..<1000 where process.isRunning && CrashRecoveryTests.completeCheckpoints(in: state).isEmpty {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(40 + attempt * 70))
            try #require(process.isRunning, "the example finished before it was killed: make its input longer")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let covered = try Self.newestCheckpointLine(in: state) - 1
            #expect(covered > 0)
            var missing: [String: Int] = [:]
            for row in rows.prefix(covered) { missing[row, default: 0] += 1 }
            for row in try String(contentsOfFile: printed, encoding: .utf8).split(separator: "\n") {
                missing[String(row)]? -= 1
            }
            let lost = missing.filter { $0.value > 0 }.count
            #expect(
                lost == 0,
                "attempt \(attempt): \(lost) of the \(covered) rows before the checkpoint were not printed"
            )
        }
    }

    @Test(arguments: ["symbolic link", "named pipe", "directory"])
    func upsertFileSinkRefusesATargetThatIsNotARegularFile(_ kind: String) async throws {
        let directory = TemporaryDirectory()
        let original = directory.write("original.csv", "kept\n")
        let target = directory.path + "/target"
        switch kind {
        case "symbolic link": try FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: original)
        case "named pipe": #expect(mkfifo(target, 0o644) == 0)
        default: try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        }
        let pipeline = Pipeline("upsert")
        pipeline.source([1, 2, 3]).sink(UpsertFileSink(path: target, key: { "\($0)" }) { "\($0)" }, name: "table")
        let error = try await #require(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.contains("'\(target)' is a \(kind)"))
        #expect(error.message.contains("give a path that does not exist yet or is a regular file"))
        var status = stat()
        #expect(lstat(target, &status) == 0)
        #expect(status.st_mode & S_IFMT != S_IFREG)
        #expect(try String(contentsOfFile: original, encoding: .utf8) == "kept\n")
    }

    @Test func upsertFileSinkReplacesARegularFile() async throws {
        let directory = TemporaryDirectory()
        let target = directory.write("table.csv", "old\n")
        let pipeline = Pipeline("upsert")
        pipeline.source([2, 1]).sink(UpsertFileSink(path: target, key: { "\($0)" }) { "row \($0)" }, name: "table")
        try await pipeline.run()
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "row 1\nrow 2\n")
    }
}
