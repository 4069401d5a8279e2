import Foundation
import StreamKit
import StreamKitKafka
import StreamKitPrometheus
import Testing

/// The Kafka source and sink against librdkafka's mock cluster (the real protocol on loopback),
/// checked with kcat, a foreign client.
@Suite(.serialized) struct KafkaConnectorTests {
    struct Reading: Codable, Sendable, Hashable {
        var id: String
        var value: Int
    }

    func kcat(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        process.arguments = arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "kcat \(arguments) failed")
        return text
    }

    func waitUntil(timeout: Double = 60, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else {
                Issue.record("condition not met within \(timeout) s")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func sinkDeliversKeysValuesAndHeadersThatKcatReads() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("readings", partitions: 3)
        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        let pipeline = Pipeline("produce", configuration: PipelineConfiguration(workers: 1))
        let readings = (0..<3000).map { Reading(id: "Sensor \($0 % 5)", value: $0) }
        pipeline.source(readings)
            .sink(
                KafkaSink<Reading>(
                    kafka,
                    topic: "readings",
                    key: { Array($0.id.utf8) },
                    headers: { _ in [KafkaHeader(name: "origin", value: Array("test".utf8))] }
                ) { Array(String($0.value).utf8) }
            )
        // run() returns only after every record is acknowledged by the brokers.
        try await pipeline.run()

        let output = try kcat(
            ["-b", cluster.bootstrapServers, "-C", "-t", "readings", "-e", "-q", "-f", "%k|%s|%h\n"]
        )
        let lines = output.split(separator: "\n")
        #expect(lines.count == 3000)
        #expect(Set(lines.map { Int($0.split(separator: "|")[1])! }) == Set(0..<3000))
        #expect(lines.allSatisfy { $0.hasSuffix("|origin=test") })
        let first = lines.first { $0.split(separator: "|")[1] == "7" }
        #expect(first?.hasPrefix("Sensor 2|") == true)
    }

    @Test func sourceReadsWhatKcatProducesAndRejectsBadValues() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("sensors", partitions: 2)
        var lines = (0..<200).map { #"Sensor \#($0 % 3):{"id":"Sensor \#($0 % 3)","value":\#($0)}"# }
        lines.insert("Sensor 9:not json", at: 50)
        _ = try kcat(
            ["-b", cluster.bootstrapServers, "-P", "-t", "sensors", "-K:"],
            input: lines.joined(separator: "\n") + "\n"
        )

        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        let (received, errors) = try await KafkaBatchTests.consume(
            KafkaSource(kafka, topics: ["sensors"], groupID: "readers").decoding(Reading.self),
            elements: 200,
            errors: 1
        )

        #expect(Set(received.map(\.value)) == Set(0..<200))
        #expect(received.count == 200)
        #expect(errors.map(\.rawText) == ["not json"])
        #expect(errors.first?.location?.hasPrefix("sensors/") == true)
        #expect(errors.first?.origin == "kafka")
    }

    @Test func consumerLagPerPartitionIsReported() async throws {
        let exporter = PrometheusExporter.bootstrap()
        let cluster = try KafkaMockCluster()
        var reader = try await KafkaBatchTests.reader(
            of: cluster,
            topic: "lagging",
            numbers: 50,
            group: "lag-test",
            batchSize: 10
        )
        func lag() -> Double? {
            exporter.text().split(separator: "\n").first {
                $0.hasPrefix("streamkit_kafka_consumer_lag{") && $0.contains(#"group="lag-test""#)
            }.flatMap { Double($0.split(separator: " ").last!) }
        }
        // Ten records at a time: after the first ten, 40 wait; after the next ten, 30.
        var consumed = 0
        for expected in [40.0, 30.0] {
            try await Task.sleep(for: .milliseconds(1100))
            while true {
                if case .chunk(let chunk) = try await reader.read(maximumCount: 10) {
                    consumed += chunk.elements.count
                    break
                }
            }
            #expect(consumed == 50 - Int(expected))
            #expect(lag() == expected)
        }
        await reader.close()
    }

    @Test func checkpointedOffsetsResumeWithoutLossOrDuplicates() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("numbers", partitions: 3)
        // The mock cluster's coordinator hands a departed member's partitions to the next member
        // only after the session timeout: keep it short so that each run joins quickly.
        let kafka = KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers,
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        )
        let checkpoints = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-\(UUID().uuidString)")
            .path

        func produce(_ numbers: Range<Int>) async throws {
            let producer = Pipeline("producer", configuration: PipelineConfiguration(workers: 1))
            producer.source(Array(numbers)).sink(KafkaSink<Int>(kafka, topic: "numbers") { Array(String($0).utf8) })
            try await producer.run()
        }
        func consume(until done: @escaping @Sendable ([Int]) -> Bool) async throws -> [Int] {
            let pipeline = Pipeline("consumer", configuration: PipelineConfiguration(workers: 1))
            let received = CollectingSink<Int>()
            pipeline.source(KafkaSource(kafka, topics: ["numbers"], groupID: "counters"))
                .map { Int($0.text)! }
                .sink(received)
            let run = Task { try await pipeline.run(checkpoints: .every(.milliseconds(200), in: checkpoints)) }
            try await waitUntil { done(received.elements) }
            pipeline.stop()  // a final checkpoint that holds every offset read
            try await run.value
            return received.elements
        }

        try await produce(0..<1000)
        let first = try await consume { $0.count >= 1000 }
        try await produce(1000..<1500)
        let second = try await consume { $0.count >= 500 }

        // Every record exactly once over the two runs: the second run started at the offsets of
        // the first run's final checkpoint.
        #expect(first.count + second.count == 1500)
        #expect(Set(first + second) == Set(0..<1500))
        #expect(Set(second) == Set(1000..<1500))

        // The offsets were committed to the group as well, for lag monitoring: a consumer of the
        // group without StreamKit's checkpoints starts after them.
        try await produce(1500..<1501)
        let plain = Pipeline("plain-consumer", configuration: PipelineConfiguration(workers: 1))
        let received = CollectingSink<Int>()
        plain.source(KafkaSource(kafka, topics: ["numbers"], groupID: "counters")).map { Int($0.text)! }.sink(received)
        let run = Task { try await plain.run() }
        try await waitUntil { received.elements.contains(1500) }
        plain.stop()
        try await run.value
        #expect(received.elements == [1500])
    }

    @Test func configurationMistakesFailStartUpWithClearErrors() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("present", partitions: 1)

        var bad = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        bad.properties["no.such.property"] = "1"
        let first = Pipeline("bad-property", configuration: PipelineConfiguration(workers: 1))
        first.source(KafkaSource(bad, topics: ["present"], groupID: "g")).sink(CollectingSink())
        let propertyError = await #expect(throws: StreamKitError.self) { try await first.run() }
        #expect(propertyError?.code == .invalidConfiguration)
        #expect(propertyError?.message.contains("no.such.property") == true)
        #expect(propertyError?.message.contains("No such configuration property") == true)

        let unknown = Pipeline("unknown-topic", configuration: PipelineConfiguration(workers: 1))
        unknown.source(
            KafkaSource(
                KafkaConfiguration(bootstrapServers: cluster.bootstrapServers),
                topics: ["absent"],
                groupID: "g"
            )
        )
        .sink(CollectingSink())
        let topicError = await #expect(throws: StreamKitError.self) { try await unknown.run() }
        #expect(topicError?.message.contains("unknown Kafka topic(s) 'absent'") == true)

        let unreachable = Pipeline("unreachable", configuration: PipelineConfiguration(workers: 1))
        let nowhere = KafkaConfiguration(bootstrapServers: "127.0.0.1:1", startupTimeout: .seconds(1))
        unreachable.source(KafkaSource(nowhere, topics: ["present"], groupID: "g")).sink(CollectingSink())
        let connectionError = await #expect(throws: StreamKitError.self) { try await unreachable.run() }
        #expect(connectionError?.code == .connectionFailed)
        #expect(connectionError?.message.contains("check bootstrapServers") == true)
    }
}
