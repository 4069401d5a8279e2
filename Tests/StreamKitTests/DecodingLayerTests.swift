import Foundation
import StreamKit
import Testing

/// The shared decoding layer: CSV rows read by a closure, JSON Lines through the flat decoder with
/// `JSONDecoder` for nested values, the same number rules for both, and file blocks that cut lines.
@Suite struct DecodingLayerTests {
    struct Event: Sendable, Equatable {
        var sensor: Int
        var time: Timestamp
        var value: Double
        var ok: Bool
        var note: String
    }

    @Test func aRowClosureReadsFieldsByPositionAndItsErrorsNameTheColumn() async throws {
        let directory = TemporaryDirectory()
        let file = directory.write(
            "events.csv",
            """
            sensor,time,value,ok,note
            7, 1700000000000000 ,-12.5,YES,"say ""hi"", twice"
            +8,2024-01-01T00:00:00.5Z,3e2,false,plain
            9,2024-01-01T00:00:00Z,abc,true,x
            99999999999999999999,2024-01-01T00:00:00Z,1,true,x
            10,2024-01-01T00:00:00Z,1,maybe,x
            11,yesterday,1,true,x

            """
        )
        let source = CSVSource(path: file) { row in
            Event(
                sensor: try row.int(0),
                time: try row.timestamp(1),
                value: try row.double(row.column("value")!),
                ok: try row.bool(3),
                note: row.string(4)
            )
        }
        let (events, errors) = try await readToEnd(source)
        #expect(
            events == [
                Event(
                    sensor: 7,
                    time: Timestamp(microseconds: 1_700_000_000_000_000),
                    value: -12.5,
                    ok: true,
                    note: #"say "hi", twice"#
                ),
                Event(
                    sensor: 8,
                    time: try Timestamp(iso8601: "2024-01-01T00:00:00.5Z"),
                    value: 300,
                    ok: false,
                    note: "plain"
                ),
            ]
        )
        #expect(errors.map(\.line) == [4, 5, 6, 7])
        #expect(errors[0].reason == "column 3 'value': expected a finite number, found 'abc'")
        #expect(errors[1].reason.hasPrefix("column 1 'sensor': expected an integer that fits in Int"))
        #expect(errors[2].reason == "column 4 'ok': expected true or false, found 'maybe'")
        #expect(errors[3].reason.hasPrefix("column 2 'time': expected a time"))
        #expect(errors.allSatisfy { $0.location == file && $0.origin == "input" })
    }

    @Test func numbersReadTheSameFromCSVAndJSONLines() async throws {
        struct Value: Decodable, Sendable { var value: Double }
        // Texts both formats hold; each must give the same Double, bit for bit, as Double(_:).
        let texts = [
            "0", "-0", "1", "0.1", "17.0009765625", "123456789012345678", "1e22", "1e23", "2.2250738585072014e-308",
            "9007199254740993", "0.30000000000000004", "-1.5E-7", "12345678901234567890123",
        ]
        let directory = TemporaryDirectory()
        let csv = directory.write("values.csv", "value\n" + texts.joined(separator: "\n") + "\n")
        let json = directory.write("values.jsonl", texts.map { #"{"value":\#($0)}"# }.joined(separator: "\n"))
        let (fromCSV, csvErrors) = try await readToEnd(CSVSource<Value>(path: csv))
        let (fromJSON, jsonErrors) = try await readToEnd(JSONLinesSource<Value>(path: json))
        #expect(csvErrors.isEmpty && jsonErrors.isEmpty)
        let expected = texts.map { Double($0)!.bitPattern }
        #expect(fromCSV.map(\.value.bitPattern) == expected)
        #expect(fromJSON.map(\.value.bitPattern) == expected)
    }

    @Test func jsonLinesWithNestedValuesAreDecodedByJSONDecoder() async throws {
        struct Position: Decodable, Sendable, Equatable { var lat: Double, lon: Double }
        struct Fix: Decodable, Sendable, Equatable {
            var id: String
            var at: Position
            var tags: [String]
        }
        let directory = TemporaryDirectory()
        let file = directory.write(
            "fixes.jsonl",
            """
            {"id":"a","at":{"lat":46.9,"lon":7.4},"tags":["x"]}
            {"id":"b","at":{"lat":1e999,"lon":7.4},"tags":[]}
            {"id":"c","at":{"lat":47.4,"lon":8.5},"tags":["y","z"]}
            """
        )
        let (fixes, errors) = try await readToEnd(JSONLinesSource<Fix>(path: file))
        #expect(fixes.map(\.id) == ["a", "c"])
        #expect(fixes.last?.at == Position(lat: 47.4, lon: 8.5))
        #expect(errors.map(\.line) == [2])
    }

    @Test func recordsDecodeThroughTheFastLayerByDefault() async throws {
        struct Payload: RawRecord, Sendable {
            var rawBytes: [UInt8]
            var rawLocation: String? { "topic" }
        }
        struct Reading: Decodable, Sendable, Equatable { var id: String, value: Double }
        let payloads = [#"{"id":"a","value":1.5}"#, #"{"id":"b","value":1e999}"#, #"{"id":"c"}"#, "[1,2]"]
        let (readings, errors) = try await readToEnd(
            CollectionSource(payloads.map { Payload(rawBytes: Array($0.utf8)) }).decoding(Reading.self)
        )
        #expect(readings == [Reading(id: "a", value: 1.5)])
        #expect(errors.map(\.rawText) == Array(payloads.dropFirst()))
        #expect(errors.allSatisfy { $0.location == "topic" })
    }

    @Test func linesLongerThanABlockAndLinesCutByBlocksAreRead() async throws {
        // A first line of 3 MiB (longer than a 1 MiB block), then lines that straddle block ends.
        let long = String(repeating: "x", count: 3 << 20)
        var text = "note,value\n\(long),1\n"
        for index in 0..<200_000 { text += "n\(index),\(index)\r\n" }
        let directory = TemporaryDirectory()
        let file = directory.write("long.csv", text)
        let source = CSVSource(path: file) { row in (row.string(0).count, try row.int(1)) }
        let (rows, errors) = try await readToEnd(source, batchSize: 1000)
        #expect(errors.isEmpty)
        #expect(rows.count == 200_001)
        #expect(rows.first?.0 == 3 << 20)
        #expect(rows.dropFirst().map(\.1) == Array(0..<200_000))
    }

    @Test func aFileOfOnlyBadLinesSendsEveryLineToTheErrorOutputInOrder() async throws {
        let directory = TemporaryDirectory()
        let file = directory.write("bad.csv", "value\n" + String(repeating: "oops\n", count: 10_000))
        struct Value: Decodable, Sendable { var value: Double }
        let (values, errors) = try await readToEnd(CSVSource<Value>(path: file), batchSize: 100)
        #expect(values.isEmpty)
        #expect(errors.count == 10_000)
        #expect(errors.map(\.line) == Array(2...10_001))
    }
}
