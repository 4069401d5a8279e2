import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StreamKit
import StreamKitHTTP
import Testing

@Suite struct HTTPIngestTests {
    /// An app with one ingest endpoint that refuses bodies containing "bad".
    static func app(_ log: RawLog) -> some ApplicationProtocol {
        let router = Router()
        let ingest = HTTPIngest(
            log: log,
            authentication: IngestAuthentication(bearerTokens: ["secret"], apiKeys: ["key-1"]),
            maximumBodySize: 64
        ) { body in
            String(decoding: body, as: UTF8.self).contains("bad")
                ? IngestRejection(status: 422, reason: "bad body") : nil
        }
        ingest.register(on: router, path: "/ingest")
        return Application(router: router)
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    }

    @Test func credentialsAreCheckedBeforeAnythingIsStored() async throws {
        let scratch = Scratch()
        let log = try RawLog(path: scratch.path + "/bodies.jsonl")
        defer { log.close() }
        try await Self.app(log).test(.router) { client in
            try await client.execute(uri: "/ingest", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                #expect(
                    Self.json(response.body)["error"] as? String
                        == "missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'"
                )
            }
            try await client.execute(
                uri: "/ingest",
                method: .post,
                headers: [.authorization: "Bearer wrong"],
                body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.json(response.body)["error"] as? String == "unknown bearer token")
            }
            try await client.execute(
                uri: "/ingest",
                method: .post,
                headers: [.authorization: "Basic abc"],
                body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .unauthorized)
            }
            #expect(log.count == 0)
            try await client.execute(
                uri: "/ingest",
                method: .post,
                headers: [.authorization: "Bearer secret"],
                body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .accepted)
                #expect(Self.json(response.body)["id"] as? Int == 1)
            }
            let apiKey = HTTPField.Name("X-API-Key")!
            try await client.execute(
                uri: "/ingest",
                method: .post,
                headers: [apiKey: "key-1"],
                body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .accepted)
                #expect(Self.json(response.body)["sha256"] as? String == RawLog.sha256(Array("{}".utf8)))
            }
        }
        #expect(log.count == 2)
    }

    @Test func oversizedBodiesAreRefusedUnstoredAndRefusedBodiesAreStored() async throws {
        let scratch = Scratch()
        let log = try RawLog(path: scratch.path + "/bodies.jsonl")
        defer { log.close() }
        let auth: HTTPFields = [.authorization: "Bearer secret"]
        try await Self.app(log).test(.router) { client in
            let big = ByteBuffer(string: String(repeating: "x", count: 65))
            try await client.execute(uri: "/ingest", method: .post, headers: auth, body: big) { response in
                #expect(response.status == .contentTooLarge)
                #expect(Self.json(response.body)["error"] as? String == "the body exceeds the limit of 64 bytes")
            }
            #expect(log.count == 0)
            try await client.execute(
                uri: "/ingest",
                method: .post,
                headers: auth,
                body: ByteBuffer(string: "a bad one")
            ) { response in
                #expect(response.status == .unprocessableContent)
                let answer = Self.json(response.body)
                #expect(answer["error"] as? String == "bad body")
                #expect(answer["id"] as? Int == 1)
            }
        }
        // Refused, but kept: the raw store holds everything that was received.
        let (records, _, _) = try await readAll(log)
        #expect(records.map { String(decoding: $0.body, as: UTF8.self) } == ["a bad one"])
    }
}
