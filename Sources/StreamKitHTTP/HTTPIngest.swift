import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StreamKit

/// An HTTP endpoint that stores every posted body in a ``RawLog`` before it answers.
///
/// For each `POST`:
/// 1. credentials are checked (``IngestAuthentication``): 401 without them;
/// 2. the body is read up to ``maximumBodySize``: 413 above it, and nothing is stored;
/// 3. the body is checked with ``validate`` (the same check the pipeline applies later);
/// 4. the body is appended to the raw log and synced to disk, whatever the check said, so that the
///    raw store holds everything that was received;
/// 5. the answer is `202 Accepted` with `{"id", "sha256", "received"}`, or, when the check refused
///    the body, its status (400 or 422) with `{"error", "id"}`; 503 if the raw store failed.
///
/// The body is parsed as JSON whatever the `Content-Type` says: clients that send
/// `application/x-www-form-urlencoded` by mistake (as `curl -d` does) are served too.
///
/// ```swift
/// let ingest = HTTPIngest(log: log, authentication: .init(bearerTokens: ["s3cret"])) { body in
///     (try? JSONSerialization.jsonObject(with: Data(body))) == nil ? IngestRejection(reason: "invalid JSON") : nil
/// }
/// ingest.register(on: router, path: "/v1/measurements")
/// ```
public struct HTTPIngest: Sendable {
    /// The raw store.
    public var log: RawLog
    /// Who may post.
    public var authentication: IngestAuthentication
    /// The largest accepted body, in bytes.
    public var maximumBodySize: Int
    /// Checks a body; returns why it is refused, or `nil` to accept it.
    public var validate: @Sendable ([UInt8]) -> IngestRejection?
    /// Accepted requests, made once: a metric handle costs a registry lookup.
    private let accepted = Counter(label: "streamkit_http_ingest_total", dimensions: [("status", "202")])

    /// Creates an endpoint.
    public init(
        log: RawLog,
        authentication: IngestAuthentication,
        maximumBodySize: Int = 1 << 20,
        validate: @escaping @Sendable ([UInt8]) -> IngestRejection? = { _ in nil }
    ) {
        self.log = log
        self.authentication = authentication
        self.maximumBodySize = maximumBodySize
        self.validate = validate
    }

    /// Adds `POST path` to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>, path: RouterPath) {
        router.post(path) { request, _ in await handle(request) }
    }

    /// Answers one request.
    public func handle(_ request: Request) async -> Response {
        if let refusal = authentication.refusal(request.headers) {
            return Self.answer(.unauthorized, ["error": .string(refusal)], extra: [.wwwAuthenticate: "Bearer"])
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumBodySize)
        } catch is NIOTooManyBytesError {
            return Self.answer(
                .contentTooLarge,
                ["error": .string("the body exceeds the limit of \(maximumBodySize) bytes")]
            )
        } catch {
            return Self.answer(.badRequest, ["error": .string("cannot read the body: \(error)")])
        }
        let body = Array(buffer.readableBytesView)
        let rejection = validate(body)
        let receipt: RawLog.Receipt
        do {
            receipt = try await log.append(body)
        } catch {
            Counter(label: "streamkit_http_ingest_total", dimensions: [("status", "503")]).increment()
            return Self.answer(.serviceUnavailable, ["error": .string("the raw store is unavailable: \(error)")])
        }
        if let rejection {
            Counter(label: "streamkit_http_ingest_total", dimensions: [("status", "\(rejection.status)")]).increment()
            return Self.answer(
                HTTPResponse.Status(code: rejection.status),
                ["error": .string(rejection.reason), "id": .integer(receipt.id)]
            )
        }
        accepted.increment()
        return Self.answer(
            .accepted,
            [
                "id": .integer(receipt.id), "sha256": .string(receipt.sha256),
                "received": .string(receipt.received.iso8601),
            ]
        )
    }

    /// A value of a small JSON answer.
    enum AnswerValue {
        case string(String)
        case integer(Int64)
    }

    /// A JSON answer with sorted keys.
    static func answer(
        _ status: HTTPResponse.Status,
        _ fields: [String: AnswerValue],
        extra: HTTPFields = [:]
    ) -> Response {
        var text: [UInt8] = [UInt8(ascii: "{")]
        for (index, key) in fields.keys.sorted().enumerated() {
            if index > 0 { text.append(UInt8(ascii: ",")) }
            text.append(UInt8(ascii: "\""))
            RawLog.appendEscaped(Array(key.utf8), to: &text)
            text.append(contentsOf: "\":".utf8)
            switch fields[key]! {
            case .integer(let value): text.append(contentsOf: String(value).utf8)
            case .string(let value):
                text.append(UInt8(ascii: "\""))
                RawLog.appendEscaped(Array(value.utf8), to: &text)
                text.append(UInt8(ascii: "\""))
            }
        }
        text.append(contentsOf: "}\n".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }
}

/// Why an ``HTTPIngest`` refuses a body: the HTTP status and a reason for the client.
public struct IngestRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status: 400 for a body that is not what the endpoint reads (invalid JSON), 422 for
    /// one that is but whose content is wrong.
    public var status: Int
    /// What is wrong, precisely enough for the client to fix it.
    public var reason: String

    /// Creates a rejection.
    public init(status: Int = 400, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// The reason.
    public var description: String { reason }
}
