import Foundation
import GRDB
import StreamKitMQTT
import Testing

/// The `iot-pipeline` program attached to a real mosquitto, killed with SIGKILL at 20 points and
/// stopped with SIGTERM at 5 while a foreign publisher (`mosquitto_pub`, QoS 1) sends readings,
/// copies of readings and malformed messages; `mosquitto_sub` captures every message on its own.
/// At the end the raw archive, the readings, the minute means, the quality table and the malformed
/// table must agree with what is computed from the capture: no message lost, none counted twice.
@Suite(.serialized) struct IoTCrashTests {
    static var products: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent() }

    /// A reading as the capture holds it.
    struct Reading: Hashable {
        var sensor: String
        var dt: String
        var value: Double
    }

    @Test(.timeLimit(.minutes(6)))
    func killsAndStopsUnderLoadLoseNoMessageAndCountNoneTwice() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("iot-crash-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let data = "\(scratch)/data"
        let broker = try LocalMosquitto(directory: "\(scratch)/mosquitto")
        defer { broker.stop() }

        // The independent record of every message the broker accepted.
        let capturePath = "\(scratch)/capture.txt"
        _ = FileManager.default.createFile(atPath: capturePath, contents: nil)
        let capture = try Self.spawn(
            "/usr/bin/mosquitto_sub",
            ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-c", "-i", "capture", "-t", "sensors", "-F", "%p"],
            output: capturePath
        )
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }

        // The first run makes the pipeline's persistent session, so that the broker keeps what is
        // published while the program is down.
        let httpPort = try LocalMosquitto.freePort()
        var program = try Self.startPipeline(
            data: data,
            broker: broker.port,
            httpPort: httpPort,
            log: "\(scratch)/run-0.log"
        )
        try await Self.waitUntil(seconds: 60) { Self.answers("http://127.0.0.1:\(httpPort)/ready") }
        try await Self.waitForSubscription(broker: broker, capturePath: capturePath)

        let messages = Self.messages()
        let publisher = try Self.spawn(
            "/usr/bin/mosquitto_pub",
            ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", "sensors", "-l", "-i", "publisher"],
            input: true
        )
        let input = (publisher.standardInput as! Pipe).fileHandleForWriting
        let publishing = Task.detached {
            for (index, line) in messages.enumerated() {
                input.write(Data((line + "\n").utf8))
                if index % 50 == 49 { try? await Task.sleep(for: .milliseconds(200)) }
            }
            try? input.close()
        }

        // 20 kills and 5 graceful stops (SIGINT and SIGTERM in turn) at scattered points of the
        // load: a kill may land anywhere, even while the program starts.
        var graceful = 0
        for round in 1...25 {
            try await Task.sleep(for: .milliseconds(250 + (round * 379) % 900))
            if round % 5 == 0 {
                // Once the program has installed its signal handling: it prints this line then.
                let log = "\(scratch)/run-\(round - 1).log"
                try await Self.waitUntil(seconds: 60) {
                    ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("writing under")
                }
                kill(program.processIdentifier, round % 10 == 0 ? SIGTERM : SIGINT)
                program.waitUntilExit()
                #expect(program.terminationStatus == 0, "a graceful stop must succeed (round \(round))")
                graceful += 1
            } else {
                kill(program.processIdentifier, SIGKILL)
                program.waitUntilExit()
            }
            program = try Self.startPipeline(data: data, broker: broker.port, log: "\(scratch)/run-\(round).log")
        }
        #expect(graceful == 5)
        await publishing.value
        publisher.waitUntilExit()
        #expect(publisher.terminationStatus == 0)

        // The last run catches up; the final readings (20 minutes on) close every earlier minute.
        let database = try DatabaseQueue(path: "\(data)/bi.sqlite", configuration: Self.readOnly)
        try await Self.waitUntil(seconds: 120) {
            let minutes =
                (try? database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM minute_means") ?? 0 }) ?? 0
            return minutes >= Self.sensors.count * Self.steps / 60
        }
        kill(program.processIdentifier, SIGTERM)
        program.waitUntilExit()
        #expect(program.terminationStatus == 0)
        // mosquitto_sub writes each message as it comes; it ignores SIGTERM when started from the
        // test process, so it is killed once it has written everything.
        try await Self.waitUntil(seconds: 30) { ((try? Self.lines(capturePath)) ?? []).count >= messages.count + 1 }
        kill(capture.processIdentifier, SIGKILL)
        capture.waitUntilExit()

        let captured = try Self.lines(capturePath)
        let expected = Self.expectation(fromCapture: captured)
        // The capture saw what was published, in number (copies included).
        #expect(captured.count == messages.count + 1)  // + the subscription probe

        // The raw archive holds every captured message; a message the broker delivered again
        // after a kill may be there twice (it is a log of deliveries), nothing else.
        let archived = try Self.archiveLines(data)
        #expect(Set(archived) == Set(captured))
        #expect(archived.count >= captured.count)

        try await database.read { db in
            let readings = try Row.fetchAll(db, sql: "SELECT sensor, dt, value FROM readings").map {
                Reading(sensor: $0["sensor"], dt: $0["dt"], value: $0["value"])
            }
            #expect(readings.count == expected.readings.count)
            #expect(Set(readings.map { "\($0.sensor)@\($0.dt)=\($0.value)" }) == expected.readingKeys)

            let rows = try Row.fetchAll(
                db,
                sql: "SELECT m.sensor, m.minute, m.count, m.mean, q.count AS q_count, q.malformed "
                    + "FROM minute_means m JOIN quality q USING (sensor, minute)"
            )
            var checked = 0
            for row in rows {
                let key = "\(row["sensor"] as String)@\(row["minute"] as String)"
                guard let minute = expected.minutes[key] else {
                    // The minute of the final readings may or may not have closed.
                    #expect((row["minute"] as String).hasPrefix(Self.finalMinute), "unexpected minute \(key)")
                    continue
                }
                #expect(row["count"] as Int == minute.count, "count of \(key)")
                #expect(row["q_count"] as Int == minute.count, "quality count of \(key)")
                #expect(abs((row["mean"] as Double) - minute.mean) <= 1e-9 * max(1, abs(minute.mean)), "mean of \(key)")
                #expect(row["malformed"] as Int == expected.malformed[key, default: 0], "malformed of \(key)")
                checked += 1
            }
            #expect(checked == expected.minutes.count)
            let malformed = try String.fetchAll(db, sql: "SELECT payload FROM malformed")
            #expect(malformed.count == expected.malformedPayloads.count)
            #expect(Set(malformed) == expected.malformedPayloads)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM late_readings") == 0)
        }
    }

    // MARK: The load

    static let sensors = (1...5).map { "Sensor \($0)" }
    static let steps = 1_200
    static let finalMinute = "2024-01-01T00:40"

    /// The published lines: 5 sensors each second for 20 minutes of event time, a copy of every
    /// 40th reading, a malformed message every 60 seconds, then one reading per sensor 20 minutes
    /// later, which closes every earlier minute.
    static func messages() -> [String] {
        var lines: [String] = []
        for step in 0..<steps {
            let dt = time(step)
            for (index, sensor) in sensors.enumerated() {
                let value = Double((step * 7 + index * 13) % 97) + 0.25
                let line = #"{"id": "\#(sensor)", "dt": "\#(dt)", "value": \#(value)}"#
                lines.append(line)
                if (step * 5 + index) % 40 == 0 { lines.append(line) }
            }
            if step % 60 == 30 {
                lines.append(#"{"id": "Sensor 2", "dt": "\#(dt)", "value": "broken-\#(step)"}"#)
            }
            if step == 500 { lines.append("[1, 2, 3]") }
        }
        for sensor in sensors {
            lines.append(#"{"id": "\#(sensor)", "dt": "\#(finalMinute):30.000000", "value": 1.5}"#)
        }
        return lines
    }

    static func time(_ step: Int) -> String {
        String(format: "2024-01-01T00:%02d:%02d.000000", step / 60, step % 60)
    }

    struct Minute {
        var count = 0
        var sum = 0.0
        var mean: Double { sum / Double(count) }
    }

    struct Expectation {
        var readings: Set<Reading> = []
        var readingKeys: Set<String> = []
        var minutes: [String: Minute] = [:]
        var malformed: [String: Int] = [:]
        var malformedPayloads: Set<String> = []
    }

    /// What the store must hold, computed from the capture alone.
    static func expectation(fromCapture captured: [String]) -> Expectation {
        var result = Expectation()
        for line in Set(captured) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let sensor = object["id"] as? String, let dt = object["dt"] as? String
            else {
                if line != "probe" { result.malformedPayloads.insert(line) }
                continue
            }
            let minute = String(dt.prefix(16)) + ":00.000000Z"
            guard let value = object["value"] as? Double else {
                result.malformedPayloads.insert(line)
                result.malformed["\(sensor)@\(minute)", default: 0] += 1
                continue
            }
            let stored = String(dt.prefix(26)) + "Z"
            result.readings.insert(Reading(sensor: sensor, dt: stored, value: value))
            result.readingKeys.insert("\(sensor)@\(stored)=\(value)")
            if !dt.hasPrefix(finalMinute) {
                result.minutes["\(sensor)@\(minute)", default: Minute()].count += 1
                result.minutes["\(sensor)@\(minute)", default: Minute()].sum += value
            }
        }
        result.malformedPayloads.insert("probe")
        return result
    }

    // MARK: Processes

    /// Starts the program, its console to `log`.
    static func startPipeline(data: String, broker: Int, httpPort: Int = 0, log: String) throws -> Process {
        let process = Process()
        process.executableURL = products.appendingPathComponent("iot-pipeline")
        process.arguments = [
            "--broker", "127.0.0.1:\(broker)", "--client-id", "iot-crash", "--data", data,
            "--http-port", "\(httpPort)", "--no-generator",
        ]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = process.standardOutput
        try process.run()
        return process
    }

    /// Whether `url` answers 200 (asked with curl, as an operator would).
    static func answers(_ url: String) -> Bool {
        guard let curl = try? spawn("/usr/bin/curl", ["-sf", "-o", "/dev/null", url]) else { return false }
        curl.waitUntilExit()
        return curl.terminationStatus == 0
    }

    /// Publishes a probe until the capture has it: then the capture's subscription is in place.
    static func waitForSubscription(broker: LocalMosquitto, capturePath: String) async throws {
        let probe = try spawn(
            "/usr/bin/mosquitto_pub",
            ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", "sensors", "-m", "probe"]
        )
        probe.waitUntilExit()
        try await waitUntil(seconds: 30) { (try? lines(capturePath))?.contains("probe") == true }
    }

    static func spawn(_ executable: String, _ arguments: [String], output: String? = nil, input: Bool = false)
        throws -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let output { process.standardOutput = FileHandle(forWritingAtPath: output) }
        if input { process.standardInput = Pipe() }
        try process.run()
        return process
    }

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Every line of the raw archive's files, gzipped or not (open files included).
    static func archiveLines(_ data: String) throws -> [String] {
        let root = "\(data)/raw"
        var lines: [String] = []
        for path in try FileManager.default.subpathsOfDirectory(atPath: root).sorted() {
            let full = "\(root)/\(path)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/gzip")
            process.arguments = ["-dcf", full]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            lines += text.split(separator: "\n").map(String.init)
        }
        return lines
    }

    static let readOnly: Configuration = {
        var configuration = Configuration()
        configuration.readonly = true
        return configuration
    }()

    static func waitUntil(seconds: Double, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < deadline else {
                Issue.record("condition not met within \(seconds) s")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
