import Foundation
import Glibc
import StreamKitMQTT

/// A mosquitto broker for the benchmarks, on a free loopback port, in a directory of its own.
///
/// Unlike ``LocalMosquitto`` it configures unlimited queues, queues QoS 0 messages for persistent
/// sessions that are offline (so that a backlog can wait for a subscriber at either QoS), logs
/// subscriptions (which
/// ``waitForSubscription(clientID:)`` watches) and starts the command-line clients. Processes are started with
/// `posix_spawn` and the default signal mask and dispositions, because the threads that run the
/// benchmarks (like those that run tests) may block signals, and a child inherits the mask of the
/// spawning thread.
public final class MosquittoBroker: Sendable {
    /// The port it listens on, on 127.0.0.1.
    public let port: Int
    /// Its folder: configuration, log, and whatever a benchmark puts there (removed by ``stop()``).
    public let directory: String
    /// The broker's process.
    public let pid: pid_t

    /// Starts `/usr/sbin/mosquitto` and waits until it accepts connections.
    ///
    /// The configuration lets QoS 1 messages queue without limit (`max_queued_messages`,
    /// `max_inflight_messages 0`), so that the broker itself drops nothing, keeps QoS 0 messages for
    /// offline persistent sessions (`queue_qos0_messages`), and logs subscriptions, which
    /// ``waitForSubscription(clientID:)`` watches for.
    public init() throws {
        port = try LocalMosquitto.freePort()
        directory = NSTemporaryDirectory() + "streamkit-benchmark-mosquitto-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = [
            "listener \(port) 127.0.0.1",
            "allow_anonymous true",
            // Started as root, mosquitto would switch to the `mosquitto` user, which cannot write
            // the log in this directory; as another user this line has no effect.
            "user root",
            "max_queued_messages 1000000",
            "max_inflight_messages 0",
            "queue_qos0_messages true",
            "log_dest file \(directory)/mosquitto.log",
            "log_type error",
            "log_type warning",
            "log_type subscribe",
        ]
        try (configuration.joined(separator: "\n") + "\n")
            .write(toFile: "\(directory)/mosquitto.conf", atomically: true, encoding: .utf8)
        pid = try Self.spawn("/usr/sbin/mosquitto", ["-c", "\(directory)/mosquitto.conf"])
        let deadline = Date().addingTimeInterval(20)
        while !Self.accepts(port: port) {
            guard kill(pid, 0) == 0, Date() < deadline else {
                throw BrokerError(message: "mosquitto did not start on port \(port): \(log)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Stops the broker and removes its directory.
    public func stop() {
        kill(pid, SIGTERM)
        _ = Self.wait(for: pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The broker's log.
    public var log: String { (try? String(contentsOfFile: "\(directory)/mosquitto.log", encoding: .utf8)) ?? "" }

    /// Waits until the broker has logged a subscription of client `clientID`.
    public func waitForSubscription(clientID: String, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !log.contains(" \(clientID) ") {
            guard Date() < deadline else {
                throw BrokerError(message: "client \(clientID) did not subscribe within \(timeout) s")
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// Starts `executable` with the default signal mask and dispositions, its output discarded and
    /// its standard input read from `input` (or empty).
    public static func spawn(_ executable: String, _ arguments: [String], input: String? = nil) throws -> pid_t {
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
        posix_spawn_file_actions_addopen(&actions, 0, input ?? "/dev/null", O_RDONLY, 0)
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

    /// Waits for process `pid` to end and returns its exit status (128 + the signal when killed).
    public static func wait(for pid: pid_t) -> Int32 {
        waitWithUsage(for: pid).status
    }

    /// Waits for process `pid` to end and returns its exit status (128 + the signal when killed)
    /// and the CPU time (user and system) it used.
    public static func waitWithUsage(for pid: pid_t) -> (status: Int32, cpu: Duration) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) == -1 && errno == EINTR {}
        let signal = status & 0x7F
        return (signal == 0 ? (status >> 8) & 0xFF : 128 + signal, CPUTime.duration(of: usage))
    }

    /// A broker or client that did not start or did not do what it was asked.
    public struct BrokerError: Error, CustomStringConvertible {
        /// What went wrong.
        public var message: String
        /// ``message``.
        public var description: String { message }

        /// An error that says `message`.
        public init(message: String) {
            self.message = message
        }
    }

    /// Whether something accepts connections on 127.0.0.1 at `port`.
    public static func accepts(port: Int) -> Bool {
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
