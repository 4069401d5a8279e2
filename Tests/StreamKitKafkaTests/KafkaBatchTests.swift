import Foundation
import StreamKit
import StreamKitKafka
import Testing

/// The batch consumer path: many records per read, values decoded in place from librdkafka's
/// buffers, and offsets that hold across a rebalance. Records are produced with kcat, a foreign
/// client, to librdkafka's mock cluster (with the helpers of ``ScaleOutTests``).
@Suite(.serialized) struct KafkaBatchTests {
    struct Reading: Codable, Sendable, Hashable {
        var id: String
        var value: Int
    }

    /// A topic of one partition that holds the numbers `0..<count` (produced with kcat), and a
    /// reader of it in group `group`. The caller keeps `cluster` alive.
    static func reader(
        of cluster: KafkaMockCluster,
        topic: String,
        numbers count: Int,
        group: String,
        batchSize: Int
    ) async throws -> KafkaSource.Reader {
        try cluster.createTopic(topic, partitions: 1)
        try ScaleOutTests.kcat(
            ["-b", cluster.bootstrapServers, "-P", "-t", topic],
            input: (0..<count).map(String.init).joined(separator: "\n") + "\n"
        )
        let source = KafkaSource(
            KafkaConfiguration(bootstrapServers: cluster.bootstrapServers),
            topics: [topic],
            groupID: group
        )
        return try await source.makeReader(
            context: SourceContext(name: "kafka", batchSize: batchSize, tickInterval: .milliseconds(100))
        )
    }

    /// Runs a pipeline over `source` (named "kafka") until it has read `elements` elements and
    /// `errors` error records, then stops it.
    static func consume<S: Source>(
        _ source: S,
        elements: Int,
        errors: Int
    ) async throws -> (elements: [S.Element], errors: [ErrorRecord]) {
        let pipeline = Pipeline("consume", configuration: PipelineConfiguration(workers: 1))
        let stream = pipeline.source(source, name: "kafka")
        let received = CollectingSink<S.Element>()
        let rejected = CollectingSink<ErrorRecord>()
        stream.sink(received)
        stream.errors.sink(rejected)
        let run = Task { try await pipeline.run() }
        try await ScaleOutTests.waitUntil("\(elements) elements and \(errors) errors read") {
            received.elements.count >= elements && rejected.elements.count >= errors
        }
        pipeline.stop()
        try await run.value
        return (received.elements, rejected.elements)
    }

    @Test func oneReadTakesABatchOfRecords() async throws {
        let cluster = try KafkaMockCluster()
        var reader = try await Self.reader(
            of: cluster,
            topic: "batched",
            numbers: 5000,
            group: "batch-test",
            batchSize: 1000
        )
        var values: [Int] = []
        var chunkSizes: [Int] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while values.count < 5000, ContinuousClock.now < deadline {
            if case .chunk(let chunk) = try await reader.read(maximumCount: 1000) {
                chunkSizes.append(chunk.elements.count)
                values += chunk.elements.map { Int($0.text)! }
                #expect(chunk.elements.map(\.offset) == chunk.elements.map { Int64(Int($0.text)!) })
            }
        }
        await reader.close()

        #expect(values == Array(0..<5000), "every record once, in offset order")
        #expect(chunkSizes.allSatisfy { $0 <= 1000 })
        // librdkafka fetched the whole partition (about 30 kB) at once: reads take what it holds,
        // up to the maximum, instead of one record per call.
        #expect((chunkSizes.max() ?? 0) >= 500)
        #expect(chunkSizes.count <= 10)
        #expect(reader.position?.offsets == ["batched/0": 5000])
    }

    @Test func flatJSONDecodesInPlaceAndSendsPoisonToTheErrorOutput() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("sensors", partitions: 1)
        var lines = (0..<300).map { #"{"id":"Sensor \#($0 % 3)","value":\#($0)}"# }
        lines.insert("not json", at: 100)
        lines.insert(#"{"id":"Sensor 1","value":1e999}"#, at: 200)
        try ScaleOutTests.kcat(
            ["-b", cluster.bootstrapServers, "-P", "-t", "sensors"],
            input: lines.joined(separator: "\n") + "\n"
        )

        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        let (received, errors) = try await Self.consume(
            KafkaSource(kafka, topics: ["sensors"], groupID: "decoders").decoding(
                Reading.self,
                decoder: FlatJSONDecoder()
            ),
            elements: 300,
            errors: 2
        )

        #expect(received.map(\.value) == Array(0..<300))
        #expect(errors.map(\.rawText) == ["not json", #"{"id":"Sensor 1","value":1e999}"#])
        #expect(errors.map(\.location) == ["sensors/0@100", "sensors/0@200"])
        #expect(errors.allSatisfy { $0.origin == "kafka" && !$0.reason.isEmpty })
    }

    @Test func aMemberThatJoinsStartsAtTheCheckpointedOffsets() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("numbers", partitions: 4)
        let kafka = KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers,
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        )
        func produce(_ numbers: Range<Int>) throws {
            try ScaleOutTests.kcat(
                ["-b", cluster.bootstrapServers, "-P", "-t", "numbers"],
                input: numbers.map(String.init).joined(separator: "\n") + "\n"
            )
        }
        func member(_ name: String) -> (Pipeline, CollectingSink<Int>, String) {
            let pipeline = Pipeline(name, configuration: PipelineConfiguration(workers: 1))
            let received = CollectingSink<Int>()
            pipeline.source(KafkaSource(kafka, topics: ["numbers"], groupID: "rebalanced")).map { Int($0.text)! }
                .sink(received)
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("kafka-\(name)-\(UUID().uuidString)").path
            return (pipeline, received, directory)
        }

        try produce(0..<4000)
        let (first, firstReceived, firstCheckpoints) = member("first")
        let firstRun = Task { try await first.run(checkpoints: .every(.milliseconds(200), in: firstCheckpoints)) }
        try await ScaleOutTests.waitUntil("the first member read all") { firstReceived.elements.count >= 4000 }
        // A checkpoint after the last record commits the end of every partition to the group.
        try await Task.sleep(for: .seconds(1))

        // The second member takes half of the partitions over from the committed offsets: it reads
        // none of the records the first one has checkpointed.
        let (second, secondReceived, secondCheckpoints) = member("second")
        let secondRun = Task { try await second.run(checkpoints: .every(.milliseconds(200), in: secondCheckpoints)) }
        // Records in small steps until the second member has some: the group's rebalance takes a
        // few seconds (longer on a loaded machine).
        var end = 4000
        while secondReceived.elements.isEmpty, end < 40_000 {
            try produce(end..<end + 500)
            end += 500
            try await Task.sleep(for: .seconds(1))
        }
        let total = end
        try await ScaleOutTests.waitUntil("the members read all") {
            firstReceived.elements.count + secondReceived.elements.count >= total
        }
        try await Task.sleep(for: .milliseconds(500))
        second.stop()
        first.stop()
        try await secondRun.value
        try await firstRun.value

        let all = firstReceived.elements + secondReceived.elements
        #expect(Set(all) == Set(0..<end), "no record lost")
        // Records the first member checkpointed are never read again. A plain KafkaSource moves
        // offsets only: records it read after its last checkpoint before the rebalance (the ones
        // produced while the group rebalanced) may be read again by the new owner, at least once.
        var seen = Set<Int>()
        let twice = all.filter { !seen.insert($0).inserted }
        #expect(twice.allSatisfy { $0 >= 4000 }, "no checkpointed record twice")
        #expect(secondReceived.elements.allSatisfy { $0 >= 4000 })
        #expect(!secondReceived.elements.isEmpty, "the second member got partitions")
    }
}
