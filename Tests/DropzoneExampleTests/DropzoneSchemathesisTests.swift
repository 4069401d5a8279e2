import Foundation
import Testing

/// Schemathesis (PyPI, installed by ./scripts/setup) fuzzes the real program against its OpenAPI
/// document with every check: server errors, statuses, content types, headers and bodies that the
/// document does not list, authentication that is not enforced, methods that are not refused with
/// 405 and `Allow`, invalid input that is accepted.
@Suite struct DropzoneSchemathesisTests {
    static var installed: Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import schemathesis"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test(.timeLimit(.minutes(2)))
    func theAPIPassesEverySchemathesisCheck() async throws {
        try #require(Self.installed, "schemathesis is missing: run ./scripts/setup")
        let scratch = Scratch()
        let (dropzone, port) = try await DropzoneCrashTests.start(scratch.path + "/data")
        defer {
            kill(dropzone.processIdentifier, SIGKILL)
            dropzone.waitUntilExit()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-m", "schemathesis.cli", "run", "http://127.0.0.1:\(port)/openapi.json",
            "--url", "http://127.0.0.1:\(port)", "--checks", "all", "--header", "Authorization: Bearer t0ken",
            "--max-examples", "25", "--max-time", "30", "--workers", "1",
            "--request-timeout", "10", "--generation-deterministic",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["NO_COLOR": "1"]) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let start = ContinuousClock.now
        try process.run()
        // Half a minute of fuzzing is waited for on a thread of its own: blocking one of the
        // cooperative pool's threads (two on a two-core machine) that long stalls the other suites.
        let reader = output.fileHandleForReading
        let text = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            Thread {
                let text = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                continuation.resume(returning: text)
            }.start()
        }
        #expect(process.terminationStatus == 0, "schemathesis found problems:\n\(text)")
        #expect(text.contains("passed"), "\(text)")
        #expect(ContinuousClock.now - start < .seconds(90))
        #expect(dropzone.isRunning, "the dropzone exited under the fuzzer")
    }
}
