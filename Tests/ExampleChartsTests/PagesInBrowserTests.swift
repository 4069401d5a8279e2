import ElectricityExample
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import IoTExample
import StreamKit
import StreamKitMQTT
import Testing

/// Both examples' pages rendered by headless Chromium, as a reader's browser runs them: the
/// charts must have their axes, tick labels, legends and tooltips after the page's script ran.
/// Skipped only when Chromium is not installed (CI installs it: see .ci/run).
@Suite(.serialized) struct PagesInBrowserTests {
    /// The Chromium on the PATH, if any.
    static let chromium: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        return path.split(separator: ":").flatMap { directory in
            ["chromium", "chromium-browser", "google-chrome"].map { "\(directory)/\($0)" }
        }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("pages-\(UUID().uuidString)").path

    /// The DOM of `url` after its scripts ran (Chromium's `--dump-dom` with a virtual time budget).
    func renderedDOM(_ url: String) async throws -> String {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let output = "\(scratch)/dom-\(UUID().uuidString).html"
        FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.chromium!)
        process.arguments = [
            "--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=\(scratch)/profile",
            "--virtual-time-budget=3000", "--dump-dom", url,
        ]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.nullDevice
        // Waits without holding a thread of the pool, which the page's server needs.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume() }
        }
        return try String(contentsOfFile: output, encoding: .utf8)
    }

    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test(.enabled(if: chromium != nil, "chromium is not installed: the pages cannot be rendered"))
    func theElectricityReportShowsAxesTicksLegendsAndTooltips() async throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let file = "\(scratch)/flows.csv"
        try (FlowFileGenerator(days: 400).lines().joined(separator: "\n") + "\n").write(
            toFile: file,
            atomically: true,
            encoding: .utf8
        )
        try await ElectricityRunner.batch(file: file, tables: try ElectricityRunner.Tables(directory: "\(scratch)/out"))
        let dom = try await renderedDOM("file://\(scratch)/out/report.html")
        #expect(count("<svg class=\"chart\"", in: dom) == 3)
        // Dated ticks on every time axis (400 days: months), round MWh ticks on every y axis.
        #expect(count("<text class=\"tick x\"", in: dom) >= 3 * 4)
        #expect(count("<text class=\"tick y\"", in: dom) >= 3 * 3)
        #expect(dom.contains(">Mar 2021</text>"))
        #expect(count(">MWh</text>", in: dom) == 3)
        // Legends: imports and exports, net import and export, the four partners in words.
        #expect(count("<text class=\"legend-label\"", in: dom) == 2 + 2 + 4)
        #expect(dom.contains(">France → Switzerland</text>"))
        #expect(dom.contains("class=\"zero\""))
        // Tooltips with exact values, thousands separators.
        #expect(dom.contains("<title>Fri 2021-01-01 — imports: "))
        #expect(dom.range(of: #"<td>\d{1,3},\d{3}"#, options: .regularExpression) != nil)
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed: the pages cannot be rendered"))
    func theIoTDashboardShowsAThousandSensorsWithTheirQualityAndCharts() async throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let store = try BIStore(path: "\(scratch)/bi.sqlite")
        let catalog = try SensorCatalog.bundled().extended(to: 1_000)
        let start = try Timestamp(iso8601: "2024-01-01T13:00:00Z")
        try await store.database.write { db in
            for (number, id) in catalog.ids.enumerated() {
                for minute in 0..<30 {
                    // Sensor 1 misses nine minutes: the gap must show on its time axis.
                    if id == "Sensor 1" && (10..<19).contains(minute) { continue }
                    let time = (start + .seconds(Int64(minute) * 60)).iso8601
                    // Sensor 2 sends an infinite mean and a huge maximum in one minute.
                    let odd = id == "Sensor 2" && minute == 5
                    let mean = odd ? Double.infinity : 20 + Double((number + minute) % 10)
                    try db.execute(
                        sql: """
                            INSERT INTO minute_means (sensor, minute, count, mean, min, max, stddev, written_at)
                            VALUES (?, ?, 60, ?, ?, ?, 1.5, ?)
                            """,
                        arguments: [id, time, mean, 10, odd ? 1e300 : 35, time]
                    )
                    try db.execute(
                        sql: """
                            INSERT INTO quality (sensor, minute, expected, count, out_of_range, late, malformed)
                            VALUES (?, ?, 60, ?, ?, ?, ?)
                            """,
                        arguments: [id, time, 60 - number % 7, minute % 11 == 0 ? 1 : 0, number % 13 == 0 ? 2 : 0, 0]
                    )
                }
            }
        }
        let api = IoTAPI(store: store, catalog: catalog, statistics: MQTTStatistics())
        try await Application(router: api.router()).test(.live) { client in
            let port = try #require(client.port)
            let dom = try await renderedDOM("http://127.0.0.1:\(port)/?minutes=60")
            // Every sensor in the table, with its quality score, late and malformed counts.
            #expect(count("<tr data-search=", in: dom) == 1_000)
            #expect(dom.contains("<th>late</th><th>malformed</th>"))
            // Two overview charts and twelve sensors' charts, each with axes, ticks and a legend.
            #expect(count("<svg class=\"chart\"", in: dom) == 14)
            #expect(count("<text class=\"tick x\"", in: dom) >= 14 * 3)
            #expect(count("<text class=\"tick y\"", in: dom) >= 14 * 3)
            #expect(dom.contains(">13:15</text>"))
            #expect(count(">°C</text>", in: dom) == 12)
            #expect(count("fill=\"#333\">mean</text>", in: dom) == 12)
            // The script ran and timed the page.
            #expect(dom.range(of: #"page ready in \d+ ms"#, options: .regularExpression) != nil)
            // The odd sensor's chart is drawn, its odd minute left out and said so.
            #expect(dom.contains("1 with values that are not numbers"))
            // A search narrows the table and the charts to the matching sensors.
            let found = try await renderedDOM("http://127.0.0.1:\(port)/?search=Sensor%2012&minutes=60")
            #expect(count("<tr data-search=", in: found) == 11)  // Sensor 12, 120…129
            // All sensors' latest minutes in one request; the infinite mean is null.
            try await client.execute(uri: "/minutes/latest?minutes=30", method: .get) { response in
                #expect(response.status == .ok)
                let answer = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                )
                let sensors = try #require(answer["sensors"] as? [[String: Any]])
                #expect(sensors.count == 1_000)
                let odd = try #require(sensors.first { $0["id"] as? String == "Sensor 2" })
                let minutes = try #require(odd["minutes"] as? [[String: Any]])
                #expect(minutes.count == 30)
                #expect(minutes[5]["mean"] is NSNull)
                #expect(odd["quality_score"] is Double)
            }
        }
    }
}
