import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's mosquitto broker, started on a free loopback port in a directory of its own: what
/// examples, tests and demonstrations run against when no broker is given (the MQTT counterpart of
/// `KafkaMockCluster`). It can be killed and started again on the same port with the same
/// persistence file, which is how tests restart a broker mid-stream.
public final class LocalMosquitto: Sendable {
    /// The port the broker listens on, on 127.0.0.1.
    public let port: Int
    /// Where its configuration, log, password and persistence files are.
    public let directory: String
    private let process = Mutex<pid_t?>(nil)

    /// Starts `/usr/sbin/mosquitto` (Debian's `mosquitto` package).
    /// - Parameters:
    ///   - directory: Where its configuration, log and persistence file go.
    ///   - persistence: Whether the broker saves sessions and queued messages when it stops, so
    ///     that a persistent session survives a broker restart.
    ///   - passwords: Users and passwords; when given, anonymous clients are refused.
    /// - Throws: ``LocalMosquittoError`` when mosquitto is missing or does not start.
    public init(directory: String, persistence: Bool = true, passwords: [String: String]? = nil) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw LocalMosquittoError(
                message: "\(Self.executable) is missing: install Debian's mosquitto package (./scripts/setup does), "
                    + "or give the address of a running broker"
            )
        }
        self.directory = directory
        port = try Self.freePort()
        var lines = [
            "listener \(port) 127.0.0.1",
            // Started as root, mosquitto would switch to the `mosquitto` user, which may not write
            // the directory; as another user this line has no effect.
            "user root",
            "persistence \(persistence)",
            "persistence_location \(directory)/",
            "max_queued_messages 1000000",
            "log_dest file \(directory)/mosquitto.log",
        ]
        if let passwords {
            let file = "\(directory)/passwords"
            for (user, password) in passwords.sorted(by: { $0.key < $1.key }) {
                let create = FileManager.default.fileExists(atPath: file) ? [] : ["-c"]
                try Self.runToCompletion("/usr/bin/mosquitto_passwd", create + ["-b", file, user, password])
            }
            lines += ["allow_anonymous false", "password_file \(file)"]
        } else {
            lines.append("allow_anonymous true")
        }
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: "\(directory)/mosquitto.conf",
            atomically: true,
            encoding: .utf8
        )
        try start()
    }

    deinit {
        stop()
    }

    /// Starts the broker process (again, after ``kill(signal:)``) and waits until it accepts
    /// connections.
    public func start() throws {
        let pid = try Self.spawn(Self.executable, ["-c", "\(directory)/mosquitto.conf"])
        process.withLock { $0 = pid }
        let deadline = Date().addingTimeInterval(20)
        while !Self.accepts(port: port) {
            guard Glibc.kill(pid, 0) == 0, Date() < deadline else {
                throw LocalMosquittoError(message: "mosquitto did not start; see \(directory)/mosquitto.log")
            }
            usleep(20_000)
        }
    }

    /// Kills the broker with `signal` and waits for it to end: SIGKILL gives it no chance to save
    /// anything, SIGTERM lets it save its sessions.
    public func kill(signal: Int32 = SIGKILL) {
        guard
            let pid = process.withLock({ pid in
                defer { pid = nil }; return pid
            })
        else { return }
        Glibc.kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    /// Sends `signal` to the broker without waiting for it to end: `SIGSTOP` freezes it (its
    /// connections stay open but nothing is answered), `SIGCONT` lets it go on.
    public func send(signal: Int32) {
        guard let pid = process.withLock({ $0 }) else { return }
        Glibc.kill(pid, signal)
    }

    /// Stops the broker gracefully, so that it saves its sessions.
    public func stop() {
        kill(signal: SIGTERM)
    }

    static let executable = "/usr/sbin/mosquitto"

    /// Runs a command to its end; throws with its output when it fails.
    static func runToCompletion(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LocalMosquittoError(message: "\(executable) \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }

    /// Why the broker could not start.
    public struct LocalMosquittoError: Error, CustomStringConvertible {
        /// What went wrong and what to do.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// Starts a process with the default signal mask and dispositions. Foundation's `Process`
    /// passes on the mask of the spawning thread, and threads of the concurrency runtime block
    /// SIGTERM, so a broker started that way could not be stopped gracefully.
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
        // The broker logs to its file; its warnings on the terminal would mix with the pipeline's output.
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
            throw LocalMosquittoError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw LocalMosquittoError(message: "no free port on 127.0.0.1") }
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
