import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import IoTExample
import StreamKit
import StreamKitMQTT
import Testing

/// The IoT example end to end: a real mosquitto, readings sent with mosquitto_pub, and the rows
/// checked in SQLite and through the HTTP API against values computed by hand.
@Suite(.serialized) struct IoTPipelineTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("iot-\(UUID().uuidString)").path

    func publish(_ broker: LocalMosquitto, _ payloads: [String]) throws {
        for payload in payloads {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_pub")
            process.arguments = ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", "sensors", "-m", payload]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
    }

    func reading(_ sensor: Int, _ time: String, _ value: String) -> String {
        #"{"id": "Sensor \#(sensor)", "dt": "2024-01-01T\#(time).000000", "value": \#(value)}"#
    }

    /// Runs the pipeline until `done` holds for the store, then stops it with a final checkpoint.
    func run(
        _ broker: LocalMosquitto,
        publishing payloads: [String],
        until done: @escaping @Sendable (Database) throws -> Bool
    ) async throws -> BIStore {
        var mqtt = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "iot-test")
        mqtt.cleanSession = false
        var options = IoTPipelineOptions(mqtt: mqtt, dataDirectory: directory, catalog: try .bundled())
        options.printsMinutes = false
        let store = try BIStore(path: options.databasePath)
        let source = MQTTSource(options.mqtt, topics: ["sensors"], qos: .atLeastOnce)
        let pipeline = IoTPipeline.build(options: options, store: store, source: source)
        let run = Task { try await pipeline.run(checkpoints: .every(.seconds(1), in: options.checkpointDirectory)) }
        try await waitUntil { source.statistics.current.isSubscribed }
        try publish(broker, payloads)
        try await waitUntil { try store.database.read(done) }
        pipeline.stop()
        try await run.value
        return store
    }

    func waitUntil(_ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(30)
        while try !condition() {
            guard Date() < deadline else {
                Issue.record("condition not met within 30 s")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func handMadeReadingsGiveHandComputedMinutesQualityAndLateRows() async throws {
        let broker = try LocalMosquitto(directory: "\(directory)/mosquitto")
        defer { broker.stop() }
        let payloads = [
            reading(1, "13:00:05", "10"), reading(1, "13:00:15", "20"), reading(1, "13:00:25", "30"),
            reading(2, "13:00:30", "50"),  // outside Sensor 2's range 0...45
            reading(1, "13:00:15", "20"),  // a copy: counted once
            #"{"id": "Ghost 1", "dt": "2024-01-01T13:00:20.000000", "value": 4}"#,  // not in the catalogue
            reading(1, "13:01:10", "5"),  // the watermark passes 13:01:05: minute 13:00 closes
            reading(1, "13:00:40", "99"),  // late for minute 13:00
            #"{"id": "Sensor 1", "dt": "2024-01-01T13:00:50.000000", "value": "x"}"#,  // malformed, attributable
            "hello",  // malformed, nobody's
            "[1, 2, 3]",  // malformed: valid JSON, but no object
        ]
        let store = try await run(broker, publishing: payloads) { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM malformed") == 3
                && Int.fetchOne(db, sql: "SELECT COUNT(*) FROM late_readings") == 1
                && Int.fetchOne(db, sql: "SELECT COUNT(*) FROM minute_means") == 3
        }

        try await store.database.read { db in
            var means = try Row.fetchAll(db, sql: "SELECT * FROM minute_means ORDER BY sensor")
            #expect(means.map { $0["sensor"] as String } == ["Ghost 1", "Sensor 1", "Sensor 2"])
            #expect(means.allSatisfy { $0["minute"] as String == "2024-01-01T13:00:00.000000Z" })
            means.removeFirst()
            #expect(means[0]["count"] as Int == 3)
            #expect(means[0]["mean"] as Double == 20)
            #expect(means[0]["min"] as Double == 10)
            #expect(means[0]["max"] as Double == 30)
            #expect(abs(means[0]["stddev"] as Double - (200.0 / 3).squareRoot()) < 1e-9)  // population
            #expect(means[1]["count"] as Int == 1)
            #expect(means[1]["mean"] as Double == 50)

            let quality = try Row.fetchAll(
                db,
                sql: "SELECT * FROM quality WHERE minute LIKE '%13:00:00%' AND sensor LIKE 'Sensor%' ORDER BY sensor"
            )
            #expect(quality.count == 2)
            // Sensor 1: 3 of 60 expected readings, all in range, 1 late and 1 malformed beside 3 good:
            // 100 × 3/60 × 1 × 3/5 = 3.0
            #expect(quality[0]["late"] as Int == 1)
            #expect(quality[0]["malformed"] as Int == 1)
            #expect(quality[0]["completeness"] as Double == 0.05)
            #expect(quality[0]["score"] as Double == 3.0)
            // Sensor 2: its only reading is out of range.
            #expect(quality[1]["out_of_range"] as Int == 1)
            #expect(quality[1]["score"] as Double == 0)

            let late = try Row.fetchOne(db, sql: "SELECT * FROM late_readings")!
            #expect(late["sensor"] as String == "Sensor 1")
            #expect(late["value"] as Double == 99)
            #expect(late["minute"] as String == "2024-01-01T13:00:00.000000Z")
            #expect(late["lateness_seconds"] as Double == 30)  // behind the newest reading, 13:01:10

            let malformed = try Row.fetchAll(db, sql: "SELECT * FROM malformed ORDER BY id")
            #expect(malformed.map { $0["payload"] as String } == [payloads[8], payloads[9], payloads[10]])
            #expect(malformed.map { $0["sensor"] as String? } == ["Sensor 1", nil, nil])
            #expect(malformed.allSatisfy { ($0["reason"] as String).isEmpty == false })
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM readings") == 7)
        }

        // The same answers through the HTTP API.
        let api = IoTAPI(store: store, catalog: try .bundled(), statistics: MQTTStatistics())
        let app = Application(router: api.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/sensors/Sensor%201/minutes?from=2024-01-01T13:00:00Z", method: .get) {
                response in
                #expect(response.status == .ok)
                let rows =
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [[String: Any]]
                #expect(rows.count == 1)
                #expect(rows.first?["mean"] as? Double == 20)
            }
            try await client.execute(uri: "/quality?sensor=Sensor%201", method: .get) { response in
                let rows =
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [[String: Any]]
                #expect(rows.first?["score"] as? Double == 3)
            }
            try await client.execute(uri: "/catalog", method: .get) { response in
                let rows =
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [[String: Any]]
                let first = rows.first { $0["id"] as? String == "Sensor 1" }
                #expect(first?["readings"] as? Int == 5)  // the late reading is stored too
                #expect(first?["firstSeen"] as? String == "2024-01-01T13:00:05.000000Z")
                #expect((first?["info"] as? [String: Any])?["unit"] as? String == "C")
            }
            try await client.execute(uri: "/sensors/Sensor%2099/readings", method: .get) { response in
                #expect(response.status == .notFound)
            }
            // A sensor outside the catalogue is served, and flagged in the catalogue.
            try await client.execute(uri: "/sensors/Ghost%201/minutes", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/catalog", method: .get) { response in
                let rows =
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [[String: Any]]
                let ghost = rows.first { $0["id"] as? String == "Ghost 1" }
                #expect(ghost?["known"] as? Bool == false)
                #expect(ghost?["readings"] as? Int == 1)
                #expect(rows.filter { $0["known"] as? Bool == true }.count == 5)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("iot_unknown_sensors 1"))
            }
            try await client.execute(uri: "/sensors/Sensor%201/readings?from=yesterday", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }

        // The raw archive holds every message as received, gzipped, in Hive-style folders.
        let raw = try FileManager.default.subpathsOfDirectory(atPath: "\(directory)/raw").filter {
            $0.hasSuffix(".jsonl.gz")
        }
        #expect(!raw.isEmpty && raw.allSatisfy { $0.hasPrefix("date=") && $0.contains("/hour=") })
        let lines = try raw.flatMap { path in
            try run("/bin/gzip", ["-dc", "\(directory)/raw/\(path)"]).split(separator: "\n").map(String.init)
        }
        #expect(lines.sorted() == payloads.sorted())

        // A BI user reads the archive with DuckDB, with the query of docs/iot-example.md as written
        // there: malformed lines and copies do not break or skew it.
        let doc = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../docs/iot-example.md"),
            encoding: .utf8
        )
        let marker = try #require(doc.range(of: "<!-- duckdb-query"))
        let start = try #require(doc.range(of: "```sql\n", range: marker.upperBound..<doc.endIndex))
        let end = try #require(doc.range(of: "```", range: start.upperBound..<doc.endIndex))
        let query = doc[start.upperBound..<end.lowerBound].replacingOccurrences(of: "data/iot/", with: "\(directory)/")
        let duckdb = try run(
            "/usr/bin/env",
            [
                "python3", "-c",
                """
                import duckdb, sys
                rows = duckdb.sql(sys.argv[1]).fetchall()
                print(';'.join(f'{s}|{m.strftime("%H:%M")}|{n}|{mean}' for s, m, n, mean in rows))
                """,
                query,
            ]
        )
        #expect(
            duckdb.trimmingCharacters(in: .whitespacesAndNewlines)
                == "Ghost 1|13:00|1|4.0;Sensor 1|13:00|4|39.75;Sensor 1|13:01|1|5.0;Sensor 2|13:00|1|50.0"
        )
    }

    /// Runs a command and returns its standard output; fails the test when it fails.
    func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(executable) \(arguments) failed")
        return text
    }

    @Test func aRestartResumesWithoutDuplicatedOrMissingRows() async throws {
        let broker = try LocalMosquitto(directory: "\(directory)/mosquitto")
        defer { broker.stop() }
        _ = try await run(
            broker,
            publishing: [reading(1, "13:00:10", "10"), reading(1, "13:01:10", "20"), reading(1, "13:01:20", "30")]
        ) { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM minute_means") == 1 }

        // The second run restores the open window of 13:01 from the final checkpoint of the first.
        let store = try await run(broker, publishing: [reading(1, "13:01:40", "40"), reading(1, "13:02:30", "1")]) {
            db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM minute_means") == 2
        }
        try await store.database.read { db in
            let means = try Row.fetchAll(db, sql: "SELECT minute, count, mean FROM minute_means ORDER BY minute")
            #expect(
                means.map { $0["minute"] as String } == ["2024-01-01T13:00:00.000000Z", "2024-01-01T13:01:00.000000Z"]
            )
            #expect(means.map { $0["count"] as Int } == [1, 3])
            #expect(means.map { $0["mean"] as Double } == [10, 30])
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM readings") == 5)
        }
    }

    @Test func anExtremeValueAndAStormOfCopiesChangeNoOtherMinute() async throws {
        let broker = try LocalMosquitto(directory: "\(directory)/mosquitto")
        defer { broker.stop() }
        let calm = [reading(3, "13:00:10", "10"), reading(3, "13:00:20", "20"), reading(3, "13:00:30", "30")]
        let extreme = [reading(3, "13:01:10", "1e300"), reading(3, "13:01:20", "-1e300"), reading(3, "13:01:30", "5")]
        // Every message five times, as a broker redelivering after reconnections would.
        let storm = Array(repeating: calm + extreme, count: 5).flatMap { $0 } + [reading(3, "13:02:30", "1")]
        let store = try await run(broker, publishing: storm) { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM minute_means") == 2
        }
        try await store.database.read { db in
            let means = try Row.fetchAll(db, sql: "SELECT count, mean, stddev FROM minute_means ORDER BY minute")
            #expect(means.map { $0["count"] as Int } == [3, 3])
            #expect(means[0]["mean"] as Double == 20)
            #expect(abs(means[0]["stddev"] as Double - (200.0 / 3).squareRoot()) < 1e-9)
            // Finite, and what the values give: mean 5/3, population deviation sqrt(2/3) × 1e300.
            #expect(abs(means[1]["mean"] as Double - 5.0 / 3) < 1e-9)
            #expect(abs((means[1]["stddev"] as Double) / ((2.0 / 3).squareRoot() * 1e300) - 1) < 1e-12)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM readings") == 7)
        }
        let api = IoTAPI(store: store, catalog: try .bundled(), statistics: MQTTStatistics())
        let app = Application(router: api.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/sensors/Sensor%203/minutes", method: .get) { response in
                #expect(response.status == .ok)
                let rows =
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [[String: Any]]
                #expect(rows.map { $0["count"] as? Int } == [3, 3])
            }
        }
    }
}
