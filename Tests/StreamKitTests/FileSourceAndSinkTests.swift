import Foundation
import StreamKit
import Testing

@Suite struct FileSourceAndSinkTests {
    struct Flow: Decodable, Sendable, Equatable {
        var Datetime: Timestamp
        var AT_CH_MWh: Double
        var note: String?
    }

    @Test func csvRowsDecodeByColumnNameAndBadRowsGoToTheErrorOutput() async throws {
        let directory = TemporaryDirectory()
        let file = directory.write(
            "flows.csv",
            """
            Datetime,AT_CH_MWh,note
            2017-01-01T00:00:00+0100,793,
            2017-01-01T01:00:00+0100,lots,oops
            "2017-01-01T02:00:00+0100",893.5,"a ""quoted"", note"
            2017-01-01T03:00:00+0100,981
            2017-02-30T00:00:00+0100,1,

            """
        )
        let pipeline = Pipeline("csv", configuration: PipelineConfiguration(workers: 1, batchSize: 2))
        let flows = CollectingSink<Flow>()
        let errors = CollectingSink<ErrorRecord>()
        let source = pipeline.source(CSVSource<Flow>(path: file), name: "flows")
        source.sink(flows)
        source.errors.sink(errors)
        try await pipeline.run()
        #expect(flows.elements.map(\.AT_CH_MWh) == [793, 893.5])
        #expect(flows.elements.map(\.note) == [nil, "a \"quoted\", note"])
        #expect(flows.elements.first?.Datetime == (try Timestamp(iso8601: "2016-12-31T23:00:00Z")))
        let rejected = errors.elements
        #expect(rejected.map(\.line) == [3, 5, 6])
        #expect(rejected.allSatisfy { $0.location == file && $0.origin == "flows" })
        #expect(rejected[0].reason.contains("AT_CH_MWh"))
        #expect(rejected[0].rawText == "2017-01-01T01:00:00+0100,lots,oops")
        #expect(rejected[1].reason.contains("expected 3 fields as in the header, found 2"))
        #expect(rejected[2].reason.contains("a day that exists"))
    }

    @Test func jsonLinesDecodeAndMalformedLinesAreKept() async throws {
        let directory = TemporaryDirectory()
        let file = directory.write(
            "readings.jsonl",
            """
            {"sensor":"a","time":"2024-01-01T00:00:01Z","value":1}
            {"sensor":"a","time":"2024-01-01T00:00:02Z"}
            not json
            {"sensor":"b","time":"2024-01-01T00:00:03Z","value":2.5}
            """
        )
        let pipeline = Pipeline("jsonl", configuration: PipelineConfiguration(workers: 1))
        let readings = CollectingSink<Reading>()
        let errors = CollectingSink<ErrorRecord>()
        let source = pipeline.source(JSONLinesSource<Reading>(path: file))
        source.sink(readings)
        source.errors.sink(errors)
        try await pipeline.run()
        #expect(readings.elements.map(\.value) == [1, 2.5])
        #expect(errors.elements.map(\.line) == [2, 3])
        #expect(errors.elements[0].reason == "missing field 'value'")
        #expect(errors.elements[1].rawText == "not json")
    }

    @Test func aMissingFileFailsWithThePath() async throws {
        let pipeline = Pipeline("missing", configuration: PipelineConfiguration(workers: 1))
        pipeline.source(JSONLinesSource<Reading>(path: "/nonexistent/readings.jsonl")).print()
        let error = try await #require(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error.code == .io)
        #expect(error.message.contains("cannot open '/nonexistent/readings.jsonl'"))
    }

    @Test func rollingSinkWritesHivePartitionsByEventTimeAndCompletesFiles() async throws {
        let directory = TemporaryDirectory()
        let start = try Timestamp(iso8601: "2024-01-01T12:59:00Z")
        let readings = (0..<180).map { Reading(sensor: "a", time: start + .seconds(Int64($0)), value: Double($0)) }
        let pipeline = Pipeline("archive", configuration: PipelineConfiguration(workers: 1, batchSize: 50))
        pipeline.source(readings)
            .eventTime({ $0.time }, watermark: .ascending())
            .sink(
                RollingFileSink<Reading>(
                    directory: directory.path + "/raw",
                    partitioning: .hourly,
                    maximumFileSize: 4000
                )
            )
        try await pipeline.run()
        let manager = FileManager.default
        let hour12 = try manager.contentsOfDirectory(atPath: directory.path + "/raw/date=2024-01-01/hour=12")
        let hour13 = try manager.contentsOfDirectory(atPath: directory.path + "/raw/date=2024-01-01/hour=13").sorted()
        #expect(hour12 == ["part-00001.jsonl"])
        #expect(hour13.count > 1)
        #expect(hour13.allSatisfy { $0.hasSuffix(".jsonl") })
        var lines = 0
        for name in hour13 {
            let text = try String(
                contentsOfFile: directory.path + "/raw/date=2024-01-01/hour=13/" + name,
                encoding: .utf8
            )
            lines += text.split(separator: "\n").count
        }
        #expect(lines == 120)
        let first = try String(
            contentsOfFile: directory.path + "/raw/date=2024-01-01/hour=12/part-00001.jsonl",
            encoding: .utf8
        )
        #expect(first.split(separator: "\n").count == 60)
        let decoded = try JSONDecoder().decode(Reading.self, from: Data(first.split(separator: "\n")[0].utf8))
        #expect(decoded == readings[0])
    }

    /// An encoding that frames each chunk it is given as `[n]bytes` and ends the file with `.`: the
    /// files show which bytes went through the encoder, in which pieces, and that each file ended.
    final class FramingEncoder: FileEncoder {
        func encode(_ bytes: [UInt8]) throws -> [UInt8] { Array("[\(bytes.count)]".utf8) + bytes }
        func finish() throws -> [UInt8] { Array(".".utf8) }
    }

    @Test func fileCompletionEncodesEachFileAsItIsWrittenAndEndsIt() async throws {
        let directory = TemporaryDirectory()
        let pipeline = Pipeline("encoded", configuration: PipelineConfiguration(workers: 1, batchSize: 2))
        var sink = RollingFileSink<String>(directory: directory.path, partitioning: .none, maximumFileSize: 6) {
            Array($0.utf8)
        }
        sink.completion = FileCompletion(fileExtension: "framed") { FramingEncoder() }
        pipeline.source(["ab", "cd", "ef", "gh", "ij"]).sink(sink)
        try await pipeline.run()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        // Lines of 3 bytes, files of at most 6: two lines per file, each batch of two lines (one
        // write) in its own file.
        #expect(names == ["part-00001.jsonl.framed", "part-00002.jsonl.framed", "part-00003.jsonl.framed"])
        let contents = try names.map { try String(contentsOfFile: directory.path + "/" + $0, encoding: .utf8) }
        #expect(contents == ["[6]ab\ncd\n.", "[6]ef\ngh\n.", "[3]ij\n."])
    }

    @Test func wholeContentCompletionEncodesTheCompleteFileOnce() async throws {
        let directory = TemporaryDirectory()
        let pipeline = Pipeline("reversed", configuration: PipelineConfiguration(workers: 1, batchSize: 1))
        var sink = RollingFileSink<String>(directory: directory.path, partitioning: .none) { Array($0.utf8) }
        sink.completion = FileCompletion(fileExtension: "rev") { Array($0.reversed()) }
        pipeline.source(["one", "two", "three"]).sink(sink)
        try await pipeline.run()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names == ["part-00001.jsonl.rev"])
        let content = try String(contentsOfFile: directory.path + "/part-00001.jsonl.rev", encoding: .utf8)
        #expect(content == String("one\ntwo\nthree\n".reversed()))
    }
}
