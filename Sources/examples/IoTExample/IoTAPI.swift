import Foundation
import GRDB
import Hummingbird
import StreamKit
import StreamKitMQTT
import StreamKitPrometheus

/// The HTTP API of the IoT example, for BI users and dashboards, read from the ``BIStore`` while
/// the pipeline writes it:
///
/// - `GET /?search=&minutes=&from=&to=&sort=` — the dashboard: every matching sensor with its
///   catalogue entry, latest minute, quality score, late, malformed and out-of-range counts; the
///   quality per minute; charts of the first sensors' minute means (see ``DashboardPage``)
/// - `GET /minutes/latest?search=&minutes=&from=&to=` — every matching sensor's minutes (by
///   default the last 10 up to the newest in the store) with its catalogue entry and quality, in
///   one request
/// - `GET /sensors` — the sensors of the catalogue
/// - `GET /sensors/{id}/readings?from=&to=` — raw readings (ISO 8601 bounds, UTC)
/// - `GET /sensors/{id}/minutes?from=&to=` — minute means
/// - `GET /quality?from=&to=&sensor=` — the data-quality indicator per sensor and minute
/// - `GET /catalog` — every sensor with metadata, unit, first and last seen and row counts; sensors
///   that sent readings but are not in the catalogue are listed with `"known": false`
/// - `GET /metrics` — pipeline health in the Prometheus text format
/// - `GET /health` — 200 while the process serves; `GET /ready` — 200 while the MQTT source is
///   connected and subscribed, else 503
public struct IoTAPI: Sendable {
    /// The BI store the answers come from.
    public let store: BIStore
    /// The sensors.
    public let catalog: SensorCatalog
    /// The MQTT source's counters, for /metrics.
    public let statistics: MQTTStatistics
    /// StreamKit's own metrics (records, errors, late records, watermarks, checkpoints), when the
    /// program installed the Prometheus backend.
    public let exporter: PrometheusExporter?

    /// Creates the API.
    public init(
        store: BIStore,
        catalog: SensorCatalog,
        statistics: MQTTStatistics,
        exporter: PrometheusExporter? = nil
    ) {
        self.store = store
        self.catalog = catalog
        self.statistics = statistics
        self.exporter = exporter
    }

    /// The routes.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { request, _ in
            let dashboard = try await Dashboard.load(
                try dashboardQuery(request, minutes: 60),
                store: store,
                catalog: catalog
            )
            let minutes = try await dashboard.minutes(
                of: dashboard.sensors.prefix(DashboardPage.charted).map(\.id),
                store: store
            )
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: DashboardPage.html(dashboard, minutes: minutes)))
            )
        }
        router.get("/minutes/latest") { request, _ in
            let dashboard = try await Dashboard.load(
                try dashboardQuery(request, minutes: 10),
                store: store,
                catalog: catalog
            )
            let minutes = try await dashboard.minutes(of: dashboard.sensors.map(\.id), store: store)
            return try json(LatestMinutes(dashboard, minutes: minutes))
        }
        router.get("/sensors") { _, _ in
            try json(catalog.ids.map { id in SensorEntry(id: id, info: catalog.sensors[id]!) })
        }
        router.get("/sensors/:id/readings") { request, context in
            let (id, from, to) = try await bounds(request, context)
            return try json(
                try await store.rows(
                    "SELECT dt, value, received_at FROM readings WHERE sensor = ? AND dt >= ? AND dt < ? ORDER BY dt",
                    [id, from, to]
                )
            )
        }
        router.get("/sensors/:id/minutes") { request, context in
            let (id, from, to) = try await bounds(request, context)
            return try json(
                try await store.rows(
                    """
                    SELECT minute, count, mean, min, max, stddev FROM minute_means
                    WHERE sensor = ? AND minute >= ? AND minute < ? ORDER BY minute
                    """,
                    [id, from, to]
                )
            )
        }
        router.get("/quality") { request, _ in
            let from = try time(request, "from", default: "0000")
            let to = try time(request, "to", default: "9999")
            let sensor = request.uri.queryParameters.get("sensor")
            return try json(
                try await store.rows(
                    """
                    SELECT sensor, minute, expected, count, completeness, out_of_range, late, malformed, score
                    FROM quality WHERE minute >= ? AND minute < ? AND (? IS NULL OR sensor = ?)
                    ORDER BY minute, sensor
                    """,
                    [from, to, sensor, sensor]
                )
            )
        }
        router.get("/catalog") { _, _ in try json(try await catalogEntries()) }
        router.get("/health") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "alive\n"))
            )
        }
        router.get("/ready") { _, _ in
            let counters = statistics.current
            let ready = counters.isConnected && counters.isSubscribed
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: ready ? "ready\n" : "not ready: MQTT not subscribed\n")
                )
            )
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: try await metrics()))
            )
        }
        return router
    }

    /// The sensor id and the time bounds of a per-sensor request.
    func bounds(_ request: Request, _ context: BasicRequestContext) async throws -> (String, String, String) {
        // Sensor ids hold spaces ("Sensor 1"), which arrive percent-encoded in the path.
        let encoded = try context.parameters.require("id")
        let id = encoded.removingPercentEncoding ?? encoded
        // A sensor outside the catalogue that sent readings is served too (and flagged in /catalog).
        if catalog.sensors[id] == nil {
            let stored = try await store.rows("SELECT 1 AS found FROM readings WHERE sensor = ? LIMIT 1", [id])
            guard !stored.isEmpty else {
                throw HTTPError(.notFound, message: "unknown sensor '\(id)': GET /catalog lists the sensors")
            }
        }
        return (id, try time(request, "from", default: "0000"), try time(request, "to", default: "9999"))
    }

    /// The dashboard's query: `search`, `minutes` (back from the newest minute, `default`
    /// when absent), `from` and `to` (ISO 8601, overriding `minutes`), `sort` (`sensor` or `quality`).
    func dashboardQuery(_ request: Request, minutes fallback: Int) throws -> Dashboard.Query {
        let parameters = request.uri.queryParameters
        var query = Dashboard.Query()
        query.search = parameters.get("search")?.trimmingCharacters(in: .whitespaces) ?? ""
        if let text = parameters.get("minutes") {
            guard let minutes = Int(text), minutes > 0 else {
                throw HTTPError(.badRequest, message: "'minutes' is a positive number of minutes: \(text)")
            }
            query.minutes = minutes
        } else {
            query.minutes = fallback
        }
        if parameters.get("from") != nil { query.from = try Timestamp(iso8601: time(request, "from", default: "")) }
        if parameters.get("to") != nil { query.to = try Timestamp(iso8601: time(request, "to", default: "")) }
        query.sort = parameters.get("sort") == "quality" ? "quality" : "sensor"
        return query
    }

    /// A time bound from the query, normalised to the store's ISO 8601 form.
    func time(_ request: Request, _ name: String, default fallback: String) throws -> String {
        guard let text = request.uri.queryParameters.get(name) else { return fallback }
        do {
            return try Timestamp(iso8601: text).iso8601
        } catch {
            throw HTTPError(
                .badRequest,
                message: "'\(name)' is not an ISO 8601 time: \(text) (for example 2024-01-01T13:00:00Z)"
            )
        }
    }

    /// Every sensor of the catalogue with what the store knows of it.
    func catalogEntries() async throws -> [CatalogEntry] {
        let readings = try await store.rows(
            "SELECT sensor, COUNT(*) AS n, MIN(dt) AS first, MAX(dt) AS last FROM readings GROUP BY sensor"
        )
        let minutes = try await store.rows("SELECT sensor, COUNT(*) AS n FROM minute_means GROUP BY sensor")
        let late = try await store.rows("SELECT sensor, COUNT(*) AS n FROM late_readings GROUP BY sensor")
        func bySensor(_ rows: [[String: JSONValue]]) -> [String: [String: JSONValue]] {
            Dictionary(
                rows.compactMap { row in row["sensor"].flatMap { if case .string(let s) = $0 { (s, row) } else { nil } }
                }
            ) {
                first,
                _ in first
            }
        }
        let (r, m, l) = (bySensor(readings), bySensor(minutes), bySensor(late))
        let unknown = r.keys.filter { catalog.sensors[$0] == nil }.sorted()
        return (catalog.ids + unknown).map { id in
            CatalogEntry(
                id: id,
                known: catalog.sensors[id] != nil,
                info: catalog.sensors[id],
                firstSeen: r[id]?["first"],
                lastSeen: r[id]?["last"],
                readings: r[id]?["n"] ?? .integer(0),
                minutes: m[id]?["n"] ?? .integer(0),
                lateReadings: l[id]?["n"] ?? .integer(0)
            )
        }
    }

    /// Pipeline health in the Prometheus text format.
    func metrics() async throws -> String {
        let counts =
            try await store.rows(
                """
                SELECT (SELECT COUNT(*) FROM readings) AS readings, (SELECT COUNT(*) FROM minute_means) AS minutes,
                       (SELECT COUNT(*) FROM late_readings) AS late, (SELECT COUNT(*) FROM malformed) AS malformed,
                       (SELECT MAX(minute) FROM minute_means) AS last_minute
                """
            ).first ?? [:]
        func number(_ value: JSONValue?) -> String {
            switch value {
            case .integer(let n): String(n)
            case .double(let n): String(n)
            default: "0"
            }
        }
        // The MQTT source's state is in the exporter's text: streamkit_mqtt_* (see MQTTStatistics).
        var lines: [String] = []
        for (name, help) in [
            ("readings", "Readings stored."), ("minutes", "Minute means stored."),
            ("late", "Late readings stored."), ("malformed", "Malformed messages stored."),
        ] {
            lines += [
                "# HELP iot_\(name)_rows \(help)", "# TYPE iot_\(name)_rows gauge",
                "iot_\(name)_rows \(number(counts[name]))",
            ]
        }
        let seen = try await store.rows("SELECT DISTINCT sensor FROM readings")
        let unknown = seen.filter { row in
            if case .string(let id) = row["sensor"] { return catalog.sensors[id] == nil }
            return false
        }.count
        lines += [
            "# HELP iot_unknown_sensors Sensors that sent readings but are not in the catalogue.",
            "# TYPE iot_unknown_sensors gauge", "iot_unknown_sensors \(unknown)",
        ]
        if case .string(let minute) = counts["last_minute"], let time = try? Timestamp(iso8601: minute) {
            lines += [
                "# HELP iot_last_minute_seconds Start of the newest minute written, as a Unix time.",
                "# TYPE iot_last_minute_seconds gauge", "iot_last_minute_seconds \(time.microseconds / 1_000_000)",
            ]
        }
        return lines.joined(separator: "\n") + "\n" + (exporter?.text() ?? "")
    }
}

/// A sensor as `/sensors` lists it.
struct SensorEntry: Encodable {
    var id: String
    var info: SensorInfo
}

/// A sensor as `/catalog` describes it; `known` is false (and `info` missing) for a sensor that
/// sent readings but is not in the catalogue.
struct CatalogEntry: Encodable {
    var id: String
    var known: Bool
    var info: SensorInfo?
    var firstSeen: JSONValue?
    var lastSeen: JSONValue?
    var readings: JSONValue
    var minutes: JSONValue
    var lateReadings: JSONValue
}

/// The answer of `GET /minutes/latest`: every matching sensor with its catalogue entry, its data
/// quality over the period and its minutes, in one request; non-finite values are `null`.
struct LatestMinutes: Encodable {
    /// A sensor's fields (see ``Dashboard/Sensor``) and its minutes, in one object.
    struct Entry: Encodable {
        var sensor: Dashboard.Sensor
        var minutes: [Dashboard.MinuteRow]

        func encode(to encoder: any Encoder) throws {
            try sensor.encode(to: encoder)
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(minutes, forKey: DynamicKey(stringValue: "minutes"))
        }
    }

    var from: String
    var to: String
    var newestMinute: String?
    var sensors: [Entry]

    enum CodingKeys: String, CodingKey {
        case from, to, sensors
        case newestMinute = "newest_minute"
    }

    init(_ dashboard: Dashboard, minutes: [String: [Dashboard.MinuteRow]]) {
        from = dashboard.from.iso8601
        to = dashboard.to.iso8601
        newestMinute = dashboard.newest?.iso8601
        sensors = dashboard.sensors.map { Entry(sensor: $0, minutes: minutes[$0.id] ?? []) }
    }
}

/// A JSON key given by its name.
struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A JSON response.
func json(_ value: some Encodable) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Response(
        status: .ok,
        headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
    )
}
