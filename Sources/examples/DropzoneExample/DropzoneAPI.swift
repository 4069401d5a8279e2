import Foundation
import GRDB
import Hummingbird
import Logging
import StreamKit
import StreamKitHTTP
import StreamKitPrometheus

/// The dropzone's HTTP API (documented in OpenAPI 3 at `/openapi.json`):
///
/// - `POST /v1/measurements` — ingest a payload (bearer token or API key); 202 with the raw id
/// - `GET /v1/measurements?from=&to=&limit=` — measurements by UTC instant, for analysts
/// - `GET /v1/measurements/{utc}/lineage` — the raw records behind an instant, applied or rejected
/// - `GET /v1/rejected?after=&limit=` — refused payloads with their reasons and bodies
/// - `GET /metrics` — Prometheus text format
/// - `GET /openapi.json`, `GET /health`, `GET /ready` — open to everyone
///
/// Reads need credentials as posts do (``reads``, the ingest's by default): results, lineage and
/// refused bodies are the data of whoever posted them. `/metrics` follows ``metrics``, the read
/// credentials by default (Prometheus sends a bearer token with `authorization: {credentials: …}`
/// in its scrape configuration). Every error answer is JSON (``JSONErrorMiddleware``).
public struct DropzoneAPI: Sendable {
    /// The ingest endpoint.
    public let ingest: HTTPIngest
    /// Where the answers come from.
    public let store: DropzoneStore
    /// The Prometheus exporter of the process, if installed.
    public let exporter: PrometheusExporter?
    /// Who may read measurements, lineage and refused payloads.
    public var reads: IngestAuthentication
    /// Who may read `/metrics`.
    public var metrics: IngestAuthentication

    /// Creates the API; reads and metrics take the ingest's credentials unless told otherwise.
    public init(
        ingest: HTTPIngest,
        store: DropzoneStore,
        exporter: PrometheusExporter?,
        reads: IngestAuthentication? = nil,
        metrics: IngestAuthentication? = nil
    ) {
        self.ingest = ingest
        self.store = store
        self.exporter = exporter
        self.reads = reads ?? ingest.authentication
        self.metrics = metrics ?? reads ?? ingest.authentication
    }

    /// The paths served and their methods: the 405 answers' `Allow` header comes from here.
    static let routes: [(path: String, methods: [HTTPRequest.Method])] = [
        ("/v1/measurements", [.get, .post]),
        ("/v1/measurements/{utc}/lineage", [.get]),
        ("/v1/rejected", [.get]),
        ("/openapi.json", [.get]),
        ("/metrics", [.get]),
        ("/health", [.get]),
        ("/ready", [.get]),
    ]

    /// Refuses a request without the credentials `authentication` asks for: 401 with a JSON body.
    static func authorize(_ request: Request, _ authentication: IngestAuthentication) throws {
        if let refusal = authentication.refusal(request.headers) {
            throw APIError(.unauthorized, refusal, headers: [.wwwAuthenticate: "Bearer"])
        }
    }

    /// The routes.
    public func router(logger: Logger = Logger(label: "dropzone.api")) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware(routes: Self.routes, logger: logger))
        ingest.register(on: router, path: "/v1/measurements")
        let store = self.store
        let reads = self.reads
        router.get("/v1/measurements") { request, _ -> Response in
            try Self.authorize(request, reads)
            let from = try Self.instant(request.uri.queryParameters.get("from"), name: "from") ?? .min
            let to = try Self.instant(request.uri.queryParameters.get("to"), name: "to") ?? .max
            let limit = try Self.limit(request.uri.queryParameters.get("limit"))
            let rows = try await store.database.read { db in
                try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM measurements WHERE utc >= ? AND utc < ? ORDER BY utc LIMIT ?",
                    arguments: [from == .min ? "" : from.iso8601, to == .max ? "~" : to.iso8601, limit]
                ).map(StoredMeasurement.init)
            }
            return try Self.json(rows)
        }
        router.get("/v1/measurements/:utc/lineage") { request, context -> Response in
            try Self.authorize(request, reads)
            let text = context.parameters.get("utc")?.removingPercentEncoding ?? ""
            guard let utc = try Self.instant(text, name: "utc") else {
                throw APIError(.badRequest, "give the instant as ISO 8601 with an offset")
            }
            let answer = try await store.database.read { db -> Lineage? in
                let current = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM measurements WHERE utc = ?",
                    arguments: [utc.iso8601]
                )
                let applied = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM lineage WHERE utc = ? ORDER BY raw_id",
                    arguments: [utc.iso8601]
                ).map(Lineage.Link.init(applied:))
                let rejected = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM rejected WHERE utc = ? ORDER BY raw_id",
                    arguments: [utc.iso8601]
                ).map(Lineage.Link.init(rejected:))
                if current == nil && applied.isEmpty && rejected.isEmpty { return nil }
                return Lineage(
                    utc: utc.iso8601,
                    current: current.map(StoredMeasurement.init),
                    chain: (applied + rejected).sorted { $0.rawId < $1.rawId }
                )
            }
            guard let answer else {
                throw APIError(.notFound, "no measurement at \(utc.iso8601)")
            }
            return try Self.json(answer)
        }
        router.get("/v1/rejected") { request, _ -> Response in
            try Self.authorize(request, reads)
            let after = try Self.rawID(request.uri.queryParameters.get("after"), name: "after") ?? 0
            let limit = try Self.limit(request.uri.queryParameters.get("limit"))
            let rows = try await store.database.read { db in
                try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM rejected WHERE raw_id > ? ORDER BY raw_id LIMIT ?",
                    arguments: [after, limit]
                ).map(Rejected.init)
            }
            return try Self.json(rows)
        }
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: Self.openAPIDocument))
            )
        }
        let exporter = self.exporter ?? PrometheusExporter.bootstrap()
        let metrics = self.metrics
        router.get("/metrics") { request, _ -> Response in
            try Self.authorize(request, metrics)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: exporter.text()))
            )
        }
        router.get("/health") { _, _ in Self.status(.ok, "alive") }
        let log = ingest.log
        router.get("/ready") { _, _ in
            log.isHealthy
                ? Self.status(.ok, "ready")
                : Self.status(.serviceUnavailable, "not ready: the raw store failed or is closed")
        }
        return router
    }

    /// `{"status": "..."}`.
    static func status(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"\#(text)"}"# + "\n"))
        )
    }

    /// The OpenAPI 3 document of this API.
    public static let openAPIDocument: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { return Array(#"{"error":"openapi.json is missing from the bundle"}"#.utf8) }
        return Array(data)
    }()

    static func instant(_ text: String?, name: String) throws -> Timestamp? {
        guard let text else { return nil }
        guard !text.isEmpty else {
            throw APIError(.badRequest, "\(name) is empty: give an ISO 8601 date-time with an offset, or leave it out")
        }
        do {
            return try Timestamp(iso8601: text, defaultOffsetSeconds: nil)
        } catch {
            throw APIError(.badRequest, "\(name): \(error)")
        }
    }

    static func limit(_ text: String?) throws -> Int {
        guard let text else { return 1000 }
        guard let limit = Int(text), (1...10_000).contains(limit) else {
            throw APIError(.badRequest, "limit must be a whole number from 1 to 10000, not '\(text)'")
        }
        return limit
    }

    static func rawID(_ text: String?, name: String) throws -> Int64? {
        guard let text else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw APIError(.badRequest, "\(name) must be a raw id, a whole number from 0, not '\(text)'")
        }
        return value
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
        )
    }
}

/// A row of `measurements`, as the API returns it.
///
/// The pipeline stores finite statistics only, but a database written by an earlier version may
/// hold an infinity (SQLite keeps it; JSON has no way to write it): such a value is answered as
/// `null` and its field is named in `nonFinite`, so that the row is served rather than a 500.
struct StoredMeasurement: Encodable, Sendable {
    var utc: String
    var timeStamp: String
    var count: Int
    var mean: Double?
    var stdPopulation: Double?
    var stdSample: Double?
    var min: Double?
    var max: Double?
    var rawId: Int64
    var sha256: String
    var receivedAt: String
    var processedAt: String
    var version: Int
    /// The statistics that are stored but are not finite numbers; absent when all are.
    var nonFinite: [String]?

    init(_ row: Row) {
        utc = row["utc"]
        timeStamp = row["time_stamp"]
        count = row["count"]
        rawId = row["raw_id"]
        sha256 = row["sha256"]
        receivedAt = row["received_at"]
        processedAt = row["processed_at"]
        version = row["version"]
        var broken: [String] = []
        func finite(_ column: String, _ field: String) -> Double? {
            guard let value = row[column] as Double? else { return nil }
            if value.isFinite { return value }
            broken.append(field)
            return nil
        }
        mean = finite("mean", "mean")
        stdPopulation = finite("std_population", "stdPopulation")
        stdSample = finite("std_sample", "stdSample")
        min = finite("min", "min")
        max = finite("max", "max")
        nonFinite = broken.isEmpty ? nil : broken
    }

    private enum CodingKeys: String, CodingKey {
        case utc, timeStamp, count, mean, stdPopulation, stdSample, min, max, rawId, sha256, receivedAt
        case processedAt, version, nonFinite
    }

    /// Statistics are always present, as numbers or `null`; `nonFinite` only when it names some.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(utc, forKey: .utc)
        try container.encode(timeStamp, forKey: .timeStamp)
        try container.encode(count, forKey: .count)
        try container.encode(mean, forKey: .mean)
        try container.encode(stdPopulation, forKey: .stdPopulation)
        try container.encode(stdSample, forKey: .stdSample)
        try container.encode(min, forKey: .min)
        try container.encode(max, forKey: .max)
        try container.encode(rawId, forKey: .rawId)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(receivedAt, forKey: .receivedAt)
        try container.encode(processedAt, forKey: .processedAt)
        try container.encode(version, forKey: .version)
        try container.encodeIfPresent(nonFinite, forKey: .nonFinite)
    }
}

/// The answer of the lineage endpoint: every raw record that named the instant, applied or
/// rejected, in raw-id order.
struct Lineage: Encodable, Sendable {
    /// One raw record that named the instant.
    struct Link: Encodable, Sendable {
        var rawId: Int64
        /// `applied` (it set the row) or `rejected` (see `reason`; the row was left as it was).
        var outcome: String
        var timeStamp: String
        var sha256: String
        /// When the body arrived; absent for a rejected record.
        var receivedAt: String?
        /// When it was applied or rejected.
        var processedAt: String
        var replacedRawId: Int64?
        var reason: String?

        init(applied row: Row) {
            rawId = row["raw_id"]
            outcome = "applied"
            timeStamp = row["time_stamp"]
            sha256 = row["sha256"]
            receivedAt = row["received_at"]
            processedAt = row["processed_at"]
            replacedRawId = row["replaced_raw_id"]
        }

        init(rejected row: Row) {
            rawId = row["raw_id"]
            outcome = "rejected"
            timeStamp = row["time_stamp"] ?? ""
            sha256 = row["sha256"] ?? ""
            processedAt = row["rejected_at"]
            reason = row["reason"]
        }
    }

    var utc: String
    /// The row as it stands; `null` when every record for the instant was rejected.
    var current: StoredMeasurement?
    var chain: [Link]

    private enum CodingKeys: String, CodingKey { case utc, current, chain }

    /// `current` is always present, `null` when there is no row.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(utc, forKey: .utc)
        try container.encode(current, forKey: .current)
        try container.encode(chain, forKey: .chain)
    }
}

/// A row of `rejected`.
struct Rejected: Encodable, Sendable {
    var rawId: Int64
    var reason: String
    var sha256: String?
    var rejectedAt: String
    var body: String
    /// `validate` (the body is not a valid payload) or `store` (the database refused the record).
    var stage: String?
    /// The instant the body named, when its time stamp could be read.
    var utc: String?

    init(_ row: Row) {
        rawId = row["raw_id"]
        reason = row["reason"]
        sha256 = row["sha256"]
        rejectedAt = row["rejected_at"]
        body = row["body"]
        stage = row["stage"]
        utc = row["utc"]
    }
}

/// An error answer of the API: `{"error": "..."}` with its status, as the OpenAPI document says.
struct APIError: HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    var headers: HTTPFields

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    var description: String { "\(status.code) \(message)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var body = try JSONEncoder().encode(["error": message])
        body.append(UInt8(ascii: "\n"))
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
