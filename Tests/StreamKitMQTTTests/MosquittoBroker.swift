import Foundation
import StreamKitMQTT

/// A real mosquitto broker for a test (``LocalMosquitto`` in a temporary directory), with the
/// foreign clients `mosquitto_pub` and `mosquitto_sub` to check the connector against.
final class MosquittoBroker: Sendable {
    let broker: LocalMosquitto

    /// Starts a broker.
    /// - Parameters:
    ///   - persistence: Whether the broker saves sessions and queued messages when it stops.
    ///   - passwords: Users and passwords; when given, anonymous clients are refused.
    init(persistence: Bool = false, passwords: [String: String]? = nil) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mosquitto-\(UUID().uuidString)")
        broker = try LocalMosquitto(directory: directory.path, persistence: persistence, passwords: passwords)
    }

    deinit {
        broker.stop()
        try? FileManager.default.removeItem(atPath: broker.directory)
    }

    var port: Int { broker.port }

    /// Starts the broker again after ``kill(signal:)``.
    func start() throws { try broker.start() }

    /// Kills the broker with `signal` (SIGKILL: no chance to save anything) and waits for it to end.
    func kill(signal: Int32 = SIGKILL) { broker.kill(signal: signal) }

    /// Freezes (`SIGSTOP`) or resumes (`SIGCONT`) the broker.
    func send(signal: Int32) { broker.send(signal: signal) }

    /// Runs `mosquitto_pub` against this broker with `arguments` and, when given, `input` on stdin.
    func publish(_ arguments: [String], input: String? = nil) throws {
        try Self.run("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(port)"] + arguments, input: input)
    }

    struct BrokerError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BrokerError(message: "\(executable) \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    static func freePort() throws -> Int { try LocalMosquitto.freePort() }
}
