import DropzoneExample
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct DropzoneOpenAPITests {
    /// The served document passes openapi-spec-validator (PyPI, installed by ./scripts/setup).
    @Test func theServedDocumentIsValidOpenAPI() async throws {
        let scratch = Scratch()
        let dropzone = try LocalDropzone(scratch)
        let path = scratch.path + "/openapi.json"
        try await Application(router: dropzone.api.router()).test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                try Data(response.body.readableBytesView).write(to: URL(fileURLWithPath: path))
            }
        }
        try await dropzone.stop()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "openapi_spec_validator", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "openapi-spec-validator (run ./scripts/setup to install it): \(text)")
        #expect(text.contains("OK"))
    }

    /// Every operation the document lists is served, and answers with a status it documents.
    @Test func everyDocumentedOperationAnswersWithADocumentedStatus() async throws {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(DropzoneAPI.openAPIDocument)) as? [String: Any]
        )
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        #expect(
            Set(paths.keys) == [
                "/v1/measurements", "/v1/measurements/{utc}/lineage", "/v1/rejected", "/openapi.json", "/metrics",
                "/health", "/ready",
            ]
        )
        let operations = paths.flatMap { path, methods in
            methods.map { method, operation in
                let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                return (path: path, method: method, statuses: Set(responses.keys))
            }
        }
        let scratch = Scratch()
        let dropzone = try LocalDropzone(scratch)
        try await Application(router: dropzone.api.router()).test(.router) { client in
            try await client.execute(
                uri: "/v1/measurements",
                method: .post,
                headers: bearer,
                body: payload("2019-05-01T10:00:00Z", [1, 2])
            ) { _ in }
            try await dropzone.settle()
            for (path, method, statuses) in operations {
                do {
                    let uri = path.replacingOccurrences(of: "{utc}", with: "2019-05-01T10:00:00Z")
                    let body = method == "post" ? payload("2019-05-01T11:00:00Z", [3]) : ByteBuffer()
                    try await client.execute(
                        uri: uri,
                        method: method == "post" ? .post : .get,
                        headers: bearer,
                        body: body
                    ) { response in
                        #expect(
                            statuses.contains(String(response.status.code)),
                            "\(method) \(path): \(response.status)"
                        )
                        #expect(response.status.code < 300, "\(method) \(path): \(response.status)")
                    }
                }
            }
        }
        try await dropzone.stop()
    }
}
