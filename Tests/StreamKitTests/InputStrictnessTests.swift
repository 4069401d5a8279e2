import Foundation
import StreamKit
import Testing

/// The same bad inputs through ``CSVSource`` and ``JSONLinesSource``: each bad line goes to the
/// error output with the file, its line number and a reason, and every good line is kept.
@Suite struct InputStrictnessTests {
    /// One bad line, as CSV (`sensor,time,value`) and as JSON Lines, and what its reason says.
    struct BadLine: Sendable {
        var csv: [UInt8]
        var json: [UInt8]
        var csvReason: String
    }

    static let time = "2024-01-01T00:00:01Z"
    static let bad: [BadLine] = [
        BadLine(
            csv: Array("s".utf8) + [0xFF, 0xFE] + Array("1,\(time),1".utf8),
            json: Array(#"{"sensor":"s"#.utf8) + [0xFF, 0xFE] + Array(#"1","time":"\#(time)","value":1}"#.utf8),
            csvReason: "not UTF-8"
        ),
        BadLine(
            csv: Array("s".utf8) + [0] + Array("1,\(time),1".utf8),
            json: Array(#"{"sensor":"s"#.utf8) + [0] + Array(#"1","time":"\#(time)","value":1}"#.utf8),
            csvReason: "NUL byte"
        ),
        BadLine(
            csv: Array("s1,\(time),1e999".utf8),
            json: Array(#"{"sensor":"s1","time":"\#(time)","value":1e999}"#.utf8),
            csvReason: "expected a finite number"
        ),
        BadLine(
            csv: Array("s1,\(time),-1e999".utf8),
            json: Array(#"{"sensor":"s1","time":"\#(time)","value":-1e999}"#.utf8),
            csvReason: "expected a finite number"
        ),
        BadLine(
            csv: Array("s1,\(time),nan".utf8),
            json: Array(#"{"sensor":"s1","time":"\#(time)","value":nan}"#.utf8),
            csvReason: "expected a finite number"
        ),
        BadLine(
            csv: Array("s1,\(time),inf".utf8),
            json: Array(#"{"sensor":"s1","time":"\#(time)","value":"inf"}"#.utf8),
            csvReason: "expected a finite number"
        ),
        BadLine(
            csv: Array("s1,\(time)".utf8),
            json: Array(#"{"sensor":"s1","time":"\#(time)"}"#.utf8),
            csvReason: "expected 3 fields as in the header, found 2"
        ),
        BadLine(
            csv: Array("s1,\(time),1,extra".utf8),
            json: Array(#"{"sensor":"s1","time":"\#(time)","value":1"#.utf8),
            csvReason: "expected 3 fields as in the header, found 4"
        ),
    ]

    /// A file with a good line before and after every bad one; returns it and the bad lines'
    /// numbers.
    static func file(
        in directory: TemporaryDirectory,
        name: String,
        header: String?,
        good: (Int) -> String,
        bad: [[UInt8]]
    ) -> (path: String, badLines: [Int]) {
        var bytes: [UInt8] = []
        var line = 0
        var badLines: [Int] = []
        func append(_ text: [UInt8]) {
            bytes += text + [UInt8(ascii: "\n")]
            line += 1
        }
        if let header { append(Array(header.utf8)) }
        for (index, text) in bad.enumerated() {
            append(Array(good(index).utf8))
            append(text)
            badLines.append(line)
        }
        append(Array(good(bad.count).utf8))
        let path = "\(directory.path)/\(name)"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return (path, badLines)
    }

    @Test func csvRejectsInvalidUTF8NulNonFiniteNumbersAndWrongColumnCountsWithLineAndReason() async throws {
        let directory = TemporaryDirectory()
        let (path, badLines) = Self.file(
            in: directory,
            name: "readings.csv",
            header: "sensor,time,value",
            good: { "good\($0),\(Self.time),\($0)" },
            bad: Self.bad.map(\.csv)
        )
        let (elements, errors) = try await readToEnd(CSVSource<Reading>(path: path), batchSize: 3)
        #expect(elements.map(\.sensor) == (0...Self.bad.count).map { "good\($0)" })
        #expect(elements.allSatisfy { $0.value.isFinite })
        #expect(errors.map(\.line) == badLines)
        #expect(errors.map(\.raw) == Self.bad.map(\.csv))
        for (error, bad) in zip(errors, Self.bad) {
            #expect(error.location == path && error.origin == "input")
            #expect(error.reason.contains(bad.csvReason), "\(error.reason)")
        }
    }

    @Test func jsonLinesRejectsTheSameBadLinesWithLineAndReason() async throws {
        let directory = TemporaryDirectory()
        let (path, badLines) = Self.file(
            in: directory,
            name: "readings.jsonl",
            header: nil,
            good: { #"{"sensor":"good\#($0)","time":"\#(Self.time)","value":\#($0)}"# },
            bad: Self.bad.map(\.json)
        )
        let (elements, errors) = try await readToEnd(JSONLinesSource<Reading>(path: path), batchSize: 3)
        #expect(elements.map(\.sensor) == (0...Self.bad.count).map { "good\($0)" })
        #expect(elements.allSatisfy { $0.value.isFinite })
        #expect(errors.map(\.line) == badLines)
        #expect(errors.map(\.raw) == Self.bad.map(\.json))
        for error in errors {
            #expect(error.location == path && error.origin == "input")
            #expect(!error.reason.isEmpty)
        }
    }

    @Test func aCSVHeaderThatIsNotTextStopsTheRunWithAMessage() async throws {
        let directory = TemporaryDirectory()
        let path = "\(directory.path)/bad-header.csv"
        FileManager.default.createFile(
            atPath: path,
            contents: Data(Array("sensor,ti".utf8) + [0xFF] + Array("me,value\ns1,\(Self.time),1\n".utf8))
        )
        await #expect {
            try await readToEnd(CSVSource<Reading>(path: path), batchSize: 3)
        } throws: { error in
            (error as? StreamKitError)?.message.contains("not UTF-8") == true
        }
    }
}
