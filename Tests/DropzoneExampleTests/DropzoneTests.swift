import DropzoneExample
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import StreamKit
import StreamKitHTTP
import Testing

/// A folder under the temporary directory, removed when the value goes.
final class Scratch {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "streamkit-dropzone-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The challenge's sample payload, read from the shared data folder when it is there.
let samplePayload: [UInt8]? = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return (try? Data(contentsOf: url.appendingPathComponent("shared/data/dropzone_file.json"))).map(Array.init)
}()

/// A dropzone in this process: raw log, store, running pipeline and API.
final class LocalDropzone: Sendable {
    let log: RawLog
    let store: DropzoneStore
    let api: DropzoneAPI
    let run: Task<Void, any Error>

    init(_ scratch: Scratch, maximumBodySize: Int = 1 << 20) throws {
        log = try RawLog(path: scratch.path + "/raw/bodies.jsonl")
        store = try DropzoneStore(path: scratch.path + "/dropzone.sqlite")
        let pipeline = DropzoneGraph.build(log: log, store: store)
        let directory = scratch.path + "/checkpoints"
        run = Task { try await pipeline.run(checkpoints: .every(.milliseconds(200), in: directory)) }
        api = DropzoneAPI(
            ingest: HTTPIngest(
                log: log,
                authentication: IngestAuthentication(bearerTokens: ["t0ken"]),
                maximumBodySize: maximumBodySize,
                validate: DropzoneMeasurement.check
            ),
            store: store,
            exporter: nil
        )
    }

    /// Waits until the pipeline has handled every stored record.
    func settle() async throws {
        for _ in 0..<500 {
            let handled = try await store.database.read { db in
                try Int64.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM lineage) + (SELECT COUNT(*) FROM rejected)")!
            }
            if handled == log.count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the pipeline did not process the raw store")
    }

    /// Closes the raw store and waits for the pipeline to finish it.
    func stop() async throws {
        log.close()
        try await run.value
    }
}

func json(_ buffer: ByteBuffer) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
}

func payload(_ timeStamp: String, _ data: [Double]) -> ByteBuffer {
    ByteBuffer(string: #"{"time_stamp":"\#(timeStamp)","data":[\#(data.map { "\($0)" }.joined(separator: ","))]}"#)
}

let bearer: HTTPFields = [.authorization: "Bearer t0ken"]

@Suite struct DropzoneMeasurementTests {
    @Test(.enabled(if: samplePayload != nil, "the challenge's sample payload is in ../shared/data"))
    func theSamplePayloadHasTheHandComputedMeanAndStandardDeviations() throws {
        let body = try #require(samplePayload)
        let measurement = try DropzoneMeasurement(RawLogRecord(id: 1, received: .now, sha256: "", body: body))
        // Two-pass reference, independent of the Welford code under test.
        let values = try #require(
            (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["data"] as? [Double]
        )
        let mean = values.reduce(0, +) / Double(values.count)
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        #expect(measurement.count == values.count)
        #expect(abs(measurement.mean - mean) < 1e-12)
        #expect(abs(measurement.stdPopulation - (squares / Double(values.count)).squareRoot()) < 1e-12)
        #expect(abs(measurement.stdSample! - (squares / Double(values.count - 1)).squareRoot()) < 1e-12)
        // The challenge's figures.
        #expect(abs(measurement.mean - 0.9985) < 0.00005)
        #expect(abs(measurement.stdPopulation - 1.0128) < 0.00005)
        #expect(measurement.utc.iso8601 == "2019-05-01T10:00:00.000000Z")
        #expect(measurement.timeStamp == "2019-05-01T06:00:00-04:00")
    }

    @Test func handMadeValues() throws {
        func measure(_ body: ByteBuffer) throws -> DropzoneMeasurement {
            try DropzoneMeasurement(
                RawLogRecord(id: 7, received: .now, sha256: "h", body: Array(body.readableBytesView))
            )
        }
        let m = try measure(payload("2024-03-01T12:00:00Z", [2, 4, 4, 4, 5, 5, 7, 9]))
        #expect(m.count == 8)
        #expect(m.mean == 5)
        #expect(m.stdPopulation == 2)
        #expect(abs(m.stdSample! - (32.0 / 7).squareRoot()) < 1e-12)
        #expect(m.min == 2 && m.max == 9)
        #expect(m.rawID == 7 && m.sha256 == "h")

        let one = try measure(payload("2024-03-01T12:00:00Z", [3.5]))
        #expect(one.stdPopulation == 0 && one.stdSample == nil)
    }

    @Test(arguments: [
        ("2019-05-01T06:00:00-04:00", "2019-05-01T10:00:00.000000Z"),
        ("2019-05-01T15:30:00+05:30", "2019-05-01T10:00:00.000000Z"),
        ("2019-05-01T10:00:00Z", "2019-05-01T10:00:00.000000Z"),
        ("2019-12-31T23:30:00.25-01:00", "2020-01-01T00:30:00.250000Z"),
    ])
    func offsetsConvertToUTC(timeStamp: String, utc: String) throws {
        let body = Array(payload(timeStamp, [1]).readableBytesView)
        #expect(try DropzoneMeasurement.parse(body).utc.iso8601 == utc)
    }
}

@Suite struct DropzoneAPITests {
    @Test(arguments: [
        (
            #"{"time_stamp":"2019-05-01T06:00:00","data":[1]}"#, 422,
            "time_stamp '2019-05-01T06:00:00' has no UTC offset: add one, as in 2019-05-01T06:00:00-04:00 or …Z"
        ),
        (
            #"{"time_stamp":"2019-02-30T06:00:00Z","data":[1]}"#, 422,
            "time_stamp '2019-02-30T06:00:00Z' is not an ISO 8601 date-time with offset: expected a day that exists in 2019-02 at character 11"
        ),
        (
            #"{"time_stamp":"yesterday","data":[1]}"#, 422,
            "time_stamp 'yesterday' is not an ISO 8601 date-time with offset: expected a four-digit year at character 1"
        ),
        (
            #"{"time_stamp":"2019-05-01T10:00:00Z","data":[1, NaN]}"#, 400,
            "invalid JSON: NaN and Infinity are not JSON numbers; data must hold finite numbers"
        ),
        (
            #"{"time_stamp":"2019-05-01T10:00:00Z","data":[1e999]}"#, 422,
            "data must hold finite numbers: Number 1e999 is not representable in Swift."
        ),
        (#"{"time_stamp":"2019-05-01T10:00:00Z","data":[1, "2"]}"#, 422, "data[1] must be a number"),
        (#"{"time_stamp":"2019-05-01T10:00:00Z","data":[]}"#, 422, "data is empty: send at least one number"),
        (#"{"time_stamp":"2019-05-01T10:00:00Z","#, 400, "invalid JSON: Unexpected end of file during JSON parse."),
        (
            #"{"data":[1]}"#, 422,
            #"missing field 'time_stamp': send {"time_stamp": "<ISO 8601 with offset>", "data": [numbers]}"#
        ),
        (
            #"[1, 2]"#, 422,
            "the body must be a JSON object, not Expected to decode Dictionary<String, Any> but found an array instead."
        ),
    ])
    func badPayloadsAreRefusedWithTheReasonAndKept(body: String, status: Int, reason: String) async throws {
        let scratch = Scratch()
        let dropzone = try LocalDropzone(scratch)
        try await Application(router: dropzone.api.router()).test(.router) { client in
            try await client.execute(
                uri: "/v1/measurements",
                method: .post,
                headers: bearer,
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status.code == status)
                let answer = json(response.body) as? [String: Any]
                #expect(answer?["error"] as? String == reason)
                #expect(answer?["id"] as? Int == 1)
            }
            try await dropzone.settle()
            try await client.execute(uri: "/v1/rejected", method: .get, headers: bearer) { response in
                let rows = json(response.body) as? [[String: Any]] ?? []
                #expect(rows.count == 1)
                #expect(rows.first?["rawId"] as? Int == 1)
                #expect(rows.first?["reason"] as? String == reason)
                #expect(rows.first?["body"] as? String == body)
                #expect(rows.first?["sha256"] as? String == RawLog.sha256(Array(body.utf8)))
            }
        }
        try await dropzone.stop()
    }

    @Test func credentialsAndSizeAreCheckedAndNothingIsStoredWithoutThem() async throws {
        let scratch = Scratch()
        let dropzone = try LocalDropzone(scratch, maximumBodySize: 100)
        try await Application(router: dropzone.api.router()).test(.router) { client in
            let body = payload("2019-05-01T10:00:00Z", [1])
            try await client.execute(uri: "/v1/measurements", method: .post, body: body) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/measurements",
                method: .post,
                headers: [.authorization: "Bearer nope"],
                body: body
            ) { response in
                #expect(response.status == .unauthorized)
                #expect((json(response.body) as? [String: Any])?["error"] as? String == "unknown bearer token")
            }
            try await client.execute(
                uri: "/v1/measurements",
                method: .post,
                headers: bearer,
                body: payload("2019-05-01T10:00:00Z", Array(repeating: 1.5, count: 40))
            ) { response in
                #expect(response.status == .contentTooLarge)
            }
            // A form content type, as `curl -d` sends: read as JSON all the same.
            var form = bearer
            form[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/v1/measurements", method: .post, headers: form, body: body) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(dropzone.log.count == 1)
        try await dropzone.stop()
    }

    @Test func theSameInstantWithTwoOffsetsIsOneRowWithItsLineage() async throws {
        let scratch = Scratch()
        let dropzone = try LocalDropzone(scratch)
        try await Application(router: dropzone.api.router()).test(.router) { client in
            var ids: [Int] = []
            for body in [
                payload("2019-05-01T06:00:00-04:00", [1, 2, 3]),
                payload("2019-05-01T11:00:00+01:00", [5]),
                payload("2019-05-01T15:30:00+05:30", [10, 20]),
            ] {
                try await client.execute(uri: "/v1/measurements", method: .post, headers: bearer, body: body) {
                    response in
                    #expect(response.status == .accepted)
                    ids.append((json(response.body) as? [String: Any])?["id"] as? Int ?? -1)
                }
            }
            #expect(ids == [1, 2, 3])
            try await dropzone.settle()
            try await client.execute(
                uri: "/v1/measurements?from=2019-05-01T00:00:00Z&to=2019-05-02T00:00:00Z",
                method: .get,
                headers: bearer
            ) { response in
                let rows = json(response.body) as? [[String: Any]] ?? []
                // Three offsets, one instant: one row, set by the last payload.
                #expect(rows.map { $0["utc"] as? String } == ["2019-05-01T10:00:00.000000Z"])
                #expect(rows.first?["mean"] as? Double == 15)
                #expect(rows.first?["stdPopulation"] as? Double == 5)
                #expect(rows.first?["version"] as? Int == 3)
                #expect(rows.first?["rawId"] as? Int == 3)
            }
            try await client.execute(
                uri: "/v1/measurements/2019-05-01T10:00:00Z/lineage",
                method: .get,
                headers: bearer
            ) { response in
                #expect(response.status == .ok)
                let lineage = json(response.body) as? [String: Any]
                let chain = lineage?["chain"] as? [[String: Any]] ?? []
                #expect(chain.map { $0["rawId"] as? Int } == [1, 2, 3])
                #expect(chain.map { $0["replacedRawId"] as? Int } == [nil, 1, 2])
                #expect(
                    chain.first?["sha256"] as? String
                        == RawLog.sha256(Array(payload("2019-05-01T06:00:00-04:00", [1, 2, 3]).readableBytesView))
                )
                #expect(chain.last?["timeStamp"] as? String == "2019-05-01T15:30:00+05:30")
            }
            try await client.execute(
                uri: "/v1/measurements/2019-05-01T10:00:00X/lineage",
                method: .get,
                headers: bearer
            ) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(
                uri: "/v1/measurements/2000-01-01T00:00:00Z/lineage",
                method: .get,
                headers: bearer
            ) { response in
                #expect(response.status == .notFound)
                #expect(
                    (json(response.body) as? [String: Any])?["error"] as? String
                        == "no measurement at 2000-01-01T00:00:00.000000Z"
                )
            }
        }
        try await dropzone.stop()
        let count = try await dropzone.store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM measurements")
        }
        #expect(count == 1)
    }
}
