import Foundation
import GRDB
import Hummingbird
import StreamKit
import StreamKitHTTP
import StreamKitPrometheus

/// The dropzone's HTTP API (documented in OpenAPI 3 at `/openapi.json`):
///
/// - `POST /v1/measurements` — ingest a payload (bearer token or API key); 202 with the raw id
/// - `GET /v1/measurements?from=&to=&limit=` — measurements by UTC instant, for analysts
/// - `GET /v1/measurements/{utc}/lineage` — the raw records behind an instant, which replaced which
/// - `GET /v1/rejected?after=&limit=` — refused payloads with their reasons
/// - `GET /openapi.json`, `GET /metrics`, `GET /health`, `GET /ready`
public struct DropzoneAPI: Sendable {
    /// The ingest endpoint.
    public let ingest: HTTPIngest
    /// Where the answers come from.
    public let store: DropzoneStore
    /// The Prometheus exporter of the process, if installed.
    public let exporter: PrometheusExporter?

    /// Creates the API.
    public init(ingest: HTTPIngest, store: DropzoneStore, exporter: PrometheusExporter?) {
        self.ingest = ingest
        self.store = store
        self.exporter = exporter
    }

    /// The routes.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        ingest.register(on: router, path: "/v1/measurements")
        let store = self.store
        router.get("/v1/measurements") { request, _ -> Response in
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
        router.get("/v1/measurements/:utc/lineage") { _, context -> Response in
            let text = context.parameters.get("utc")?.removingPercentEncoding ?? ""
            guard let utc = try Self.instant(text, name: "utc") else {
                throw APIError(.badRequest, "give the instant as ISO 8601 with an offset")
            }
            let answer = try await store.database.read { db -> Lineage? in
                guard
                    let current = try Row.fetchOne(
                        db,
                        sql: "SELECT * FROM measurements WHERE utc = ?",
                        arguments: [utc.iso8601]
                    )
                else { return nil }
                let chain = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM lineage WHERE utc = ? ORDER BY raw_id",
                    arguments: [utc.iso8601]
                ).map(Lineage.Link.init)
                return Lineage(utc: utc.iso8601, current: StoredMeasurement(current), chain: chain)
            }
            guard let answer else {
                throw APIError(.notFound, "no measurement at \(utc.iso8601)")
            }
            return try Self.json(answer)
        }
        router.get("/v1/rejected") { request, _ -> Response in
            let after = Int64(request.uri.queryParameters.get("after") ?? "0") ?? 0
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
        let log = ingest.log
        (exporter ?? PrometheusExporter.bootstrap()).addRoutes(to: router) { log.isHealthy }
        return router
    }

    /// The OpenAPI 3 document of this API.
    public static let openAPIDocument: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { return Array(#"{"error":"openapi.json is missing from the bundle"}"#.utf8) }
        return Array(data)
    }()

    static func instant(_ text: String?, name: String) throws -> Timestamp? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try Timestamp(iso8601: text, defaultOffsetSeconds: nil)
        } catch {
            throw APIError(.badRequest, "\(name): \(error)")
        }
    }

    static func limit(_ text: String?) throws -> Int {
        guard let text else { return 1000 }
        guard let limit = Int(text), (1...10_000).contains(limit) else {
            throw APIError(.badRequest, "limit must be a whole number from 1 to 10000")
        }
        return limit
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
struct StoredMeasurement: Codable, Sendable {
    var utc: String
    var timeStamp: String
    var count: Int
    var mean: Double
    var stdPopulation: Double
    var stdSample: Double?
    var min: Double
    var max: Double
    var rawId: Int64
    var sha256: String
    var receivedAt: String
    var processedAt: String
    var version: Int

    init(_ row: Row) {
        utc = row["utc"]
        timeStamp = row["time_stamp"]
        count = row["count"]
        mean = row["mean"]
        stdPopulation = row["std_population"]
        stdSample = row["std_sample"]
        min = row["min"]
        max = row["max"]
        rawId = row["raw_id"]
        sha256 = row["sha256"]
        receivedAt = row["received_at"]
        processedAt = row["processed_at"]
        version = row["version"]
    }
}

/// The answer of the lineage endpoint.
struct Lineage: Codable, Sendable {
    /// One raw record applied to the instant.
    struct Link: Codable, Sendable {
        var rawId: Int64
        var timeStamp: String
        var sha256: String
        var receivedAt: String
        var processedAt: String
        var replacedRawId: Int64?

        init(_ row: Row) {
            rawId = row["raw_id"]
            timeStamp = row["time_stamp"]
            sha256 = row["sha256"]
            receivedAt = row["received_at"]
            processedAt = row["processed_at"]
            replacedRawId = row["replaced_raw_id"]
        }
    }

    var utc: String
    var current: StoredMeasurement
    var chain: [Link]
}

/// A row of `rejected`.
struct Rejected: Codable, Sendable {
    var rawId: Int64
    var reason: String
    var sha256: String?
    var rejectedAt: String
    var body: String

    init(_ row: Row) {
        rawId = row["raw_id"]
        reason = row["reason"]
        sha256 = row["sha256"]
        rejectedAt = row["rejected_at"]
        body = row["body"]
    }
}

/// An error answer of the API: `{"error": "..."}` with its status, as the OpenAPI document says.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JSONEncoder().encode(["error": message])
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
