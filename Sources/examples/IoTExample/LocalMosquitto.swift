import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A mosquitto broker started for the example on a free loopback port, so that the pipeline runs
/// with no configuration. Its persistence file lives in the data directory, so the persistent
/// session of the pipeline survives a restart of the example.
public final class LocalMosquitto: Sendable {
    /// The port the broker listens on, on 127.0.0.1.
    public let port: Int
    /// The broker's process id.
    public let pid: Int32

    /// Starts `/usr/sbin/mosquitto` (Debian's `mosquitto` package).
    /// - Parameter directory: Where its configuration, log and persistence file go.
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let executable = "/usr/sbin/mosquitto"
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw LocalMosquittoError(
                message: "\(executable) is missing: install Debian's mosquitto package (./scripts/setup does), "
                    + "or give the address of a running broker with --broker host:port"
            )
        }
        port = try Self.freePort()
        let configuration = """
            listener \(port) 127.0.0.1
            allow_anonymous true
            user root
            persistence true
            persistence_location \(directory)/
            max_queued_messages 1000000
            log_dest file \(directory)/mosquitto.log

            """
        let path = "\(directory)/mosquitto.conf"
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        pid = try Self.spawn(executable, ["-c", path])
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(port: port) {
            guard kill(pid, 0) == 0, Date() < deadline else {
                throw LocalMosquittoError(message: "mosquitto did not start; see \(directory)/mosquitto.log")
            }
            usleep(20_000)
        }
    }

    /// Stops the broker gracefully, so that it saves its sessions.
    public func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    /// Why the broker could not start.
    public struct LocalMosquittoError: Error, CustomStringConvertible {
        /// What went wrong and what to do.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// Starts a process with the default signal mask, so that SIGTERM reaches it.
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

    static func freePort() throws -> Int {
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
