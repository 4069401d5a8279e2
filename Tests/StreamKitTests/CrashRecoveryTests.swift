import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Kills the checkpointed `crash-recovery` example with SIGKILL again and again, restarts it each
/// time, and checks that the output it finally leaves equals that of an uninterrupted run, row for
/// row.
@Suite(.serialized) struct CrashRecoveryTests {
    /// The folder of the built products (the test bundle sits there too).
    static var products: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    static func writeInput(to path: String) throws {
        var lines: [String] = []
        var state: UInt64 = 11
        for index in 0..<120_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var micros = Int64(index) * 50_000 - Int64(state >> 42 % 4_000_000)
            if index % 500 == 0 { micros -= 100_000_000 }  // late: its minute has closed
            lines.append(#"{"sensor":"s\#(state >> 61)","time":\#(micros),"value":\#(state >> 33 & 127)}"#)
        }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The checkpoints in `state` that have a manifest.
    static func completeCheckpoints(in state: String) -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []
        return Set(names.filter { FileManager.default.fileExists(atPath: "\(state)/\($0)/MANIFEST.json") })
    }

    /// Starts the example, its log going to `log` (or nowhere); returns the process.
    static func start(_ arguments: [String], log: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = products.appendingPathComponent("crash-recovery")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        if let log {
            FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }

    /// Writes the input and runs the example once without interruption: `reference.csv` is what
    /// every interrupted run must end up with. Returns the input's path.
    static func prepareInputAndReference(in directory: TemporaryDirectory) throws -> String {
        let input = directory.path + "/readings.jsonl"
        try writeInput(to: input)
        let reference = try start([
            input, directory.path + "/reference.csv", directory.path + "/reference-state", "--fresh",
        ])
        reference.waitUntilExit()
        try #require(reference.terminationStatus == 0)
        return input
    }

    @Test(.timeLimit(.minutes(5)))
    func killedAtTwentyPointsTheOutputEqualsAnUninterruptedRun() async throws {
        let directory = TemporaryDirectory()
        let input = try Self.prepareInputAndReference(in: directory)

        let output = directory.path + "/output.csv"
        let state = directory.path + "/state"
        var kills = 0
        var attempt = 0
        while kills < 20 {
            attempt += 1
            let before = Self.completeCheckpoints(in: state)
            let process = try Self.start([input, output, state, "--slow"])
            // Let each run complete a checkpoint of its own, so that it makes progress, then kill
            // it at points spread over the next checkpoint interval: while processing, and while
            // barriers travel and state files are written.
            for _ in 0..<500 where process.isRunning && Self.completeCheckpoints(in: state).subtracting(before).isEmpty
            {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds((attempt * 37) % 200))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal { kills += 1 }
            } else {
                process.waitUntilExit()
                Issue.record("the pipeline finished after \(kills) kills: make its input longer")
                break
            }
        }
        let log = directory.path + "/last.log"
        let last = try Self.start([input, output, state], log: log)
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)
        // The last run resumed from a checkpoint rather than starting over.
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        #expect(logged.contains("restoring from checkpoint"))

        let expected = try String(contentsOfFile: directory.path + "/reference.csv", encoding: .utf8)
        let actual = try String(contentsOfFile: output, encoding: .utf8)
        #expect(kills == 20)
        #expect(expected.split(separator: "\n").count > 100)
        #expect(actual == expected)
    }

    @Test(.timeLimit(.minutes(3)))
    func sigtermStopsWithAFinalCheckpointAndTheRestartFinishesTheJob() async throws {
        let directory = TemporaryDirectory()
        let input = try Self.prepareInputAndReference(in: directory)

        let output = directory.path + "/output.csv"
        let state = directory.path + "/state"
        let stopped = try Self.start([input, output, state, "--slow"])
        try await Task.sleep(for: .milliseconds(800))
        try #require(stopped.isRunning)
        kill(stopped.processIdentifier, SIGTERM)
        stopped.waitUntilExit()
        #expect(stopped.terminationReason == .exit && stopped.terminationStatus == 0)
        let complete = try FileManager.default.contentsOfDirectory(atPath: state)
            .filter { FileManager.default.fileExists(atPath: "\(state)/\($0)/MANIFEST.json") }
        #expect(!complete.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: state + "/FINISHED"))

        let last = try Self.start([input, output, state])
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)
        let expected = try String(contentsOfFile: directory.path + "/reference.csv", encoding: .utf8)
        #expect(try String(contentsOfFile: output, encoding: .utf8) == expected)
    }
}
