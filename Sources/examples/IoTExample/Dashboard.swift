import ExampleCharts
import Foundation
import GRDB
import StreamKit

/// What the dashboard and `GET /minutes/latest` show: every sensor of the catalogue (and any that
/// sent readings without being in it) that matches a search, with its data quality over a period
/// and its minutes, read from the ``BIStore`` in a few queries for all sensors at once.
struct Dashboard: Sendable {
    /// The period and the filter a request asks for.
    struct Query: Sendable {
        /// The search: sensors whose id, description, type or unit contain it (any case).
        var search = ""
        /// How many minutes back from the newest minute in the store, when no `from` is given.
        var minutes = 60
        /// The start of the period (inclusive), if given.
        var from: Timestamp?
        /// The end of the period (exclusive), if given.
        var to: Timestamp?
        /// `quality` to list the sensors with the lowest quality score first; else by id.
        var sort = "sensor"
    }

    /// One sensor over the period, as `GET /minutes/latest` writes it too.
    struct Sensor: Sendable, Encodable {
        var id: String
        var info: SensorInfo?
        /// Readings counted in the period's minutes, the mean quality score and the counts.
        var readings = 0
        var score = Double.nan
        var late = 0
        var malformed = 0
        var outOfRange = 0
        /// The newest minute of the period.
        var latest: MinuteRow?

        enum CodingKeys: String, CodingKey {
            case id, known, info, readings, late, malformed
            case score = "quality_score"
            case outOfRange = "out_of_range"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(info != nil, forKey: .known)
            try container.encodeIfPresent(info, forKey: .info)
            try container.encode(readings, forKey: .readings)
            try container.encode(JSONValue.double(score), forKey: .score)
            try container.encode(late, forKey: .late)
            try container.encode(malformed, forKey: .malformed)
            try container.encode(outOfRange, forKey: .outOfRange)
        }
    }

    /// A minute of one sensor; a value JSON cannot carry (infinite, NaN) is written as `null`.
    struct MinuteRow: Sendable, Encodable {
        var minute: Timestamp
        var count: Int
        var mean: Double
        var min: Double
        var max: Double
        var stddev: Double

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(minute.iso8601, forKey: DynamicKey(stringValue: "minute"))
            try container.encode(count, forKey: DynamicKey(stringValue: "count"))
            for (name, value) in [("mean", mean), ("min", min), ("max", max), ("stddev", stddev)] {
                try container.encode(JSONValue.double(value), forKey: DynamicKey(stringValue: name))
            }
        }
    }

    /// Quality over all matching sensors in one minute.
    struct QualityMinute: Sendable {
        var minute: Timestamp
        var meanScore: Double
        var lowestScore: Double
        var highestScore: Double
        var outOfRange: Int
        var late: Int
        var malformed: Int
    }

    var query: Query
    /// The period shown: `from..<to`.
    var from: Timestamp
    var to: Timestamp
    /// The newest minute in the store, if any.
    var newest: Timestamp?
    /// The matching sensors, in the order asked for.
    var sensors: [Sensor]
    /// How many sensors there are before the search.
    var total: Int
    /// Quality per minute over the matching sensors.
    var quality: [QualityMinute]

    /// Reads the dashboard of `query` from `store`: the newest minute, then per sensor its quality
    /// totals and latest minute in the period, and the quality per minute.
    static func load(_ query: Query, store: BIStore, catalog: SensorCatalog) async throws -> Dashboard {
        try await store.database.read { db in
            let newest = try String.fetchOne(db, sql: "SELECT MAX(minute) FROM minute_means")
                .flatMap { try? Timestamp(iso8601: $0) }
            let to = query.to ?? (newest ?? Timestamp(microseconds: 0)) + .seconds(60)
            let from = query.from ?? to - .seconds(60 * Int64(Swift.max(1, query.minutes)))
            let bounds: StatementArguments = [from.iso8601, to.iso8601]
            var sensors: [String: Sensor] = [:]
            for id in catalog.ids { sensors[id] = Sensor(id: id, info: catalog.sensors[id]) }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT sensor, SUM(count) AS readings, AVG(score) AS score,
                           SUM(late) AS late, SUM(malformed) AS malformed, SUM(out_of_range) AS out_of_range
                    FROM quality WHERE minute >= ? AND minute < ? GROUP BY sensor
                    """,
                arguments: bounds
            ) {
                let id: String = row["sensor"]
                var sensor = sensors[id] ?? Sensor(id: id, info: nil)
                sensor.readings = row["readings"] ?? 0
                sensor.score = (row["score"] as Double?) ?? .nan
                sensor.late = row["late"] ?? 0
                sensor.malformed = row["malformed"] ?? 0
                sensor.outOfRange = row["out_of_range"] ?? 0
                sensors[id] = sensor
            }
            // SQLite gives the other columns of the row that holds the MAX.
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT sensor, MAX(minute) AS minute, count, mean, min, max, stddev FROM minute_means
                    WHERE minute >= ? AND minute < ? GROUP BY sensor
                    """,
                arguments: bounds
            ) {
                let id: String = row["sensor"]
                var sensor = sensors[id] ?? Sensor(id: id, info: nil)
                sensor.latest = Self.minuteRow(row)
                sensors[id] = sensor
            }
            let total = sensors.count
            let matching = sensors.values.filter { Self.matches($0, query.search) }
            let ordered = matching.sorted { lhs, rhs in
                if query.sort == "quality" {
                    let (l, r) = (lhs.score.isNaN ? -1 : lhs.score, rhs.score.isNaN ? -1 : rhs.score)
                    if l != r { return l < r }
                }
                return lhs.id.compare(rhs.id, options: .numeric) == .orderedAscending
            }
            let ids = query.search.isEmpty ? nil : ordered.map(\.id)
            let quality = try Row.fetchAll(
                db,
                sql: """
                    SELECT minute, AVG(score) AS mean, MIN(score) AS lowest, MAX(score) AS highest,
                           SUM(out_of_range) AS out_of_range, SUM(late) AS late, SUM(malformed) AS malformed
                    FROM quality WHERE minute >= ? AND minute < ?
                      AND (? IS NULL OR sensor IN (SELECT value FROM json_each(?)))
                    GROUP BY minute ORDER BY minute
                    """,
                arguments: bounds + [ids.map(Self.json), ids.map(Self.json)]
            ).compactMap { row -> QualityMinute? in
                guard let minute = try? Timestamp(iso8601: row["minute"] as String) else { return nil }
                return QualityMinute(
                    minute: minute,
                    meanScore: row["mean"] ?? .nan,
                    lowestScore: row["lowest"] ?? .nan,
                    highestScore: row["highest"] ?? .nan,
                    outOfRange: row["out_of_range"] ?? 0,
                    late: row["late"] ?? 0,
                    malformed: row["malformed"] ?? 0
                )
            }
            return Dashboard(
                query: query,
                from: from,
                to: to,
                newest: newest,
                sensors: ordered,
                total: total,
                quality: quality
            )
        }
    }

    /// The minutes of `ids` in the period, by sensor.
    func minutes(of ids: [String], store: BIStore) async throws -> [String: [MinuteRow]] {
        guard !ids.isEmpty else { return [:] }
        return try await store.database.read { [from, to] db in
            var rows: [String: [MinuteRow]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT sensor, minute, count, mean, min, max, stddev FROM minute_means
                    WHERE sensor IN (SELECT value FROM json_each(?)) AND minute >= ? AND minute < ?
                    ORDER BY sensor, minute
                    """,
                arguments: [Self.json(ids), from.iso8601, to.iso8601]
            ) {
                if let minute = Self.minuteRow(row) { rows[row["sensor"] as String, default: []].append(minute) }
            }
            return rows
        }
    }

    /// Whether a sensor matches the search (empty: every sensor).
    static func matches(_ sensor: Sensor, _ search: String) -> Bool {
        guard !search.isEmpty else { return true }
        let text = [sensor.id, sensor.info?.description ?? "", sensor.info?.type ?? "", sensor.info?.unit ?? ""]
        return text.contains { $0.range(of: search, options: [.caseInsensitive, .diacriticInsensitive]) != nil }
    }

    /// A minute of `minute_means`; a value SQLite holds as NULL (a NaN) reads as NaN.
    static func minuteRow(_ row: Row) -> MinuteRow? {
        guard let minute = try? Timestamp(iso8601: row["minute"] as String) else { return nil }
        return MinuteRow(
            minute: minute,
            count: row["count"] ?? 0,
            mean: row["mean"] ?? .nan,
            min: row["min"] ?? .nan,
            max: row["max"] ?? .nan,
            stddev: row["stddev"] ?? .nan
        )
    }

    /// A JSON array of strings, for `json_each`.
    static func json(_ ids: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(ids)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
