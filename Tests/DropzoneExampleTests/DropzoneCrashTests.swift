import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// Kills the `dropzone` program with SIGKILL while clients post to it, restarts it, and checks that
/// every acknowledged payload is in the table exactly once, with its own values.
@Suite(.serialized) struct DropzoneCrashTests {
    static var products: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent() }

    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts the program on a free port and waits until it answers /health.
    /// - Parameters:
    ///   - arguments: More command-line arguments.
    ///   - descriptorLimit: The process's limit on open descriptors (soft and hard), if any.
    static func start(
        _ data: String,
        arguments: [String] = [],
        descriptorLimit: Int? = nil,
        output: FileHandle = .nullDevice
    ) async throws -> (Process, Int) {
        let port = try freePort()
        let process = Process()
        let program = products.appendingPathComponent("dropzone").path
        let options = ["--data", data, "--port", "\(port)", "--token", "t0ken"] + arguments
        if let descriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\" \"$@\"", program] + options
        } else {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = options
        }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        for _ in 0..<200 {
            let healthy = try? await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                try await client.get("/health").status == .ok
            }
            if healthy == true { return (process, port) }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw CancellationError()
    }

    struct Acknowledged: Hashable {
        var id: Int
        var instant: Int
    }

    /// The acknowledged posts, from every client.
    final class Acknowledgements: Sendable {
        private let list = Mutex<[Acknowledged]>([])
        func withLock<T>(_ body: (inout [Acknowledged]) -> T) -> T { list.withLock { body(&$0) } }
    }

    @Test(.timeLimit(.minutes(3)))
    func afterSIGKILLDuringLoadEveryAcknowledgedPayloadIsStoredExactlyOnce() async throws {
        let scratch = Scratch()
        let data = scratch.path + "/data"
        let (first, port) = try await Self.start(data)

        // Eight clients post payloads with distinct instants; instant k carries data [k, k + 1].
        let acknowledged = Acknowledgements()
        let clients = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        _ = try? await TestClient.withClient(host: "127.0.0.1", port: port) { http in
                            for n in 0..<100_000 {
                                let instant = client * 100_000 + n
                                let body = payload(
                                    Self.timeStamp(instant),
                                    [Double(instant), Double(instant + 1)]
                                )
                                let response = try await http.post("/v1/measurements", headers: bearer, body: body)
                                guard response.status == .accepted,
                                    let answer = json(response.body ?? ByteBuffer()) as? [String: Any],
                                    let id = answer["id"] as? Int
                                else { return }
                                acknowledged.withLock { $0.append(Acknowledged(id: id, instant: instant)) }
                            }
                        }
                    }
                }
            }
        }
        while acknowledged.withLock({ $0.count }) < 2000 { try await Task.sleep(for: .milliseconds(20)) }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        await clients.value
        let acked = acknowledged.withLock { $0 }
        #expect(acked.count >= 2000)

        // The restart replays the raw store from the last checkpoint.
        let (second, _) = try await Self.start(data)
        defer {
            kill(second.processIdentifier, SIGKILL)
            second.waitUntilExit()
        }
        let rawLines = try String(contentsOfFile: data + "/raw/bodies.jsonl", encoding: .utf8)
            .split(separator: "\n").count
        #expect(rawLines >= acked.count)
        let database = try DatabaseQueue(path: data + "/dropzone.sqlite")
        var processed = 0
        for _ in 0..<600 {
            processed = try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM lineage")! }
            if processed >= rawLines { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        // Every stored record processed once: the lineage has one row per raw id (its primary key).
        #expect(processed == rawLines)
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT time_stamp, raw_id, mean, version FROM measurements")
        }
        #expect(rows.count == rawLines)
        let byID = Dictionary(uniqueKeysWithValues: rows.map { (Int($0["raw_id"] as Int64), $0) })
        for ack in acked {
            let row = byID[ack.id]
            #expect(row?["time_stamp"] as String? == Self.timeStamp(ack.instant), "raw \(ack.id)")
            #expect(row?["mean"] as Double? == Double(ack.instant) + 0.5, "raw \(ack.id)")
            #expect(row?["version"] as Int? == 1, "raw \(ack.id) applied more than once")
        }
        let rejected = try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected")! }
        #expect(rejected == 0)
    }

    /// A graceful stop reads the raw log to its end; the next start must still process what it
    /// acknowledges (StreamKit's end-of-input marker made it do nothing, while answering 202).
    @Test(.timeLimit(.minutes(1)))
    func afterAGracefulStopTheNextRunProcessesNewPayloads() async throws {
        let scratch = Scratch()
        let data = scratch.path + "/data"
        let database = { try DatabaseQueue(path: data + "/dropzone.sqlite") }
        for (run, instant) in [(1, 1), (2, 2)] {
            let (process, port) = try await Self.start(data)
            let status = try await TestClient.withClient(host: "127.0.0.1", port: port) { http in
                try await http.post(
                    "/v1/measurements",
                    headers: bearer,
                    body: payload(Self.timeStamp(instant), [Double(instant)])
                ).status
            }
            #expect(status == .accepted)
            var stored = 0
            for _ in 0..<200 {
                stored = try await database().read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM lineage")! }
                if stored == run { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(stored == run, "run \(run)")
            process.terminate()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
    }

    /// A distinct instant per number, written with a -04:00 offset.
    static func timeStamp(_ instant: Int) -> String {
        let seconds = 1_556_712_000 + instant  // 2019-05-01T12:00:00Z
        let date = Date(timeIntervalSince1970: Double(seconds - 4 * 3600))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d-04:00",
            c.year!,
            c.month!,
            c.day!,
            c.hour!,
            c.minute!,
            c.second!
        )
    }
}
