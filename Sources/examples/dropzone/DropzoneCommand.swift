import ArgumentParser
import DropzoneExample
import Foundation
import StreamKitHTTP

/// The dropzone: a REST ingest that stores raw JSON first, converts to UTC, computes mean and
/// standard deviation, and upserts by UTC timestamp.
@main
struct DropzoneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dropzone",
        abstract:
            "REST ingest: raw JSON stored durably first, then UTC, mean and standard deviation, upserted by instant.",
        discussion: """
            Post payloads with a bearer token:
              curl -H "Authorization: Bearer $TOKEN" -d '{"time_stamp":"2019-05-01T06:00:00-04:00","data":[1,2]}' \\
                   http://127.0.0.1:8080/v1/measurements
            Tokens come from --token, --api-key or the DROPZONE_TOKENS environment variable (comma-separated);
            with none, a token is generated for the run and printed. Reads (measurements, lineage, rejected
            bodies, metrics) take the same credentials:
              curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/measurements
            /health, /ready and /openapi.json are open.
            """
    )

    @Option(name: .customLong("data"), help: "Where the raw store, the database and the checkpoints are kept.")
    var dataDirectory = "./dropzone-data"

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on.")
    var port = 8080

    @Option(name: .customLong("token"), help: "An accepted bearer token (repeatable).")
    var tokens: [String] = []

    @Option(name: .customLong("api-key"), help: "An accepted X-API-Key value (repeatable).")
    var apiKeys: [String] = []

    @Flag(help: "Accept every request without credentials, posts and reads (trusted networks only).")
    var open = false

    @Flag(
        help:
            "Serve reads (measurements, lineage, rejected bodies, metrics) without credentials; posts still need them."
    )
    var openReads = false

    @Flag(help: "Serve /metrics without credentials (for a scraper without a token); everything else still needs them.")
    var openMetrics = false

    @Option(help: "Seconds a connection may stay silent (no request, or a stalled header or body) before it is closed.")
    var idleTimeout = 30.0

    @Option(
        help: "The most connections open at once (default: the descriptor limit less 64); more wait in the backlog."
    )
    var maxConnections: Int?

    @Option(help: "The largest accepted body, in bytes.")
    var maxBodyBytes = 1 << 20

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535, not \(port)") }
        guard maxBodyBytes >= 64 else { throw ValidationError("--max-body-bytes must be at least 64") }
        if open && !(tokens.isEmpty && apiKeys.isEmpty) {
            throw ValidationError("--open accepts everyone: drop it, or drop --token and --api-key")
        }
        guard idleTimeout > 0 && idleTimeout <= 3600 else {
            throw ValidationError("--idle-timeout must be above 0 and at most 3600 seconds, not \(idleTimeout)")
        }
        if let maxConnections, maxConnections < 1 {
            throw ValidationError("--max-connections must be at least 1, not \(maxConnections)")
        }
    }

    func run() async throws {
        var tokens = Set(tokens)
        if let environment = ProcessInfo.processInfo.environment["DROPZONE_TOKENS"] {
            tokens.formUnion(environment.split(separator: ",").map { String($0) }.filter { !$0.isEmpty })
        }
        var authentication = IngestAuthentication(bearerTokens: tokens, apiKeys: Set(apiKeys))
        if open {
            authentication = .open
        } else if tokens.isEmpty && apiKeys.isEmpty {
            let token = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
            authentication.bearerTokens = [token]
            print("no token configured: this run accepts 'Authorization: Bearer \(token)'")
        }
        var server = DropzoneServer(
            dataDirectory: dataDirectory,
            host: host,
            port: port,
            authentication: authentication,
            maximumBodySize: maxBodyBytes
        )
        if openReads { server.reads = .open }
        if openMetrics { server.metrics = .open }
        server.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        server.maximumConnections = maxConnections
        try await server.run()
    }
}
