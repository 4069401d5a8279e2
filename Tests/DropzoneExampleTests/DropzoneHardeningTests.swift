import DropzoneExample
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StreamKitHTTP
import Testing

/// A TCP connection made by hand, to send what an HTTP client would not (nothing at all, a huge
/// header) and to see when the server closes it.
final class RawConnection {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard descriptor >= 0, result == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Foundation.send(descriptor, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Everything the server sends until it closes the connection or `timeout` passes; `closed`
    /// says which.
    func receiveAll(timeout: Duration) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<n]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}

@Suite struct DropzoneHardeningTests {
    @Test func readsNeedCredentialsUnlessOpened() async throws {
        let scratch = Scratch()
        let dropzone = try LocalDropzone(scratch)
        let reads = [
            "/v1/measurements", "/v1/measurements/2019-05-01T10:00:00Z/lineage", "/v1/rejected", "/metrics",
        ]
        try await Application(router: dropzone.api.router()).test(.router) { client in
            for uri in reads {
                for headers: HTTPFields in [[:], [.authorization: "Bearer t0ke"], [.authorization: "Bearer t0ken0"]] {
                    try await client.execute(uri: uri, method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(uri) \(headers)")
                        #expect(response.headers[.wwwAuthenticate] == "Bearer")
                        #expect(response.headers[.contentType] == "application/json")
                        #expect((json(response.body) as? [String: Any])?["error"] is String, "\(uri)")
                    }
                }
                try await client.execute(uri: uri, method: .get, headers: bearer) { response in
                    #expect(response.status == .ok || response.status == .notFound, "\(uri): \(response.status)")
                }
            }
            for uri in ["/health", "/ready", "/openapi.json"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                    #expect(response.headers[.contentType] == "application/json", "\(uri)")
                }
            }
        }
        // Opened reads: reads without credentials, posts still refused without them.
        let open = DropzoneAPI(ingest: dropzone.api.ingest, store: dropzone.store, exporter: nil, reads: .open)
        try await Application(router: open.router()).test(.router) { client in
            for uri in reads {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok || response.status == .notFound, "\(uri): \(response.status)")
                }
            }
            try await client.execute(uri: "/v1/measurements", method: .post, body: payload("2019-05-01T10:00:00Z", [1]))
            {
                response in
                #expect(response.status == .unauthorized)
            }
        }
        // Opened metrics only.
        let scrape = DropzoneAPI(ingest: dropzone.api.ingest, store: dropzone.store, exporter: nil, metrics: .open)
        try await Application(router: scrape.router()).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/v1/rejected", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
        try await dropzone.stop()
    }

    @Test func tokensMatchExactlyWhateverTheirLength() {
        let authentication = IngestAuthentication(
            bearerTokens: ["t0ken", "a-much-longer-token-of-forty-characters!"],
            apiKeys: ["k3y"]
        )
        func refusal(_ token: String) -> String? { authentication.refusal([.authorization: "Bearer \(token)"]) }
        #expect(refusal("t0ken") == nil)
        #expect(refusal("a-much-longer-token-of-forty-characters!") == nil)
        for wrong in ["t0ke", "t0kenx", "T0KEN", "a-much-longer-token-of-forty-characters", "k3y"] {
            #expect(refusal(wrong) == "unknown bearer token", "\(wrong)")
        }
        #expect(authentication.refusal([HTTPField.Name("X-API-Key")!: "k3y"]) == nil)
        #expect(authentication.refusal([HTTPField.Name("X-API-Key")!: "t0ken"]) == "unknown API key in X-API-Key")
        #expect(IngestAuthentication().refusal([.authorization: "Bearer t0ken"]) == "unknown bearer token")
    }

    @Test func unservedMethodsAre405WithAllowAndUnknownPaths404InJSON() async throws {
        let scratch = Scratch()
        let dropzone = try LocalDropzone(scratch)
        try await Application(router: dropzone.api.router()).test(.router) { client in
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/v1/measurements", .put, "GET, POST"),
                ("/v1/measurements", .delete, "GET, POST"),
                ("/v1/measurements/2019-05-01T10:00:00Z/lineage", .post, "GET"),
                ("/health", .trace, "GET"),
                ("/metrics", .patch, "GET"),
            ]
            for (uri, method, allow) in cases {
                try await client.execute(uri: uri, method: method, headers: bearer) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                    #expect(response.headers[.contentType] == "application/json")
                    #expect(
                        (json(response.body) as? [String: Any])?["error"] as? String
                            == "\(method.rawValue) is not served on \(uri): use \(allow)"
                    )
                }
            }
            try await client.execute(uri: "/v2/nothing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json")
                #expect(
                    (json(response.body) as? [String: Any])?["error"] as? String
                        == "no such path: /v2/nothing (see /openapi.json)"
                )
            }
            // An empty bound is not "no bound" (Schemathesis found `to=` answered 200).
            try await client.execute(uri: "/v1/measurements?to=", method: .get, headers: bearer) { response in
                #expect(response.status == .badRequest)
                #expect(
                    (json(response.body) as? [String: Any])?["error"] as? String
                        == "to is empty: give an ISO 8601 date-time with an offset, or leave it out"
                )
            }
            try await client.execute(uri: "/v1/rejected?after=x", method: .get, headers: bearer) { response in
                #expect(response.status == .badRequest)
                #expect(
                    (json(response.body) as? [String: Any])?["error"] as? String
                        == "after must be a raw id, a whole number from 0, not 'x'"
                )
            }
        }
        try await dropzone.stop()
    }

    /// The real program: a 1 MB header is answered 431 with a JSON body; a connection that sends
    /// nothing, trickles its header or stalls its body is closed after the idle timeout; a flood of
    /// idle connections above the descriptor limit does not stop the process, which answers again
    /// once they are closed.
    @Test(.timeLimit(.minutes(2)))
    func oversizedHeadersSlowAndIdleConnectionsAndDescriptorExhaustion() async throws {
        let scratch = Scratch()
        let (process, port) = try await DropzoneCrashTests.start(
            scratch.path + "/data",
            arguments: ["--idle-timeout", "1"],
            descriptorLimit: 256
        )
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let huge = try RawConnection(port: port)
        huge.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 1 << 20))\r\n\r\n")
        let answer = huge.receiveAll(timeout: .seconds(5))
        #expect(answer.text.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "\(answer.text.prefix(200))")
        #expect(answer.text.contains("Content-Type: application/json"))
        let body = answer.text.components(separatedBy: "\r\n\r\n").last ?? ""
        #expect(
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: String]
                == ["error": "the request's header is too large: send at most 80 KiB of header"]
        )

        // One idle connection: closed after about a second.
        let idle = try RawConnection(port: port)
        let start = ContinuousClock.now
        #expect(idle.receiveAll(timeout: .seconds(5)).closed)
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(800) && waited < .seconds(4), "closed after \(waited)")

        // A header sent a line every 300 ms, and a body that stalls: both cut off after about a second.
        let slowHeader = try RawConnection(port: port)
        let slowStart = ContinuousClock.now
        slowHeader.send("GET /health HTTP/1.1\r\n")
        var slowAnswer = ""
        for line in 0..<20 {
            slowHeader.send("X-Line-\(line): slow\r\n")
            let (text, closed) = slowHeader.receiveAll(timeout: .milliseconds(300))
            slowAnswer += text
            if closed { break }
        }
        let slowWaited = ContinuousClock.now - slowStart
        #expect(slowWaited < .seconds(3), "a trickled header kept the connection for \(slowWaited)")
        #expect(!slowAnswer.contains("200 OK"))
        let stalledBody = try RawConnection(port: port)
        stalledBody.send(
            "POST /v1/measurements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\nContent-Length: 100\r\n\r\n{\"time"
        )
        #expect(stalledBody.receiveAll(timeout: .seconds(4)).closed)

        // More idle connections than the process has descriptors.
        var flood: [RawConnection] = []
        for _ in 0..<300 { if let connection = try? RawConnection(port: port) { flood.append(connection) } }
        #expect(flood.count == 300)
        try await Task.sleep(for: .seconds(3))
        #expect(process.isRunning, "the dropzone exited under the flood")
        // Asked a few times: with a one-second idle timeout, a busy machine can let the server close
        // a new connection before its request is read.
        var healthy: HTTPResponse.Status?
        for _ in 0..<10 where healthy != .ok {
            healthy = try? await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                try await client.get("/health").status
            }
            if healthy != .ok { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(healthy == .ok)
        let closed = flood.filter { $0.receiveAll(timeout: .milliseconds(100)).closed }.count
        #expect(closed == 300, "idle connections closed: \(closed) of 300")
        #expect(process.isRunning)
    }
}
