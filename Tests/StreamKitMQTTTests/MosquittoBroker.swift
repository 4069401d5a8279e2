import Foundation
import Glibc

/// A real mosquitto broker for a test, on a free loopback port, in a directory of its own.
///
/// It is started from Debian's `mosquitto` binary (installed by `scripts/setup`), can be killed
/// and started again on the same port with the same persistence file, and is stopped when the
/// test ends.
final class MosquittoBroker: @unchecked Sendable {
    // `@unchecked Sendable`: tests drive one broker from one task at a time; `process` is only
    // replaced by `start` and `kill`, which tests call in sequence.
    let port: Int
    let directory: URL
    private var pid: pid_t?
    private let extraConfiguration: String

    /// Starts a broker.
    /// - Parameters:
    ///   - persistence: Whether the broker saves sessions and queued messages to disk when it stops.
    ///   - passwords: Users and passwords; when given, anonymous clients are refused.
    init(persistence: Bool = false, passwords: [String: String]? = nil) throws {
        port = try Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mosquitto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lines = [
            "listener \(port) 127.0.0.1",
            // Started as root, mosquitto would switch to the `mosquitto` user, which cannot write
            // the test's directory; as another user this line has no effect.
            "user root",
            "persistence \(persistence)",
            "persistence_location \(directory.path)/",
            "max_queued_messages 100000",
            "log_dest file \(directory.path)/mosquitto.log",
        ]
        if let passwords {
            let file = directory.appendingPathComponent("passwords").path
            for (user, password) in passwords {
                try Self.run(
                    "/usr/bin/mosquitto_passwd",
                    FileManager.default.fileExists(atPath: file)
                        ? ["-b", file, user, password] : ["-c", "-b", file, user, password]
                )
            }
            lines += ["allow_anonymous false", "password_file \(file)"]
        } else {
            lines.append("allow_anonymous true")
        }
        extraConfiguration = lines.joined(separator: "\n") + "\n"
        try extraConfiguration.write(
            to: directory.appendingPathComponent("mosquitto.conf"),
            atomically: true,
            encoding: .utf8
        )
        try start()
    }

    deinit {
        kill(signal: SIGTERM)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts the broker process and waits until it accepts connections.
    func start() throws {
        let pid = try Self.spawn(
            "/usr/sbin/mosquitto",
            ["-c", directory.appendingPathComponent("mosquitto.conf").path]
        )
        self.pid = pid
        let deadline = Date().addingTimeInterval(20)
        while !Self.accepts(port: port) {
            guard Glibc.kill(pid, 0) == 0, Date() < deadline else {
                let log =
                    (try? String(contentsOf: directory.appendingPathComponent("mosquitto.log"), encoding: .utf8)) ?? ""
                throw BrokerError(message: "mosquitto did not start on port \(port): \(log)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Kills the broker with `signal` (SIGKILL: no chance to save anything) and waits for it to end.
    func kill(signal: Int32 = SIGKILL) {
        guard let pid else { return }
        Glibc.kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        self.pid = nil
    }

    /// Runs `mosquitto_pub` against this broker with `arguments` and, when given, `input` on stdin.
    func publish(_ arguments: [String], input: String? = nil) throws {
        try Self.run("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(port)"] + arguments, input: input)
    }

    /// Starts `mosquitto_sub` against this broker; its standard output collects in the returned pipe.
    func subscribe(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_sub")
        process.arguments = ["-h", "127.0.0.1", "-p", "\(port)"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        return (process, output)
    }

    /// Starts `executable` with the default signal mask and dispositions. Foundation's `Process`
    /// passes on the mask of the spawning thread, and the threads that run tests block SIGTERM, so
    /// a broker started that way could not be stopped gracefully.
    static func spawn(_ executable: String, _ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw BrokerError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
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
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw BrokerError(message: "no free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
