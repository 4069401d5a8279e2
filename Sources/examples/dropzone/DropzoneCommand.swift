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
            with none, a token is generated for the run and printed.
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

    @Flag(help: "Accept requests without credentials (trusted networks only).")
    var open = false

    @Option(help: "The largest accepted body, in bytes.")
    var maxBodyBytes = 1 << 20

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535, not \(port)") }
        guard maxBodyBytes >= 64 else { throw ValidationError("--max-body-bytes must be at least 64") }
        if open && !(tokens.isEmpty && apiKeys.isEmpty) {
            throw ValidationError("--open accepts everyone: drop it, or drop --token and --api-key")
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
        let server = DropzoneServer(
            dataDirectory: dataDirectory,
            host: host,
            port: port,
            authentication: authentication,
            maximumBodySize: maxBodyBytes
        )
        try await server.run()
    }
}
