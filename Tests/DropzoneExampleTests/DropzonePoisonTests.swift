import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StreamKit
import StreamKitHTTP
import Testing

@testable import DropzoneExample

/// "A record can fail, a pipeline does not": payloads whose statistics overflow, and records the
/// database refuses, go to `rejected` with their reason while the pipeline and the process go on.
@Suite(.serialized) struct DropzonePoisonTests {
    static func body(_ timeStamp: String, _ data: String) -> [UInt8] {
        Array(#"{"time_stamp":"\#(timeStamp)","data":[\#(data)]}"#.utf8)
    }

    /// Spread beyond a double whatever the algorithm: the sample standard deviation is about 2.4e308.
    static let poison = body("2020-01-01T00:00:02Z", "-1.7e308,1.7e308")
    /// The payloads of issue 19: NaN or infinite statistics with the Welford update of today.
    static let issuePayloads = [
        body("2020-01-01T00:00:01Z", "-1e308,1e308"),
        body("2020-01-01T00:00:03Z", "1e308,1.7e308"),
        body("2020-01-01T00:00:04Z", "1e200,-1e200,3"),
    ]

    @Test func valuesBeyondTheRangeAreRefusedWithTheReason() throws {
        let refusal = try #require(DropzoneMeasurement.check(Self.poison))
        #expect(refusal.status == 422)
        #expect(
            refusal.reason
                == "data[0] = -1.7e+308 is beyond ±1e150: send values within ±1e150 (scale them), "
                + "so that their mean and standard deviation stay finite"
        )
        #expect(throws: IngestRejection.self) {
            try DropzoneMeasurement(RawLogRecord(id: 1, received: .now, sha256: "", body: Self.poison))
        }
        for body in Self.issuePayloads {
            let refusal = DropzoneMeasurement.check(body)
            #expect(refusal?.status == 422 && refusal?.reason.contains("is beyond ±1e150") == true)
        }
        // The bound itself is accepted, with finite statistics, at the largest count.
        let edge = DropzoneMeasurement.Payload(
            utc: .now,
            timeStamp: "",
            data: (0..<DropzoneMeasurement.maximumValues).map { $0 % 2 == 0 ? 1e150 : -1e150 }
        )
        let m = try DropzoneMeasurement(payload: edge, rawID: 1, sha256: "", received: .now)
        #expect(m.mean.isFinite && abs(m.stdPopulation / 1e150 - 1) < 1e-9 && m.stdSample!.isFinite)
    }

    /// The safety net behind the range check: statistics that are not finite refuse the record.
    @Test func statisticsThatOverflowAreRefusedWithTheReason() throws {
        let payload = DropzoneMeasurement.Payload(utc: .now, timeStamp: "", data: [-1.7e308, 1.7e308])
        #expect {
            try DropzoneMeasurement(payload: payload, rawID: 1, sha256: "", received: .now)
        } throws: { error in
            let refusal = error as? IngestRejection
            // The sample deviation overflows whatever the algorithm; with the Welford update of
            // today the mean overflows too (the difference of the values is above the largest double).
            return refusal?.status == 422
                && refusal?.reason.hasPrefix("the statistics of data overflow a double (") == true
                && refusal?.reason.contains("std_sample = ") == true
        }
    }

    static func measurement(_ id: Int64, _ timeStamp: String, _ data: [Double]) throws -> DropzoneMeasurement {
        try DropzoneMeasurement(
            RawLogRecord(
                id: id,
                received: .now,
                sha256: "h\(id)",
                body: Array(payload(timeStamp, data).readableBytesView)
            )
        )
    }

    @Test func aRecordTheDatabaseRefusesIsRejectedAndTheBatchGoesOn() async throws {
        let scratch = Scratch()
        let store = try DropzoneStore(path: scratch.path + "/dropzone.sqlite")
        var broken = try Self.measurement(2, "2020-01-01T00:00:02Z", [1, 2])
        broken.mean = .nan  // SQLite stores a NaN as NULL: the NOT NULL constraint refuses the row.
        let batch = [
            try Self.measurement(1, "2020-01-01T00:00:01Z", [1, 2]), broken,
            try Self.measurement(3, "2020-01-01T00:00:03Z", [5, 7]),
        ]
        try await store.database.write { db in try store.apply(db, batch, processed: .now) }
        // Replaying the batch (after a crash) changes nothing.
        try await store.database.write { db in try store.apply(db, batch, processed: .now) }
        try await store.database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT raw_id, mean, version FROM measurements ORDER BY raw_id")
            #expect(rows.map { $0["raw_id"] as Int64 } == [1, 3])
            #expect(rows.map { $0["version"] as Int } == [1, 1])
            #expect(try Int64.fetchAll(db, sql: "SELECT raw_id FROM lineage ORDER BY raw_id") == [1, 3])
            let rejected = try #require(try Row.fetchOne(db, sql: "SELECT * FROM rejected"))
            #expect(rejected["raw_id"] as Int64 == 2)
            #expect(rejected["stage"] as String == "store")
            #expect(rejected["utc"] as String == "2020-01-01T00:00:02.000000Z")
            #expect((rejected["reason"] as String).contains("NOT NULL constraint failed: measurements.mean"))
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected") == 1)
        }
    }

    /// A database that refuses every write (here read-only) is not a bad record: the error leaves
    /// `apply`, the batch's transaction is rolled back and nothing is marked rejected.
    @Test func aDatabaseThatRefusesWritesStopsTheBatchInsteadOfRejectingRecords() async throws {
        let scratch = Scratch()
        let store = try DropzoneStore(path: scratch.path + "/dropzone.sqlite")
        let batch = [try Self.measurement(1, "2020-01-01T00:00:01Z", [1, 2])]
        await #expect {
            try await store.database.write { db in
                try db.execute(sql: "PRAGMA query_only = 1")
                defer { try? db.execute(sql: "PRAGMA query_only = 0") }
                try store.apply(db, batch, processed: .now)
            }
        } throws: { error in
            (error as? DatabaseError)?.resultCode == .SQLITE_READONLY
        }
        let counts = try await store.database.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT (SELECT COUNT(*) FROM measurements) + (SELECT COUNT(*) FROM rejected)"
            )
        }
        #expect(counts == 0)
    }

    @Test func infrastructureErrorsStopThePipelineAndRecordErrorsDoNot() {
        #expect(DropzoneStore.isRecordLevel(DatabaseError(resultCode: .SQLITE_CONSTRAINT_NOTNULL)))
        #expect(DropzoneStore.isRecordLevel(DatabaseError(resultCode: .SQLITE_TOOBIG)))
        #expect(
            DropzoneStore.isRecordLevel(
                EncodingError.invalidValue(Double.nan, .init(codingPath: [], debugDescription: ""))
            )
        )
        #expect(!DropzoneStore.isRecordLevel(DatabaseError(resultCode: .SQLITE_FULL)))
        #expect(!DropzoneStore.isRecordLevel(DatabaseError(resultCode: .SQLITE_IOERR_WRITE)))
        #expect(!DropzoneStore.isRecordLevel(DatabaseError(resultCode: .SQLITE_BUSY)))
        #expect(!DropzoneStore.isRecordLevel(DatabaseError(resultCode: .SQLITE_READONLY)))
        #expect(!DropzoneStore.isRecordLevel(CancellationError()))
    }

    /// A row with an infinity, as an earlier version stored it, is served with `null` and named in
    /// `nonFinite`: never a 500 with an empty body.
    @Test func aStoredInfinityIsServedAsNullWithItsName() async throws {
        let scratch = Scratch()
        let dropzone = try LocalDropzone(scratch)
        try await dropzone.store.database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO measurements VALUES ('2020-01-01T00:00:04.000000Z', '2020-01-01T00:00:04Z', 3, 1.0,
                        9e999, 9e999, -1e200, 1e200, 7, 'h', '2020-01-01T00:00:05Z', '2020-01-01T00:00:05Z', 1);
                    INSERT INTO lineage VALUES (7, '2020-01-01T00:00:04.000000Z', '2020-01-01T00:00:04Z', 'h',
                        '2020-01-01T00:00:05Z', '2020-01-01T00:00:05Z', NULL);
                    """
            )
        }
        try await Application(router: dropzone.api.router()).test(.router) { client in
            try await client.execute(uri: "/v1/measurements", method: .get, headers: bearer) { response in
                #expect(response.status == .ok)
                let rows = json(response.body) as? [[String: Any]] ?? []
                #expect(rows.count == 1)
                #expect(rows.first?["stdPopulation"] is NSNull)
                #expect(rows.first?["mean"] as? Double == 1)
                #expect(rows.first?["nonFinite"] as? [String] == ["stdPopulation", "stdSample"])
            }
            try await client.execute(
                uri: "/v1/measurements/2020-01-01T00:00:04Z/lineage",
                method: .get,
                headers: bearer
            ) { response in
                #expect(response.status == .ok)
                let lineage = json(response.body) as? [String: Any]
                #expect(
                    (lineage?["current"] as? [String: Any])?["nonFinite"] as? [String] == [
                        "stdPopulation", "stdSample",
                    ]
                )
            }
        }
        try await dropzone.stop()
    }

    /// The crash loop of issue 19: poison records in the raw store (acknowledged by an earlier
    /// version) and posted now, good payloads around them, a restart in between. The process never
    /// exits, every good payload is processed, every poison record is rejected with its reason.
    @Test(.timeLimit(.minutes(2)))
    func poisonRecordsAreRejectedAndThePipelineGoesOnAcrossARestart() async throws {
        let scratch = Scratch()
        let data = scratch.path + "/data"
        let earlier = try RawLog(path: data + "/raw/bodies.jsonl")
        for body in [Self.poison] + Self.issuePayloads + [Self.body("2020-01-01T00:01:00Z", "1,2")] {
            _ = try await earlier.append(body)
        }
        earlier.close()

        var good: [String: Double] = ["2020-01-01T00:01:00.000000Z": 1.5]
        func post(_ port: Int, _ body: [UInt8]) async throws -> Int {
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                let response = try await client.post("/v1/measurements", headers: bearer, body: ByteBuffer(bytes: body))
                return Int(response.status.code)
            }
        }
        func postGood(_ port: Int, _ minute: Int) async throws {
            let stamp = String(format: "2020-01-01T00:%02d:00Z", minute)
            #expect(try await post(port, Self.body(stamp, "\(minute),\(minute + 2)")) == 202)
            good[String(format: "2020-01-01T00:%02d:00.000000Z", minute)] = Double(minute + 1)
        }
        let database = { try DatabaseQueue(path: data + "/dropzone.sqlite") }
        func settle(_ process: Process) async throws {
            let lines = {
                try String(contentsOfFile: data + "/raw/bodies.jsonl", encoding: .utf8).split(separator: "\n").count
            }
            for _ in 0..<400 {
                #expect(process.isRunning, "the dropzone exited")
                let handled = try await database().read { db in
                    try Int.fetchOne(
                        db,
                        sql: "SELECT (SELECT COUNT(*) FROM lineage) + (SELECT COUNT(*) FROM rejected)"
                    )!
                }
                if try handled == lines() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the pipeline did not process the raw store")
        }

        let (first, port) = try await DropzoneCrashTests.start(data)
        for minute in 2..<5 { try await postGood(port, minute) }
        #expect([202, 422].contains(try await post(port, Self.issuePayloads[0])))
        #expect(try await post(port, Self.poison) == 422)
        for minute in 5..<8 { try await postGood(port, minute) }
        try await settle(first)
        #expect(first.isRunning)
        first.terminate()
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)

        let (second, secondPort) = try await DropzoneCrashTests.start(data)
        defer {
            kill(second.processIdentifier, SIGKILL)
            second.waitUntilExit()
        }
        #expect(try await post(secondPort, Self.poison) == 422)
        for minute in 8..<11 { try await postGood(secondPort, minute) }
        try await settle(second)
        #expect(second.isRunning)

        let (means, rejected) = try await database().read { db in
            (
                try Dictionary(
                    uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT utc, mean FROM measurements").map {
                        ($0["utc"] as String, $0["mean"] as Double)
                    }
                ),
                try Row.fetchAll(
                    db,
                    sql: "SELECT raw_id, reason, utc FROM rejected WHERE utc = '2020-01-01T00:00:02.000000Z'"
                )
            )
        }
        for (utc, mean) in good { #expect(means[utc] == mean, "\(utc)") }
        #expect(rejected.count == 3, "the poison payload: once from the earlier raw store, twice posted")
        for row in rejected {
            #expect((row["reason"] as String).hasPrefix("data[0] = -1.7e+308 is beyond ±1e150"))
        }
        #expect(means.values.allSatisfy { $0.isFinite })

        // The API answers the range and the poison instant's lineage.
        try await TestClient.withClient(host: "127.0.0.1", port: secondPort) { client in
            let list = try await client.get(
                "/v1/measurements?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z",
                headers: bearer
            )
            #expect(list.status == .ok)
            #expect((json(list.body ?? ByteBuffer()) as? [[String: Any]])?.count == means.count)
            let lineage = try await client.get("/v1/measurements/2020-01-01T00:00:02Z/lineage", headers: bearer)
            #expect(lineage.status == .ok)
            let answer = json(lineage.body ?? ByteBuffer()) as? [String: Any]
            #expect(answer?["current"] is NSNull)
            let chain = answer?["chain"] as? [[String: Any]] ?? []
            #expect(chain.map { $0["outcome"] as? String } == ["rejected", "rejected", "rejected"])
            let metrics = try await client.get("/metrics", headers: bearer)
            let text = String(buffer: metrics.body ?? ByteBuffer())
            #expect(text.contains(#"dropzone_records_rejected_total{stage="validate"} 1"#), "\(text)")
        }
    }
}
